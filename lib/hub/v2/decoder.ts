/**
 * A stateful `skysentinel.v2.bin` decoder: keeps the aircraft the frames
 * describe in frame units, applies snapshots and field deltas, and turns
 * every frame back into the v1 message shapes (`snapshot`, `delta` with
 * whole flight objects, and the generic messages as they are). Used by the
 * relay, tests and tools; a browser that wants no per-aircraft objects uses
 * {@link scanFrame} with its own store instead.
 *
 * Field deltas apply only on top of the state of seq - 1: a delta that does
 * not follow the last applied seq is not applied; it comes back with no
 * upserts and no removes (and its seq, so a seq check sees the gap), and
 * every later delta too, until a snapshot.
 *
 * @module
 */
import type { Flight } from "../../../contracts/flight.ts";
import { applyChange, fullToQ, scanFrame, type WireRecord } from "./scan.ts";
import { dequantise, intToIcao, type QFlight } from "./record.ts";
import { FrameError } from "./wire.ts";

/** What {@link BinaryDecoder.decode} returns. */
export type DecodedMessage =
  | { type: "snapshot"; seq: number; server_time_ms: number; flights: Flight[] }
  | { type: "delta"; seq: number; server_time_ms: number; upserts: Flight[]; removes: string[] }
  | { type: string; [key: string]: unknown };

export class BinaryDecoder {
  /** The aircraft held, by icao24 integer, in frame units. */
  readonly flights: Map<number, QFlight> = new Map();
  #seq: number | null = null;

  /** Seq of the last snapshot or delta applied; null before a snapshot and after a gap or an error. */
  get seq(): number | null {
    return this.#seq;
  }

  /** Forgets the seq (after a reconnect): deltas are not applied until a snapshot. */
  reset(): void {
    this.#seq = null;
  }

  /**
   * Decodes one frame and applies it. Throws {@link FrameError} for a bad
   * frame, leaving the state as it was but unusable (seq null) until the next
   * snapshot.
   */
  decode(bytes: Uint8Array): DecodedMessage {
    const removes: number[] = [];
    const fulls: QFlight[] = [];
    const changes: WireRecord[] = [];
    let apply = false;
    let scanned;
    try {
      scanned = scanFrame(bytes, {
        header: (kind, seq) => {
          apply = kind === "snapshot" || (this.#seq !== null && seq === this.#seq + 1);
          return apply;
        },
        remove: (icao) => void removes.push(icao),
        full: (r) => void fulls.push(fullToQ(r)),
        change: (r) => void changes.push({ ...r }),
      });
    } catch (error) {
      this.#seq = null;
      throw error;
    }
    if (scanned.kind === "message") return scanned.message;
    const { seq, serverTimeMs } = scanned;
    if (scanned.kind === "snapshot") {
      this.flights.clear();
      for (const q of fulls) this.flights.set(q.icao, q);
      this.#seq = seq;
      return {
        type: "snapshot",
        seq,
        server_time_ms: serverTimeMs,
        flights: fulls.map(dequantise),
      };
    }
    if (!apply) {
      this.#seq = null;
      return { type: "delta", seq, server_time_ms: serverTimeMs, upserts: [], removes: [] };
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
      this.#seq = null;
      throw error;
    }
    const removedIds: string[] = [];
    for (const icao of removes) {
      if (staged.has(icao)) continue; // moved between two of the client's tiles
      if (this.flights.delete(icao)) removedIds.push(intToIcao(icao));
    }
    const upserts: Flight[] = [];
    for (const [icao, q] of staged) {
      this.flights.set(icao, q);
      upserts.push(dequantise(q));
    }
    this.#seq = seq;
    return { type: "delta", seq, server_time_ms: serverTimeMs, upserts, removes: removedIds };
  }

  /** The held aircraft as flight objects. */
  flightObjects(): Flight[] {
    return [...this.flights.values()].map(dequantise);
  }
}
