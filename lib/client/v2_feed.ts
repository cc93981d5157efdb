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
import type { FlightStore } from "./flight_store.ts";
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

/** A snapshot or delta batch as it crosses from the Worker. */
export type BatchAction = Extract<WireAction, { kind: "batch" }>;

const orNull = (v: number) => Number.isNaN(v) ? null : v;

/**
 * Aircraft `k` of `batch` written into `out` (every field; `source` removed
 * when the batch has none). `icao24` is the string for the batch's 24-bit
 * address (the caller may cache them).
 */
export function readFlight(batch: Batch, k: number, out: Flight, icao24: string): Flight {
  const o = k * BATCH_FIELDS;
  const n = batch.nums;
  const squawk = n[o + 10]!;
  const flags = n[o + 13]!;
  const source = batch.strs[3 * k + 2];
  out.icao24 = icao24;
  out.callsign = batch.strs[3 * k] ?? null;
  out.origin_country = batch.strs[3 * k + 1] ?? null;
  out.position.lat = n[o + 1]!;
  out.position.lon = n[o + 2]!;
  out.altitude_m = orNull(n[o + 3]!);
  out.geo_altitude_m = orNull(n[o + 4]!);
  out.velocity_mps = orNull(n[o + 5]!);
  out.heading_deg = orNull(n[o + 6]!);
  out.vertical_rate_mps = orNull(n[o + 7]!);
  out.on_ground = (flags & 1) !== 0;
  out.squawk = Number.isNaN(squawk) ? null : squawkText(squawk);
  out.spi = (flags & 2) !== 0;
  out.position_source = n[o + 12]!;
  out.category = n[o + 11]!;
  out.time_position_unix = n[o + 8]!;
  out.last_contact_unix = n[o + 9]!;
  // The server only encodes sources its contract accepts (contracts/flight.ts).
  if (source) out.source = source as Flight["source"];
  else if ("source" in out) delete out.source;
  return out;
}

/** The 4 octal digits of a squawk (the 4,096 strings made once). */
const SQUAWKS: string[] = [];
function squawkText(v: number): string {
  return SQUAWKS[v] ??= v.toString(8).padStart(4, "0");
}

function emptyFlight(): Flight {
  return {
    icao24: "",
    callsign: null,
    origin_country: null,
    position: { lat: 0, lon: 0 },
    altitude_m: null,
    geo_altitude_m: null,
    velocity_mps: null,
    heading_deg: null,
    vertical_rate_mps: null,
    on_ground: false,
    squawk: null,
    spi: false,
    position_source: 0,
    category: 0,
    time_position_unix: 0,
    last_contact_unix: 0,
  };
}

/** A batch's aircraft as flight objects (new ones: tests and the reference). */
export function materialise(batch: Batch): Flight[] {
  const out: Flight[] = new Array(batch.count);
  for (let k = 0; k < batch.count; k++) {
    out[k] = readFlight(batch, k, emptyFlight(), intToIcao(batch.nums[k * BATCH_FIELDS]!));
  }
  return out;
}

/**
 * The page's side of batches, without allocating per aircraft: an aircraft
 * the store holds is written straight from the batch's columns into the
 * store's own flight object ({@link applyTo}); an arrival is read into one
 * reused flight object that the store copies; each icao24 string is made
 * once per address.
 * TODO(#10): the batch's strings (callsign, country, source of every
 * aircraft touched) are still cloned by `postMessage` per aircraft; the
 * Worker (v2_table.ts) could send them only when they change.
 */
export class BatchReader {
  readonly #scratch = emptyFlight();
  readonly #icao = new Map<number, string>();
  #batch: Batch | null = null;
  #k = 0;
  readonly #write = (f: Flight) => void readFlight(this.#batch!, this.#k, f, f.icao24);

  #id(int: number): string {
    let id = this.#icao.get(int);
    if (id === undefined) this.#icao.set(int, id = intToIcao(int));
    return id;
  }

  /** The batch's aircraft, one at a time (`fn` must not keep the object). */
  each(batch: Batch, fn: (f: Flight) => void): void {
    for (let k = 0; k < batch.count; k++) {
      fn(readFlight(batch, k, this.#scratch, this.#id(batch.nums[k * BATCH_FIELDS]!)));
    }
  }

  /**
   * The batch's aircraft into `store` at `nowS` (its upsert rules: older
   * states dropped, newer positions blended), held ones in place.
   */
  applyTo(batch: Batch, store: FlightStore, nowS: number): void {
    const n = batch.nums;
    this.#batch = batch;
    const rewrite = { timePositionUnix: 0, lastContactUnix: 0, nowS, write: this.#write };
    for (let k = 0; k < batch.count; k++) {
      const o = k * BATCH_FIELDS;
      const t = store.byAddress(n[o]!);
      if (t === undefined) {
        store.upsert(readFlight(batch, k, this.#scratch, this.#id(n[o]!)), nowS);
        continue;
      }
      this.#k = k;
      rewrite.timePositionUnix = n[o + 8]!;
      rewrite.lastContactUnix = n[o + 9]!;
      store.rewrite(t, rewrite);
    }
    this.#batch = null;
  }

  /** Forget the cached addresses (a new connection). */
  clear(): void {
    this.#icao.clear();
  }
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
