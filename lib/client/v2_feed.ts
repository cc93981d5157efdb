/**
 * `skysentinel.v2.bin` from frame to protocol actions, without DOM or
 * Worker: the typed-array state ({@link BinaryTable}) plus the seq rule
 * ({@link ProtocolState}, lib/hub/seq.ts), so a stale or out-of-order
 * frame is dropped before its body is read. What it returns is posted from
 * the decoding Worker to the page (v2_worker.ts), where
 * {@link materialise} turns a batch into flights.
 *
 * @module
 */
import type { Flight } from "../../contracts/flight.ts";
import { FRAME_GENERIC, FrameError, intToIcao, scanFrame } from "../hub/v2/mod.ts";
import { toServerMessage } from "./decode.ts";
import { type ProtocolAction, ProtocolState, type ProtocolStats } from "./protocol.ts";
import { type Batch, BATCH_FIELDS, BinaryTable } from "./v2_table.ts";

/** An action as it crosses from the Worker: snapshots and deltas carry a {@link Batch}. */
export type WireAction =
  | Exclude<ProtocolAction, { kind: "snapshot" | "delta" }>
  | {
    kind: "batch";
    type: "snapshot" | "delta";
    seq: number;
    serverTimeMs: number;
    /** Aircraft in the whole world, when the frame says (v2.bin repeats it only when it changed). */
    total?: number;
    batch: Batch;
  };

/** Counters of the feed, for the status bar and tests. */
export interface FeedStats extends ProtocolStats {
  /** Frames refused as malformed. */
  badFrames: number;
  /** Aircraft held. */
  aircraft: number;
}

export class BinaryFeed {
  readonly protocol = new ProtocolState();
  readonly table = new BinaryTable();
  #badFrames = 0;
  /** The last refusal, for logs and tests. */
  lastError: string | null = null;

  get stats(): FeedStats {
    return { ...this.protocol.stats, badFrames: this.#badFrames, aircraft: this.table.size };
  }

  /** A new connection: forget everything. */
  reset(): void {
    this.protocol.reset();
    this.table.clear();
  }

  /** A `subscribe` went out: the next snapshot replaces the state. */
  subscribed(): void {
    this.protocol.subscribed();
  }

  /** Resync again if the snapshot asked for has not come. */
  poll(nowMs: number): WireAction[] {
    return this.protocol.poll(nowMs) as WireAction[];
  }

  /** One binary frame; `nowMs` is the client clock. */
  receive(bytes: Uint8Array, nowMs: number): WireAction[] {
    try {
      if (bytes.length > 0 && bytes[0] === FRAME_GENERIC) {
        const scanned = scanFrame(bytes);
        const message = scanned.kind === "message" ? toServerMessage(scanned.message) : null;
        if (message === null) return []; // a type this client does not know (docs: ignore it)
        return this.protocol.receive(message, nowMs) as WireAction[];
      }
      const pending: WireAction[] = [];
      const r = this.table.apply(bytes, (kind, seq) => {
        const admitted = this.protocol.admit(kind, seq, nowMs);
        pending.push(...(admitted.actions as WireAction[]));
        return admitted.apply;
      });
      if (r.batch) {
        pending.push({
          kind: "batch",
          type: r.kind,
          seq: r.seq,
          serverTimeMs: r.serverTimeMs,
          ...(r.total === null ? {} : { total: r.total }),
          batch: r.batch,
        });
      }
      return pending;
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      // The field-delta state is lost: wait for a snapshot (docs/protocol.md, Errors).
      this.#badFrames++;
      this.lastError = error.message;
      return this.protocol.lost(nowMs) as WireAction[];
    }
  }
}

/** A batch's aircraft as flight objects (on the page, for the store). */
export function materialise(batch: Batch): Flight[] {
  const out: Flight[] = new Array(batch.count);
  const n = batch.nums;
  for (let k = 0; k < batch.count; k++) {
    const o = k * BATCH_FIELDS;
    const orNull = (v: number) => Number.isNaN(v) ? null : v;
    const squawk = n[o + 10]!;
    const flags = n[o + 13]!;
    const source = batch.strs[3 * k + 2];
    const f: Flight = {
      icao24: intToIcao(n[o]!),
      callsign: batch.strs[3 * k] ?? null,
      origin_country: batch.strs[3 * k + 1] ?? null,
      position: { lat: n[o + 1]!, lon: n[o + 2]! },
      altitude_m: orNull(n[o + 3]!),
      geo_altitude_m: orNull(n[o + 4]!),
      velocity_mps: orNull(n[o + 5]!),
      heading_deg: orNull(n[o + 6]!),
      vertical_rate_mps: orNull(n[o + 7]!),
      on_ground: (flags & 1) !== 0,
      squawk: Number.isNaN(squawk) ? null : squawk.toString(8).padStart(4, "0"),
      spi: (flags & 2) !== 0,
      position_source: n[o + 12]!,
      category: n[o + 11]!,
      time_position_unix: n[o + 8]!,
      last_contact_unix: n[o + 9]!,
    };
    // The server only encodes sources its contract accepts (contracts/flight.ts).
    if (source) f.source = source as Flight["source"];
    out[k] = f;
  }
  return out;
}

/** A wire action as the page applies it (batches materialised). */
export function toProtocolAction(a: WireAction): ProtocolAction {
  if (a.kind !== "batch") return a;
  const total = a.total === undefined ? {} : { total: a.total };
  return a.type === "snapshot"
    ? {
      kind: "snapshot",
      seq: a.seq,
      serverTimeMs: a.serverTimeMs,
      flights: materialise(a.batch),
      ...total,
    }
    : {
      kind: "delta",
      seq: a.seq,
      serverTimeMs: a.serverTimeMs,
      upserts: materialise(a.batch),
      removes: a.batch.removes,
      ...total,
    };
}
