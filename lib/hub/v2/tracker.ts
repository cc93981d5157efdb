/**
 * The server's side of field deltas: what the clients of one segment (a
 * tile of one filter) hold, in frame units. Each tick the hub advances the
 * tracker once with that segment's changes and gets the encoded segment
 * that every client of it receives; snapshots are encoded from the same
 * state, so a client that starts from a snapshot at seq N applies the
 * segment of N + 1 exactly.
 *
 * @module
 */
import type { Flight } from "../../../contracts/flight.ts";
import { type Change, differs, encodeSegment } from "./frame.ts";
import { icaoToInt, type QFlight, quantise } from "./record.ts";

export class BinaryTracker {
  readonly #held = new Map<string, QFlight>();
  /** icao24 integers of #held, ascending; null after the set changed (sorted again when asked). */
  #sorted: number[] | null = null;

  /** `flights`: what the segment's clients see now (the committed state in the segment). */
  constructor(flights: Iterable<Flight> = []) {
    for (const f of flights) this.#held.set(f.icao24, quantise(f));
  }

  /** Aircraft held. */
  get size(): number {
    return this.#held.size;
  }

  /**
   * Takes one tick's changes for this segment and returns the encoded
   * segment (relative to `base`, the frame's time base, and `lc0`, its
   * last_contact reference), or null when no client-visible value changed.
   */
  advance(
    upserts: readonly Flight[],
    removes: readonly string[],
    base: number,
    options: {
      /** The frame's last_contact reference (docs/protocol.md); default `base`. */
      lc0?: number;
      /** This segment is alone in every frame it goes in (a whole-world view): records are indexed. */
      alone?: boolean;
    } = {},
  ): Uint8Array<ArrayBuffer> | null {
    // Records are indexed among what the clients hold before this tick; sorted again only after the set
    // changed (aircraft come and go far less often than they move).
    const held = options.alone ? (this.#sorted ??= heldIcaos(this.#held.values())) : undefined;
    const full: QFlight[] = [];
    const changes: Change[] = [];
    const gone: number[] = [];
    for (const f of upserts) {
      const next = quantise(f);
      const prev = this.#held.get(f.icao24);
      this.#held.set(f.icao24, next);
      if (!prev) full.push(next);
      else if (differs(prev, next)) changes.push({ prev, next });
    }
    for (const icao24 of removes) {
      if (this.#held.delete(icao24)) gone.push(icaoToInt(icao24));
    }
    if (full.length > 0 || gone.length > 0) this.#sorted = null;
    if (full.length === 0 && changes.length === 0 && gone.length === 0) return null;
    return encodeSegment(gone, full, { changes, base, lc0: options.lc0, held });
  }

  /** Every held aircraft as one snapshot segment relative to `base`. */
  snapshot(base: number): Uint8Array<ArrayBuffer> {
    return encodeSegment([], [...this.#held.values()], { base });
  }
}

/** icao24 integers, ascending. */
function heldIcaos(held: Iterable<QFlight>): number[] {
  const out: number[] = [];
  for (const q of held) out.push(q.icao);
  return out.sort((a, b) => a - b);
}
