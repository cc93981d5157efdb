/**
 * A stateful `skysentinel.v2.bin` decoder: keeps the aircraft the frames
 * describe in frame units, applies snapshots and field deltas, and turns
 * every frame back into the v1 message shapes (`snapshot`, `delta` with
 * whole flight objects, and the generic messages as they are). Used by the
 * relay, tests and tools; a browser that wants no per-aircraft objects uses
 * {@link scanFrame} with its own store instead.
 *
 * Field deltas apply only on top of the state of seq - 1, by the seq rule
 * of lib/hub/seq.ts (the one every client applies): a delta it does not
 * admit is not applied; it comes back with no upserts and no removes (and
 * its seq, so a seq check sees the gap), and every later delta too, until a
 * snapshot.
 *
 * @module
 */
import type { Flight } from "../../../contracts/flight.ts";
import { applyChange, fullToQ, scanFrame, type WireRecord } from "./scan.ts";
import { dequantise, intToIcao, type QFlight } from "./record.ts";
import { FrameError } from "./wire.ts";
import { SeqState } from "../seq.ts";

/** What {@link BinaryDecoder.decode} returns. */
export type DecodedMessage =
  | { type: "snapshot"; seq: number; server_time_ms: number; flights: Flight[]; total?: number }
  | {
    type: "delta";
    seq: number;
    server_time_ms: number;
    upserts: Flight[];
    removes: string[];
    total?: number;
  }
  | { type: string; [key: string]: unknown };

export class BinaryDecoder {
  /** The aircraft held, by icao24 integer, in frame units. */
  readonly flights: Map<number, QFlight> = new Map();
  readonly #seq = new SeqState();
  /** icao24 of the held aircraft, ascending (for indexed frames); null after the set changed. */
  #sorted: Float64Array | null = null;

  /** Seq of the last snapshot or delta applied; null before a snapshot and after a gap or an error. */
  get seq(): number | null {
    return this.#seq.awaitingSnapshot ? null : this.#seq.seq;
  }

  /** Forgets the seq (after a reconnect): deltas are not applied until a snapshot. */
  reset(): void {
    this.#seq.reset();
  }

  /**
   * Decodes one frame and applies it. Throws {@link FrameError} for a bad
   * frame, leaving the state as it was but unusable (seq null) until the next
   * snapshot. `nowMs` is the clock of the seq rule's resync timing (unused
   * by callers that keep their own).
   */
  decode(bytes: Uint8Array, nowMs = 0): DecodedMessage {
    const removes: number[] = [];
    const fulls: QFlight[] = [];
    const changes: WireRecord[] = [];
    let apply = false;
    let scanned;
    try {
      scanned = scanFrame(bytes, {
        header: (kind, seq) => {
          apply = (kind === "snapshot" ? this.#seq.snapshot(seq) : this.#seq.delta(seq, nowMs)) ===
            "apply";
          return apply;
        },
        remove: (icao) => void removes.push(icao),
        full: (r) => void fulls.push(fullToQ(r)),
        change: (r) => void changes.push({ ...r }),
        held: () => this.#sorted ??= Float64Array.from(this.flights.keys()).sort(),
      });
    } catch (error) {
      this.#seq.lost(nowMs);
      throw error;
    }
    if (scanned.kind === "message") return scanned.message;
    const { seq, serverTimeMs } = scanned;
    const total = scanned.total === null ? {} : { total: scanned.total };
    if (scanned.kind === "snapshot" && apply) {
      this.flights.clear();
      this.#sorted = null;
      for (const q of fulls) this.flights.set(q.icao, q);
      return {
        type: "snapshot",
        seq,
        server_time_ms: serverTimeMs,
        flights: fulls.map(dequantise),
        ...total,
      };
    }
    if (scanned.kind === "snapshot") {
      // Older than the state held (stale by the seq rule): not applied, and it carries nothing.
      return { type: "snapshot", seq, server_time_ms: serverTimeMs, flights: [], ...total };
    }
    if (!apply) {
      // Not admitted (stale, or a gap: the seq rule now waits for a snapshot): nothing applied.
      return {
        type: "delta",
        seq,
        server_time_ms: serverTimeMs,
        upserts: [],
        removes: [],
        ...total,
      };
    }
    // Stage first so a frame that does not fit the state changes nothing.
    const staged = new Map<number, QFlight>();
    for (const q of fulls) staged.set(q.icao, q);
    const removed = new Set(removes);
    try {
      for (const r of changes) {
        const held = staged.get(r.icao) ??
          (removed.has(r.icao) ? undefined : this.flights.get(r.icao));
        if (!held) {
          throw new FrameError(`change record for unknown aircraft ${intToIcao(r.icao)}`, 0);
        }
        const next = { ...held };
        applyChange(next, r);
        staged.set(r.icao, next);
      }
    } catch (error) {
      this.#seq.lost(nowMs);
      throw error;
    }
    const removedIds: string[] = [];
    for (const icao of removes) {
      if (staged.has(icao)) continue; // moved between two of the client's tiles
      if (this.flights.delete(icao)) {
        removedIds.push(intToIcao(icao));
        this.#sorted = null;
      }
    }
    const upserts: Flight[] = [];
    for (const [icao, q] of staged) {
      if (!this.flights.has(icao)) this.#sorted = null;
      this.flights.set(icao, q);
      upserts.push(dequantise(q));
    }
    return {
      type: "delta",
      seq,
      server_time_ms: serverTimeMs,
      upserts,
      removes: removedIds,
      ...total,
    };
  }

  /** The held aircraft as flight objects. */
  flightObjects(): Flight[] {
    return [...this.flights.values()].map(dequantise);
  }
}
