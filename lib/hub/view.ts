/**
 * The client side of `/ws`: the set of aircraft that snapshots and deltas
 * describe, with seq checking. Used by the relay (a hub following another
 * hub), tests and load tools. The seq rule is lib/hub/seq.ts, the same
 * one the browser applies (lib/client/protocol.ts).
 *
 * @module
 */
import type { Flight } from "../../contracts/flight.ts";
import type { DeltaMessage, SnapshotMessage } from "../../contracts/ws.ts";
import { type SeqOptions, SeqState } from "./seq.ts";

/** What applying one message did. */
export type ViewChange =
  | {
    ok: true;
    /** Aircraft added or changed. */
    upserts: Flight[];
    /** Aircraft gone (for a snapshot: those the view had and the snapshot has not). */
    removes: string[];
  }
  | {
    ok: false;
    /**
     * `no_snapshot`: a delta before any snapshot (or after a gap); `gap`: seq
     * skipped (send `resync`); `stale`: older than the state held (ignore).
     */
    reason: "no_snapshot" | "gap" | "stale";
    /** The seq the view expected, or null without a snapshot. */
    expected: number | null;
    got: number;
  };

export class FlightView {
  readonly flights: Map<string, Flight> = new Map();
  readonly #seq: SeqState;

  constructor(options: SeqOptions = {}) {
    this.#seq = new SeqState(options);
  }

  /** Seq of the last snapshot or delta applied; null before the first snapshot and after a gap. */
  get seq(): number | null {
    return this.#seq.awaitingSnapshot ? null : this.#seq.seq;
  }

  /**
   * Applies a snapshot (unless stale) or a delta (only the one with seq +
   * 1). A gap leaves the flights as they are and waits for a snapshot: the
   * caller sends `resync`.
   */
  apply(message: SnapshotMessage | DeltaMessage, nowMs = Date.now()): ViewChange {
    if (message.type === "snapshot") {
      if (this.#seq.snapshot(message.seq) === "stale") {
        return { ok: false, reason: "stale", expected: this.#seq.seq, got: message.seq };
      }
      const present = new Set<string>();
      for (const f of message.flights) present.add(f.icao24);
      const removes = [...this.flights.keys()].filter((id) => !present.has(id));
      this.flights.clear();
      for (const f of message.flights) this.flights.set(f.icao24, f);
      return { ok: true, upserts: message.flights, removes };
    }
    const held = this.#seq.seq;
    switch (this.#seq.delta(message.seq, nowMs)) {
      case "before_snapshot":
        return { ok: false, reason: "no_snapshot", expected: null, got: message.seq };
      case "stale":
        return { ok: false, reason: "stale", expected: (held ?? 0) + 1, got: message.seq };
      case "gap":
        return { ok: false, reason: "gap", expected: (held ?? 0) + 1, got: message.seq };
      case "apply":
        // Removes first: an aircraft that moved between two tiles of the view is in both lists.
        for (const id of message.removes) this.flights.delete(id);
        for (const f of message.upserts) this.flights.set(f.icao24, f);
        return { ok: true, upserts: message.upserts, removes: message.removes };
    }
  }

  /** True when a resync went unanswered for too long: send it again. */
  resyncDue(nowMs = Date.now()): boolean {
    return this.#seq.resyncDue(nowMs);
  }

  /** Forgets the seq (after a reconnect): the next delta is refused until a snapshot comes. */
  reset(): void {
    this.#seq.reset();
  }
}
