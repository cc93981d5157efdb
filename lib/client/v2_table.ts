/**
 * The browser's `skysentinel.v2.bin` state (docs/protocol.md): the aircraft
 * the frames describe, held in typed arrays (one column per field, in frame
 * units), and the frame reader of lib/hub/v2 applying snapshots and field
 * deltas straight into them. Runs in the decoding Web Worker
 * (v2_worker.ts), and in Deno for tests.
 *
 * The hot path (every record of every frame) allocates nothing per
 * aircraft: `scanFrame` reuses one record object, change records go
 * through one scratch state and the hub's own `applyChange` (so the delta
 * rule has one copy), and the output of a frame is one Float64Array of the
 * aircraft it touched ({@link BATCH_FIELDS} numbers each) plus their
 * strings, handed to the page in one transferable message.
 *
 * @module
 */
import {
  ALTITUDE_UNIT_M,
  applyChange,
  F_ALT,
  F_GEO,
  F_HDG,
  F_SQUAWK,
  F_VEL,
  F_VR,
  FrameError,
  intToIcao,
  POSITION_UNIT_DEG,
  type QFlight,
  scanFrame,
  SPEED_UNIT_MPS,
  TIME_UNIT_S,
  TRACK_UNIT_DEG,
  VERTICAL_RATE_UNIT_MPS,
  type WireRecord,
} from "../hub/v2/mod.ts";

/** Null in an Int32 column (outside every field's range). */
const NULL = -0x80000000;

/**
 * Numbers per aircraft in a batch, in this order: icao (24-bit integer),
 * lat, lon (degrees), altitude_m, geo_altitude_m (metres), velocity_mps
 * (m/s), heading_deg (degrees), vertical_rate_mps (m/s),
 * time_position_unix, last_contact_unix (unix seconds), squawk (octal
 * value 0..4095), category, position_source, flags (bit 0 on_ground, bit 1
 * spi). NaN is null.
 */
export const BATCH_FIELDS = 14;

/** What one snapshot or delta frame changed, ready to post to the page. */
export interface Batch {
  /** Aircraft upserted. */
  count: number;
  /** `count × BATCH_FIELDS` numbers (see {@link BATCH_FIELDS}). */
  nums: Float64Array;
  /** `count × 3`: callsign, origin_country, source (null: none). */
  strs: (string | null)[];
  /** icao24 of aircraft removed. */
  removes: string[];
}

const round = (v: number, k: number) => Math.round(v * k) / k;

export class BinaryTable {
  #cap = 0;
  #slots = new Map<number, number>();
  #free: number[] = [];
  #icao = new Int32Array(0);
  #lat = new Int32Array(0);
  #lon = new Int32Array(0);
  #alt = new Int32Array(0);
  #geo = new Int32Array(0);
  #vel = new Int32Array(0);
  #hdg = new Int32Array(0);
  #vr = new Int32Array(0);
  #tpos = new Float64Array(0);
  #lc = new Float64Array(0);
  #squawk = new Int32Array(0);
  #category = new Uint8Array(0);
  #psrc = new Uint8Array(0);
  #flags = new Uint8Array(0);
  #callsign: (string | null)[] = [];
  #country: (string | null)[] = [];
  #source: (string | null)[] = [];
  /** Slots touched by the frame being applied (deduplicated with #mark). */
  #touched = new Int32Array(0);
  #mark = new Uint8Array(0);
  #nTouched = 0;
  #removed: number[] = [];
  /** icao24 of the held aircraft, ascending (for indexed frames); null after the set changed. */
  #sortedIcaos: Int32Array | null = null;
  readonly #scratch: QFlight = {
    icao: 0,
    lat: 0,
    lon: 0,
    alt: null,
    geo: null,
    vel: null,
    hdg: null,
    vr: null,
    tpos: 0,
    lc: 0,
    callsign: null,
    country: null,
    squawk: null,
    category: 0,
    source: null,
    psrc: 0,
    flags: 0,
  };

  /** Aircraft held. */
  get size(): number {
    return this.#slots.size;
  }

  /** Forgets every aircraft (a snapshot replaces them all). */
  clear(): void {
    this.#sortedIcaos = null;
    this.#slots.clear();
    this.#free = [];
    for (let i = this.#cap - 1; i >= 0; i--) this.#free.push(i);
  }

  /**
   * Applies the body of a snapshot or delta frame (scanFrame's visitor) and
   * returns what changed. `admit` decides, from the header, whether the
   * frame applies (the seq rule); a refused frame changes nothing and
   * returns null. Throws {@link FrameError} on a bad frame (the state is then
   * unusable until a snapshot).
   */
  apply(
    bytes: Uint8Array,
    admit: (kind: "snapshot" | "delta", seq: number, serverTimeMs: number) => boolean,
  ): {
    kind: "snapshot" | "delta";
    seq: number;
    serverTimeMs: number;
    /** Aircraft in the whole world, when the frame says (null: unchanged or unknown). */
    total: number | null;
    batch: Batch | null;
  } {
    this.#nTouched = 0;
    this.#removed = [];
    let applied = false;
    const scanned = scanFrame(bytes, {
      header: (kind, seq, t) => {
        applied = admit(kind, seq, t);
        if (applied && kind === "snapshot") {
          for (const icao of this.#slots.keys()) this.#removed.push(icao);
          this.clear();
        }
        return applied;
      },
      remove: (icao) => this.#remove(icao),
      full: (r) => this.#full(r),
      change: (r) => this.#change(r),
      held: () => this.#sortedIcaos ??= Int32Array.from(this.#slots.keys()).sort(),
    });
    if (scanned.kind === "message") throw new FrameError("not a snapshot or delta frame", 0);
    return {
      kind: scanned.kind,
      seq: scanned.seq,
      serverTimeMs: scanned.serverTimeMs,
      total: scanned.total,
      batch: applied ? this.#batch() : null,
    };
  }

  #remove(icao: number): void {
    const slot = this.#slots.get(icao);
    if (slot === undefined) return;
    this.#slots.delete(icao);
    this.#sortedIcaos = null;
    this.#free.push(slot);
    this.#removed.push(icao);
  }

  #slotFor(icao: number): number {
    let slot = this.#slots.get(icao);
    if (slot !== undefined) return slot;
    if (this.#free.length === 0) this.#grow();
    slot = this.#free.pop()!;
    this.#slots.set(icao, slot);
    this.#sortedIcaos = null;
    return slot;
  }

  #full(r: Readonly<WireRecord>): void {
    const s = this.#slotFor(r.icao);
    const m = r.mask;
    this.#icao[s] = r.icao;
    this.#lat[s] = r.lat;
    this.#lon[s] = r.lon;
    this.#alt[s] = m & F_ALT ? r.alt : NULL;
    this.#geo[s] = m & F_GEO ? r.geo : NULL;
    this.#vel[s] = m & F_VEL ? r.vel : NULL;
    this.#hdg[s] = m & F_HDG ? r.hdg : NULL;
    this.#vr[s] = m & F_VR ? r.vr : NULL;
    this.#tpos[s] = r.tpos;
    this.#lc[s] = r.lc;
    this.#squawk[s] = m & F_SQUAWK ? r.squawk : NULL;
    this.#category[s] = r.category;
    this.#psrc[s] = r.psrc;
    this.#flags[s] = r.flags;
    this.#callsign[s] = r.callsign;
    this.#country[s] = r.country;
    this.#source[s] = r.source;
    this.#touch(s);
  }

  #change(r: Readonly<WireRecord>): void {
    const s = this.#slots.get(r.icao);
    if (s === undefined) {
      throw new FrameError(`change record for unknown aircraft ${intToIcao(r.icao)}`, 0);
    }
    const q = this.#scratch;
    q.icao = r.icao;
    q.lat = this.#lat[s]!;
    q.lon = this.#lon[s]!;
    q.alt = nul(this.#alt[s]!);
    q.geo = nul(this.#geo[s]!);
    q.vel = nul(this.#vel[s]!);
    q.hdg = nul(this.#hdg[s]!);
    q.vr = nul(this.#vr[s]!);
    q.tpos = this.#tpos[s]!;
    q.lc = this.#lc[s]!;
    q.callsign = this.#callsign[s]!;
    q.country = this.#country[s]!;
    q.squawk = nul(this.#squawk[s]!);
    q.category = this.#category[s]!;
    q.source = this.#source[s]!;
    q.psrc = this.#psrc[s]!;
    q.flags = this.#flags[s]!;
    applyChange(q, r);
    this.#lat[s] = q.lat;
    this.#lon[s] = q.lon;
    this.#alt[s] = q.alt ?? NULL;
    this.#geo[s] = q.geo ?? NULL;
    this.#vel[s] = q.vel ?? NULL;
    this.#hdg[s] = q.hdg ?? NULL;
    this.#vr[s] = q.vr ?? NULL;
    this.#tpos[s] = q.tpos;
    this.#lc[s] = q.lc;
    this.#callsign[s] = q.callsign;
    this.#country[s] = q.country;
    this.#squawk[s] = q.squawk ?? NULL;
    this.#category[s] = q.category;
    this.#source[s] = q.source;
    this.#psrc[s] = q.psrc;
    this.#flags[s] = q.flags;
    this.#touch(s);
  }

  #touch(slot: number): void {
    if (this.#mark[slot]) return;
    this.#mark[slot] = 1;
    this.#touched[this.#nTouched++] = slot;
  }

  /** The touched aircraft as one batch, in the page's units (rounded as lib/hub/v2 does). */
  #batch(): Batch {
    const n = this.#nTouched;
    const nums = new Float64Array(n * BATCH_FIELDS);
    const strs: (string | null)[] = new Array(n * 3);
    for (let k = 0; k < n; k++) {
      const s = this.#touched[k]!;
      this.#mark[s] = 0;
      const o = k * BATCH_FIELDS;
      nums[o] = this.#icao[s]!;
      nums[o + 1] = round(this.#lat[s]! * POSITION_UNIT_DEG, 1e5);
      nums[o + 2] = round(this.#lon[s]! * POSITION_UNIT_DEG, 1e5);
      nums[o + 3] = scaled(this.#alt[s]!, ALTITUDE_UNIT_M, 100);
      nums[o + 4] = scaled(this.#geo[s]!, ALTITUDE_UNIT_M, 100);
      nums[o + 5] = scaled(this.#vel[s]!, SPEED_UNIT_MPS, 10);
      nums[o + 6] = scaled(this.#hdg[s]!, TRACK_UNIT_DEG, 10);
      nums[o + 7] = scaled(this.#vr[s]!, VERTICAL_RATE_UNIT_MPS, 100);
      nums[o + 8] = round(this.#tpos[s]! * TIME_UNIT_S, 10);
      nums[o + 9] = round(this.#lc[s]! * TIME_UNIT_S, 10);
      nums[o + 10] = this.#squawk[s] === NULL ? NaN : this.#squawk[s]!;
      nums[o + 11] = this.#category[s]!;
      nums[o + 12] = this.#psrc[s]!;
      nums[o + 13] = this.#flags[s]!;
      strs[3 * k] = this.#callsign[s]!;
      strs[3 * k + 1] = this.#country[s]!;
      strs[3 * k + 2] = this.#source[s]!;
    }
    this.#nTouched = 0;
    // An aircraft that moved between two tiles of the view is removed and added again: keep it.
    const removes: string[] = [];
    for (const icao of this.#removed) if (!this.#slots.has(icao)) removes.push(intToIcao(icao));
    return { count: n, nums, strs, removes };
  }

  #grow(): void {
    const cap = Math.max(1024, this.#cap * 2);
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    const u8 = (a: Uint8Array) => {
      const b = new Uint8Array(cap);
      b.set(a);
      return b;
    };
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    this.#icao = i32(this.#icao);
    this.#lat = i32(this.#lat);
    this.#lon = i32(this.#lon);
    this.#alt = i32(this.#alt);
    this.#geo = i32(this.#geo);
    this.#vel = i32(this.#vel);
    this.#hdg = i32(this.#hdg);
    this.#vr = i32(this.#vr);
    this.#squawk = i32(this.#squawk);
    this.#tpos = f64(this.#tpos);
    this.#lc = f64(this.#lc);
    this.#category = u8(this.#category);
    this.#psrc = u8(this.#psrc);
    this.#flags = u8(this.#flags);
    this.#mark = u8(this.#mark);
    this.#touched = i32(this.#touched);
    for (let i = cap - 1; i >= this.#cap; i--) this.#free.push(i);
    this.#callsign.length = this.#country.length = this.#source.length = cap;
    this.#cap = cap;
  }
}

function nul(v: number): number | null {
  return v === NULL ? null : v;
}

function scaled(v: number, unit: number, k: number): number {
  return v === NULL ? NaN : round(v * unit, k);
}
