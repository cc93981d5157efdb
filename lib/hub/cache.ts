/**
 * The hub's flight cache: the latest state per icao24, with a change log
 * between ticks. Pure: time comes in as arguments.
 *
 * Two views:
 * - latest: every accepted update, at once (ordering checks and staleness
 *   use it);
 * - committed: the state as of the last {@link FlightCache.commit} (the last
 *   tick). Snapshots read this view, so a snapshot with seq N is exactly the
 *   state after delta N and the next delta N+1 applies cleanly on top of it.
 *
 * @module
 */
import type { Flight } from "../../contracts/flight.ts";

/** Why an update was not taken. */
export type RejectReason = "out_of_order" | "duplicate" | "stale";
export const REJECT_REASONS: readonly RejectReason[] = ["out_of_order", "duplicate", "stale"];

export type UpsertResult = { accepted: true } | { accepted: false; reason: RejectReason };

/** What changed between two commits. */
export interface ChangeSet {
  /** Aircraft added or changed (latest state each, once). */
  upserts: Flight[];
  /** Aircraft gone (stale or removed), that the previous commit had. */
  removes: string[];
  /** Producer timestamps of the upserts that carried one, unix ms (for latency metrics). */
  producedAtMs: number[];
}

export interface FlightCacheOptions {
  /** Seconds without contact after which an aircraft is removed. */
  staleAfterSeconds: number;
}

export interface UpsertOptions {
  /** Wall clock, unix seconds: updates already stale at this time are refused. */
  nowSeconds: number;
  /** When the producer published the update, unix ms, if known. */
  producedAtMs?: number;
}

export class FlightCache {
  readonly #staleAfter: number;
  readonly #latest = new Map<string, Flight>();
  readonly #committed = new Map<string, Flight>();
  /** The new state per aircraft since the last commit, or null for a removal. */
  readonly #pending = new Map<string, Flight | null>();
  /**
   * The producer timestamp of a pending upsert, when it had one (apart, so that an update
   * costs no object of its own).
   */
  readonly #producedAt = new Map<string, number>();

  constructor(options: FlightCacheOptions) {
    this.#staleAfter = options.staleAfterSeconds;
  }

  /**
   * Takes `flight` unless it is not newer than what the cache holds: older
   * last_contact or time_position is out of order; neither newer is a duplicate.
   */
  upsert(flight: Flight, options: UpsertOptions): UpsertResult {
    if (options.nowSeconds - flight.last_contact_unix > this.#staleAfter) {
      return { accepted: false, reason: "stale" };
    }
    const current = this.#latest.get(flight.icao24);
    if (current) {
      if (
        flight.last_contact_unix < current.last_contact_unix ||
        flight.time_position_unix < current.time_position_unix
      ) return { accepted: false, reason: "out_of_order" };
      if (
        flight.last_contact_unix === current.last_contact_unix &&
        flight.time_position_unix === current.time_position_unix
      ) return { accepted: false, reason: "duplicate" };
    }
    this.#latest.set(flight.icao24, flight);
    this.#pending.set(flight.icao24, flight);
    if (options.producedAtMs !== undefined) {
      this.#producedAt.set(flight.icao24, options.producedAtMs);
    } else if (this.#producedAt.size > 0) this.#producedAt.delete(flight.icao24);
    return { accepted: true };
  }

  /** Removes one aircraft now (relay mode: the upstream removed it). True when it was there. */
  remove(icao24: string): boolean {
    if (!this.#latest.delete(icao24)) return false;
    if (this.#committed.has(icao24)) this.#pending.set(icao24, null);
    else this.#pending.delete(icao24);
    this.#producedAt.delete(icao24);
    return true;
  }

  /**
   * Removes aircraft unseen (last_contact) for more than the threshold at
   * `nowSeconds` (wall clock: replayed data is shifted to now). Returns their icao24.
   */
  sweepStale(nowSeconds: number): string[] {
    const limit = nowSeconds - this.#staleAfter;
    const removed: string[] = [];
    for (const [icao24, flight] of this.#latest) {
      if (flight.last_contact_unix < limit) removed.push(icao24);
    }
    for (const icao24 of removed) this.remove(icao24);
    return removed;
  }

  /** Applies the pending changes to the committed view and returns them. */
  commit(): ChangeSet {
    const changes: ChangeSet = { upserts: [], removes: [], producedAtMs: [] };
    const producedAt = this.#producedAt;
    for (const [icao24, flight] of this.#pending) {
      if (flight) {
        this.#committed.set(icao24, flight);
        changes.upserts.push(flight);
        if (producedAt.size > 0) {
          const at = producedAt.get(icao24);
          if (at !== undefined) changes.producedAtMs.push(at);
        }
      } else {
        this.#committed.delete(icao24);
        changes.removes.push(icao24);
      }
    }
    this.#pending.clear();
    producedAt.clear();
    return changes;
  }

  /** Latest accepted state of one aircraft (committed or not). */
  get(icao24: string): Flight | undefined {
    return this.#latest.get(icao24);
  }

  /** Committed state of one aircraft. */
  getCommitted(icao24: string): Flight | undefined {
    return this.#committed.get(icao24);
  }

  /** Every committed flight (the last tick's state). */
  committed(): IterableIterator<Flight> {
    return this.#committed.values();
  }

  /** Number of aircraft in the latest view. */
  get size(): number {
    return this.#latest.size;
  }

  /** Number of aircraft in the committed view. */
  get committedSize(): number {
    return this.#committed.size;
  }
}
