/**
 * The client side of `/ws`: the set of aircraft that snapshots and deltas
 * describe, with seq checking. Used by the relay (a hub following another
 * hub), tests and load tools; browsers can use it as is.
 *
 * @module
 */
import type { Flight } from "../../contracts/flight.ts";
import type { DeltaMessage, SnapshotMessage } from "../../contracts/ws.ts";

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
    /** `no_snapshot`: a delta before any snapshot (or after a gap); `gap`: seq skipped. */
    reason: "no_snapshot" | "gap";
    /** The seq the view expected, or null without a snapshot. */
    expected: number | null;
    got: number;
  };

export class FlightView {
  readonly flights: Map<string, Flight> = new Map();
  #seq: number | null = null;

  /** Seq of the last snapshot or delta applied; null before the first snapshot and after a gap. */
  get seq(): number | null {
    return this.#seq;
  }

  /**
   * Applies a snapshot (always) or a delta (only the one with seq + 1). A
   * gap leaves the flights as they are and waits for a snapshot: the caller
   * sends `resync`.
   */
  apply(message: SnapshotMessage | DeltaMessage): ViewChange {
    if (message.type === "snapshot") {
      const present = new Set<string>();
      for (const f of message.flights) present.add(f.icao24);
      const removes = [...this.flights.keys()].filter((id) => !present.has(id));
      this.flights.clear();
      for (const f of message.flights) this.flights.set(f.icao24, f);
      this.#seq = message.seq;
      return { ok: true, upserts: message.flights, removes };
    }
    if (this.#seq === null) {
      return { ok: false, reason: "no_snapshot", expected: null, got: message.seq };
    }
    if (message.seq !== this.#seq + 1) {
      const expected = this.#seq + 1;
      this.#seq = null;
      return { ok: false, reason: "gap", expected, got: message.seq };
    }
    // Removes first: an aircraft that moved between two tiles of the view is in both lists.
    for (const id of message.removes) this.flights.delete(id);
    for (const f of message.upserts) this.flights.set(f.icao24, f);
    this.#seq = message.seq;
    return { ok: true, upserts: message.upserts, removes: message.removes };
  }

  /** Forgets the seq (after a reconnect): the next delta is refused until a snapshot comes. */
  reset(): void {
    this.#seq = null;
  }
}
