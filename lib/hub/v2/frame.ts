/**
 * Frames of `skysentinel.v2.bin` (layout in docs/protocol.md): the field
 * bits and frame kinds, and the encoding of tile segments and frames on the
 * server (reading them: `scan.ts`). Pure and platform-free; the browser's
 * Web Worker imports it.
 *
 * A snapshot or delta frame is a header followed by segments; a segment is
 * self-contained (its own string table and counts, its byte length first)
 * and depends only on the tick, so the hub encodes each tile's segment once
 * per tick and a client's frame is the header plus the segments of its tiles,
 * concatenated.
 *
 * @module
 */
import { Encoder } from "@msgpack/msgpack";
import { ByteWriter } from "./wire.ts";
import { BitWriter, egBits } from "./bits.ts";
import { type QFlight, TRACK_UNITS, wrapLon } from "./record.ts";
import { climb, deadReckon, toTrackFrame } from "./predict.ts";

/**
 * First byte of every frame. Snapshot and delta kinds carry the layout
 * revision in their high nibble (revision 3: 0x31, 0x32); the layouts of
 * revisions 1 (0x01, 0x02) and 2 (0x21, 0x22) are refused with a clear
 * error, as is any revision this code does not read.
 */
export const FRAME_GENERIC = 0x00;
export const FRAME_SNAPSHOT = 0x31;
export const FRAME_DELTA = 0x32;
/** Layout revision of the snapshot and delta frames this code writes and reads. */
export const LAYOUT_REVISION = 3;

/** Contents bits of a segment's head (`byte length × 16 + contents`). */
export const SEG_STRINGS = 1;
export const SEG_REMOVES = 2;
export const SEG_FULL = 4;
/**
 * Change records are identified by their index among the aircraft held
 * before the frame instead of icao24; only in a frame's only segment.
 */
export const SEG_INDEXED = 8;
/** Every contents bit this revision knows. */
export const SEG_KNOWN = 15;
/**
 * Segment head: `uvarint` L × 2 + 1 then a contents byte, or L × 2 for a
 * segment of change records only (most of a regional view's tiles, so their
 * head is one byte up to 63 bytes).
 */
export const SEG_HEAD_SCALE = 2;

/** Field bits of a record's mask, in the order their values follow. */
export const F_POS = 1 << 0;
export const F_ALT = 1 << 1;
export const F_GEO = 1 << 2;
export const F_VEL = 1 << 3;
export const F_HDG = 1 << 4;
export const F_VR = 1 << 5;
/** last_contact differs from the previous record's in the segment (the first: the frame's T). */
export const F_LC = 1 << 6;
/** time_position differs from last_contact. */
export const F_TPOS = 1 << 7;
export const F_CALLSIGN = 1 << 8;
export const F_COUNTRY = 1 << 9;
export const F_SQUAWK = 1 << 10;
export const F_CATEGORY = 1 << 11;
export const F_SOURCE = 1 << 12;
export const F_PSRC = 1 << 13;
export const F_FLAGS = 1 << 14;
/** Change records only: a null mask and an absolute mask follow the mask. */
export const F_SPECIAL = 1 << 15;
/** Every mask bit this version knows. */
export const KNOWN_BITS = (1 << 16) - 1;
/** Fields that may become null (bits allowed in the null mask). */
export const NULLABLE_BITS = F_ALT | F_GEO | F_VEL | F_HDG | F_VR | F_CALLSIGN | F_COUNTRY |
  F_SQUAWK | F_SOURCE;
/** Fields sent as a residual in change records unless in the absolute mask. */
export const DELTA_BITS = F_POS | F_ALT | F_GEO | F_VEL | F_HDG | F_VR;

/**
 * Change record masks by code (docs/protocol.md "Change records"): a mask
 * is sent as the Exp-Golomb (order 0) code of its index here, or of
 * {@link MASK_ESCAPE} followed by the 16 mask bits. Ordered by how often
 * each mask came in the real recordings: the 1 s tracks of the load
 * scenario (fixtures/scenarios/world_load.json) and the Switzerland 10 s
 * polls, each weighing half. A position alone (0x1) is 44% of the 1 s
 * records and costs 1 bit; a byte per mask was a quarter of a record.
 */
export const MASK_TABLE: readonly number[] = Object.freeze([
  0x1,
  0x19,
  0x39,
  0x21,
  0x9,
  0x11,
  0x3,
  0x0,
  0x80,
  0x3b,
  0x8003,
  0x1b,
  0x29,
  0x5,
  0x23,
  0x31,
  0x7,
  0x8082,
  0x2b,
  0xb,
  0x1d,
  0x3d,
  0x81,
  0x3f,
  0x25,
  0x8002,
  0x41,
  0x13,
  0x27,
  0x1f,
  0x33,
  0x59,
  0x98,
  0x2d,
  0xb8,
  0x61,
  0xf,
  0x99,
  0x79,
  0x15,
  0x2f,
  0x51,
  0x37,
  0xd,
  0x35,
  0xba,
  0x17,
  0x49,
  0x69,
  0x86,
  0x9d,
  0xb9,
  0x85,
  0x38,
  0x84,
  0x7b,
  0xbc,
  0x4,
  0x9c,
  0x18,
  0x82,
  0xa8,
  0x63,
]);
/** The mask code that says the 16 mask bits follow. */
export const MASK_ESCAPE = MASK_TABLE.length;
/** Code of each 16-bit mask, MASK_ESCAPE when not in the table (a lookup per record). */
const MASK_CODE = (() => {
  const codes = new Uint8Array(1 << 16).fill(MASK_TABLE.length);
  MASK_TABLE.forEach((m, i) => codes[m] = i);
  return codes;
})();

/**
 * Exp-Golomb orders of change record values (zigzag-coded residuals),
 * fitted to the load scenario's residuals: a position residual along the
 * track is mostly within ±16 units (order 4: 5-7 bits), across it ±4.
 */
export const K_ALONG = 4;
export const K_ACROSS = 2;
export const K_ALT = 1;
export const K_GEO = 2;
export const K_VEL = 2;
export const K_HDG = 3;
export const K_VR = 2;
/** last_contact (T minus it) and time_position (last_contact minus it), tenths of a second. */
export const K_LC = 3;
export const K_TPOS = 2;
/** Absolute positions (absolute mask), zigzag-coded. */
export const K_ABS_POS = 20;
/** Other absolute values (absolute mask), zigzag-coded. */
export const K_ABS = 8;
/** Bits of the identifier order at the start of the change records. */
export const ID_ORDER_BITS = 5;

/** Longest callsign, UTF-8 bytes (8 characters). */
export const MAX_CALLSIGN_BYTES = 32;
/** Longest string table entry (origin_country, source), UTF-8 bytes. */
export const MAX_TABLE_STRING_BYTES = 256;

const msgpackEncoder = new Encoder();

// --- encoding ------------------------------------------------------------------------

/** The time base of a frame: its server_time_ms in tenths of a second. */
export function timeBase(serverTimeMs: number): number {
  return Math.floor(serverTimeMs / 100);
}

/** A change record's input: what the client holds and the new state. */
export interface Change {
  prev: QFlight;
  next: QFlight;
}

/** True when a client holding `a` must be told about `b` (any value differs). */
export function differs(a: QFlight, b: QFlight): boolean {
  return a.lat !== b.lat || a.lon !== b.lon || a.alt !== b.alt || a.geo !== b.geo ||
    a.vel !== b.vel || a.hdg !== b.hdg || a.vr !== b.vr || a.tpos !== b.tpos || a.lc !== b.lc ||
    a.callsign !== b.callsign || a.country !== b.country || a.squawk !== b.squawk ||
    a.category !== b.category || a.source !== b.source || a.psrc !== b.psrc ||
    a.flags !== b.flags;
}

const byIcao = (a: { icao: number }, b: { icao: number }) => a.icao - b.icao;

/**
 * One segment: removes (icao24 integers), full records and change records,
 * times relative to `base` ({@link timeBase} of the frame it goes in).
 * Returns the segment with its head, ready to concatenate. Change records
 * where nothing differs are left out.
 */
export function encodeSegment(
  removes: readonly number[],
  full: readonly QFlight[],
  options: {
    changes?: readonly Change[];
    base: number;
    /** The frame's last_contact reference ({@link FrameHeader.lc0}); default `base`. */
    lc0?: number;
    /**
     * icao24 of every aircraft the segment's clients hold before this tick,
     * ascending. Only for a segment that is alone in every frame it goes in
     * (a whole-world view's): change records are then identified by their
     * index among them instead of their icao24.
     */
    held?: readonly number[];
  },
): Uint8Array<ArrayBuffer> {
  const base = options.base;
  const table = new Map<string, number>();
  const intern = (s: string) => {
    let i = table.get(s);
    if (i === undefined) table.set(s, i = table.size);
    return i;
  };
  const ctx: WriteContext = { base, lc: options.lc0 ?? base, intern };
  const body = scratchBody;
  body.reset();
  let contents = 0;
  if (removes.length > 0) {
    contents |= SEG_REMOVES;
    const removeList = [...removes].sort((a, b) => a - b);
    body.uvarint(removeList.length);
    let last = 0;
    for (const icao of removeList) {
      body.uvarint(icao - last);
      last = icao;
    }
  }
  if (full.length > 0) {
    contents |= SEG_FULL;
    const fullList = [...full].sort(byIcao);
    body.uvarint(fullList.length);
    let last = 0;
    for (const q of fullList) {
      body.uvarint(q.icao - last);
      last = q.icao;
      writeFull(body, q, ctx);
    }
  }
  const changeList = (options.changes ?? []).filter((c) => differs(c.prev, c.next))
    .sort((a, b) => a.next.icao - b.next.icao);
  if (changeList.length > 0) {
    const ids = options.held ? heldIndexes(options.held, changeList) : null;
    if (ids) contents |= SEG_INDEXED;
    const bits = scratchBits;
    bits.reset();
    // Identifiers: the first absolute (an index, or 24 bits of icao24), then gaps minus one, in
    // the Exp-Golomb order that makes them shortest. Without indexes the order comes just before
    // the second record: a third of a regional view's tiles have one record, and no gap.
    const order = idOrder(ids ?? changeList.map((c) => c.next.icao), ids !== null);
    if (ids) bits.bits(order, ID_ORDER_BITS);
    let last = -1;
    for (let i = 0; i < changeList.length; i++) {
      const { prev, next } = changeList[i]!;
      const id = ids ? ids[i]! : next.icao;
      if (last >= 0) {
        if (!ids && i === 1) bits.bits(order, ID_ORDER_BITS);
        bits.eg(id - last - 1, order);
      } else if (ids) bits.eg(id, order);
      else bits.bits(id, 24);
      last = id;
      writeChange(bits, prev, next, ctx);
    }
    body.bytes(bits.view());
  }
  const bodyBytes = body.view();
  let tableBytes: Uint8Array | null = null;
  if (table.size > 0) {
    contents |= SEG_STRINGS;
    const head = scratchHead;
    head.reset();
    head.uvarint(table.size);
    for (const s of table.keys()) head.string(s);
    tableBytes = head.view();
  }
  const length = (tableBytes?.length ?? 0) + bodyBytes.length;
  const prefix = scratchPrefix;
  prefix.reset();
  if (contents === 0) prefix.uvarint(length * SEG_HEAD_SCALE);
  else {
    prefix.uvarint(length * SEG_HEAD_SCALE + 1);
    prefix.byte(contents);
  }
  const out = new Uint8Array(prefix.length + length);
  out.set(prefix.view(), 0);
  if (tableBytes) out.set(tableBytes, prefix.length);
  out.set(bodyBytes, prefix.length + (tableBytes?.length ?? 0));
  return out;
}

/**
 * Scratch writers of {@link encodeSegment} (synchronous, never re-entered): their buffers grow
 * once and are kept, so encoding a segment allocates only its result. A tick encodes thousands of
 * segments; a fresh writer and a copy for each part of each came to 5-10% of a tick's CPU at
 * 10,000 aircraft x 500 clients (bench/load/tick_profile.ts with --cpu-prof).
 */
const scratchBody = new ByteWriter(64 * 1024);
const scratchHead = new ByteWriter(4 * 1024);
const scratchPrefix = new ByteWriter(16);
const scratchBits = new BitWriter(64 * 1024);

/**
 * The index in `held` (ascending) of each of `changes` (ascending), or null
 * when one is not held.
 */
function heldIndexes(held: readonly number[], changes: readonly Change[]): number[] | null {
  const out: number[] = [];
  let i = 0;
  for (const { next } of changes) {
    while (i < held.length && held[i]! < next.icao) i++;
    if (held[i] !== next.icao) return null;
    out.push(i++);
  }
  return out;
}

/**
 * The Exp-Golomb order (0..23) that codes the identifiers' gaps (and, for
 * indexes, the first) in the fewest bits: of the orders around the binary
 * length of the mean gap (the best for gaps spread like arrivals at random;
 * trying all 24 cost a tenth of a whole-world segment's encoding).
 */
function idOrder(ids: readonly number[], indexed: boolean): number {
  const first = indexed ? 0 : 1;
  if (ids.length - first === 0) return 0;
  const span = ids[ids.length - 1]! - (indexed ? -1 : ids[0]!) - (ids.length - first);
  const mean = span / (ids.length - first);
  let guess = 0;
  while (guess < 23 && 2 ** (guess + 1) <= mean) guess++;
  let best = 0;
  let bestBits = Infinity;
  for (let k = Math.max(0, guess - 1); k <= guess; k++) {
    let n = indexed ? egBits(ids[0]!, k) : 0;
    for (let i = 1; i < ids.length && n < bestBits; i++) n += egBits(ids[i]! - ids[i - 1]! - 1, k);
    if (n < bestBits) {
      bestBits = n;
      best = k;
    }
  }
  return best;
}

interface WriteContext {
  base: number;
  /** last_contact of the previous record in the segment (the first record's: the frame's lc0). */
  lc: number;
  intern: (s: string) => number;
}

function writeFull(w: ByteWriter, q: QFlight, ctx: WriteContext): void {
  let mask = F_POS;
  if (q.alt !== null) mask |= F_ALT;
  if (q.geo !== null) mask |= F_GEO;
  if (q.vel !== null) mask |= F_VEL;
  if (q.hdg !== null) mask |= F_HDG;
  if (q.vr !== null) mask |= F_VR;
  if (q.lc !== ctx.lc) mask |= F_LC;
  if (q.tpos !== q.lc) mask |= F_TPOS;
  if (q.callsign !== null) mask |= F_CALLSIGN;
  if (q.country !== null) mask |= F_COUNTRY;
  if (q.squawk !== null) mask |= F_SQUAWK;
  if (q.category !== 0) mask |= F_CATEGORY;
  if (q.source !== null) mask |= F_SOURCE;
  if (q.psrc !== 0) mask |= F_PSRC;
  if (q.flags !== 0) mask |= F_FLAGS;
  w.uvarint(mask);
  w.svarint(q.lat);
  w.svarint(q.lon);
  if (mask & F_ALT) w.svarint(q.alt!);
  if (mask & F_GEO) w.svarint(q.geo!);
  if (mask & F_VEL) w.svarint(q.vel!);
  if (mask & F_HDG) w.uvarint(q.hdg!);
  if (mask & F_VR) w.svarint(q.vr!);
  writeRare(w, q, mask, ctx);
}

const dr: [number, number] = [0, 0];
const frameResidual: [number, number] = [0, 0];

/** The residual of a nullable field against its prediction, or how it changed. */
function nullableField(
  bit: number,
  prev: number | null,
  next: number | null,
  predicted: number,
  acc: { mask: number; nulls: number; abs: number },
): number {
  if (next === null) {
    if (prev !== null) {
      acc.mask |= bit;
      acc.nulls |= bit;
    }
    return 0;
  }
  if (prev === null) {
    acc.mask |= bit;
    acc.abs |= bit;
    return next;
  }
  if (next !== predicted) acc.mask |= bit;
  return next - predicted;
}

function writeChange(w: BitWriter, prev: QFlight, next: QFlight, ctx: WriteContext): void {
  const acc = { mask: 0, nulls: 0, abs: 0 };
  // Predictions (predict.ts): the held position moved by its speed and track over the
  // time_position difference, the altitude by its vertical rate over the last_contact one, the
  // geometric altitude by the barometric change; everything else unchanged.
  deadReckon(prev, next.tpos - prev.tpos, dr);
  const rLat = next.lat - (prev.lat + dr[0]);
  const rLon = wrapLon(next.lon - wrapLon(prev.lon + dr[1]));
  if (rLat !== 0 || rLon !== 0) acc.mask |= F_POS;
  const alt = nullableField(
    F_ALT,
    prev.alt,
    next.alt,
    prev.alt === null ? 0 : prev.alt + climb(prev.vr, next.lc - prev.lc),
    acc,
  );
  const geoStep = prev.alt !== null && next.alt !== null ? next.alt - prev.alt : 0;
  const geo = nullableField(F_GEO, prev.geo, next.geo, (prev.geo ?? 0) + geoStep, acc);
  const vel = nullableField(F_VEL, prev.vel, next.vel, prev.vel ?? 0, acc);
  let hdg = nullableField(F_HDG, prev.hdg, next.hdg, prev.hdg ?? 0, acc);
  if ((acc.mask & F_HDG) && !(acc.abs & F_HDG)) hdg = wrapTrack(hdg);
  const vr = nullableField(F_VR, prev.vr, next.vr, prev.vr ?? 0, acc);
  if (next.lc !== ctx.lc) acc.mask |= F_LC;
  if (next.tpos !== next.lc) acc.mask |= F_TPOS;
  if (prev.callsign !== next.callsign) acc.mask |= F_CALLSIGN;
  if (prev.country !== next.country) acc.mask |= F_COUNTRY;
  if (prev.squawk !== next.squawk) acc.mask |= F_SQUAWK;
  if (prev.category !== next.category) acc.mask |= F_CATEGORY;
  if (prev.source !== next.source) acc.mask |= F_SOURCE;
  if (prev.psrc !== next.psrc) acc.mask |= F_PSRC;
  if (prev.flags !== next.flags) acc.mask |= F_FLAGS;
  if ((acc.mask & F_CALLSIGN) && next.callsign === null) acc.nulls |= F_CALLSIGN;
  if ((acc.mask & F_COUNTRY) && next.country === null) acc.nulls |= F_COUNTRY;
  if ((acc.mask & F_SQUAWK) && next.squawk === null) acc.nulls |= F_SQUAWK;
  if ((acc.mask & F_SOURCE) && next.source === null) acc.nulls |= F_SOURCE;
  let mask = acc.mask;
  if (acc.nulls || acc.abs) mask |= F_SPECIAL;
  const code = MASK_CODE[mask]!;
  if (code !== MASK_ESCAPE) w.eg(code, 0);
  else {
    w.eg(MASK_ESCAPE, 0);
    w.bits(mask, 16);
  }
  const abs = acc.abs;
  if (mask & F_SPECIAL) {
    w.eg(acc.nulls, 0);
    w.eg(abs, 0);
  }
  if (mask & F_POS) {
    if (abs & F_POS) {
      w.seg(next.lat, K_ABS_POS);
      w.seg(next.lon, K_ABS_POS);
    } else {
      toTrackFrame(dr[0], dr[1], rLat, rLon, frameResidual);
      w.seg(frameResidual[0], K_ALONG);
      w.seg(frameResidual[1], K_ACROSS);
    }
  }
  const values = mask & ~acc.nulls;
  if (values & F_ALT) w.seg(alt, abs & F_ALT ? K_ABS : K_ALT);
  if (values & F_GEO) w.seg(geo, abs & F_GEO ? K_ABS : K_GEO);
  if (values & F_VEL) w.seg(vel, abs & F_VEL ? K_ABS : K_VEL);
  if (values & F_HDG) w.seg(hdg, abs & F_HDG ? K_ABS : K_HDG);
  if (values & F_VR) w.seg(vr, abs & F_VR ? K_ABS : K_VR);
  if (values & F_LC) w.seg(ctx.base - next.lc, K_LC);
  ctx.lc = next.lc;
  if (values & F_TPOS) w.seg(next.lc - next.tpos, K_TPOS);
  if (values & F_CALLSIGN) w.string(next.callsign!);
  if (values & F_COUNTRY) w.eg(ctx.intern(next.country!), 0);
  if (values & F_SQUAWK) w.bits(next.squawk!, 12);
  if (values & F_CATEGORY) w.eg(next.category, 0);
  if (values & F_SOURCE) w.eg(ctx.intern(next.source!), 0);
  if (values & F_PSRC) w.bits(next.psrc, 2);
  if (values & F_FLAGS) w.eg(next.flags, 0);
}

/** Fields from F_LC on in a full record (bytes). */
function writeRare(w: ByteWriter, q: QFlight, mask: number, ctx: WriteContext): void {
  if (mask & F_LC) w.svarint(ctx.base - q.lc);
  ctx.lc = q.lc;
  if (mask & F_TPOS) w.svarint(q.lc - q.tpos);
  if (mask & F_CALLSIGN) w.string(q.callsign!);
  if (mask & F_COUNTRY) w.uvarint(ctx.intern(q.country!));
  if (mask & F_SQUAWK) w.uvarint(q.squawk!);
  if (mask & F_CATEGORY) w.uvarint(q.category);
  if (mask & F_SOURCE) w.uvarint(ctx.intern(q.source!));
  if (mask & F_PSRC) w.uvarint(q.psrc);
  if (mask & F_FLAGS) w.uvarint(q.flags);
}

/** A track difference in [-1800, 1800). */
export function wrapTrack(d: number): number {
  if (d >= TRACK_UNITS / 2) return d - TRACK_UNITS;
  if (d < -TRACK_UNITS / 2) return d + TRACK_UNITS;
  return d;
}

/** The header of a snapshot or delta frame. */
export interface FrameHeader {
  seq: number;
  serverTimeMs: number;
  /**
   * Aircraft in the whole world. Omitted (sent as 0) in a delta when it is
   * the same as in the frame of seq - 1, and when unknown.
   */
  total?: number;
  /**
   * The last_contact (unix tenths of a second) that each segment's first
   * record is predicted to have: the segments must have been encoded with
   * it. Default: the time base T.
   */
  lc0?: number;
}

/** A snapshot or delta frame: the header, then the segments as they are. */
export function composeFrame(
  kind: typeof FRAME_SNAPSHOT | typeof FRAME_DELTA,
  header: FrameHeader,
  segments: readonly Uint8Array[],
): Uint8Array<ArrayBuffer> {
  let size = 0;
  for (const s of segments) size += s.length;
  const w = new ByteWriter(28 + size);
  w.byte(kind);
  w.uvarint(header.seq);
  w.uvarint(header.serverTimeMs);
  w.uvarint(header.total === undefined ? 0 : header.total + 1);
  w.svarint(timeBase(header.serverTimeMs) - (header.lc0 ?? timeBase(header.serverTimeMs)));
  w.uvarint(segments.length);
  for (const s of segments) w.bytes(s);
  return w.finish();
}

/** Any other message (hello, anomaly, alert, pong, error...): FRAME_GENERIC then its MessagePack. */
export function encodeGeneric(
  message: { type: string; [key: string]: unknown },
): Uint8Array<ArrayBuffer> {
  const body = msgpackEncoder.encode(message);
  const out = new Uint8Array(body.length + 1);
  out[0] = FRAME_GENERIC;
  out.set(body, 1);
  return out;
}
