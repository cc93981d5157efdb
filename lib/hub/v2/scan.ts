/**
 * Reading `skysentinel.v2.bin` frames (layout in docs/protocol.md): a
 * bounds-checked scan that reports records to a visitor without allocating
 * per aircraft, and the helpers that apply records to held state. Pure and
 * platform-free; the browser's Web Worker imports it.
 *
 * @module
 */
import { Decoder } from "@msgpack/msgpack";
import { ByteReader, FrameError } from "./wire.ts";
import { BitReader } from "./bits.ts";
import { LON_UNITS, type QFlight, TRACK_UNITS, wrapLon } from "./record.ts";
import {
  DELTA_BITS,
  F_ALT,
  F_CALLSIGN,
  F_CATEGORY,
  F_COUNTRY,
  F_FLAGS,
  F_GEO,
  F_HDG,
  F_LC,
  F_POS,
  F_PSRC,
  F_SOURCE,
  F_SPECIAL,
  F_SQUAWK,
  F_TPOS,
  F_VEL,
  F_VR,
  FRAME_DELTA,
  FRAME_GENERIC,
  FRAME_SNAPSHOT,
  ID_ORDER_BITS,
  K_ABS,
  K_ABS_POS,
  K_ACROSS,
  K_ALONG,
  K_ALT,
  K_GEO,
  K_HDG,
  K_LC,
  K_TPOS,
  K_VEL,
  K_VR,
  KNOWN_BITS,
  LAYOUT_REVISION,
  MASK_ESCAPE,
  MASK_TABLE,
  MAX_CALLSIGN_BYTES,
  MAX_TABLE_STRING_BYTES,
  NULLABLE_BITS,
  SEG_FULL,
  SEG_HEAD_SCALE,
  SEG_INDEXED,
  SEG_KNOWN,
  SEG_REMOVES,
  SEG_STRINGS,
  timeBase,
} from "./frame.ts";
import { climb, deadReckon, fromTrackFrame } from "./predict.ts";

const msgpackDecoder = new Decoder();

/**
 * One record as read, reused from record to record (no allocation per
 * aircraft). In a full record every value is absolute and fields outside
 * `mask` hold their defaults. In a change record the fields in `mask` are
 * residuals against the predictions of predict.ts (exact, in frame units;
 * the track wraps at 3600, the longitude at 36,000,000) unless in
 * `absMask`, or null when in `nullMask`; fields outside it take their
 * prediction ({@link applyChange}). `lc` and `tpos` are absolute in both.
 * A change record's position residual is `lat` along the predicted move and
 * `lon` across it (predict.ts `toTrackFrame`), unless absolute.
 */
export interface WireRecord {
  icao: number;
  mask: number;
  nullMask: number;
  absMask: number;
  lc: number;
  tpos: number;
  lat: number;
  lon: number;
  alt: number;
  geo: number;
  vel: number;
  hdg: number;
  vr: number;
  callsign: string | null;
  country: string | null;
  squawk: number;
  category: number;
  source: string | null;
  psrc: number;
  flags: number;
}

/** What {@link scanFrame} reports, in order: header, every remove, then records. */
export interface FrameVisitor {
  /**
   * A snapshot or delta header (`total`: aircraft in the whole world, null
   * when the frame does not say). Return false to skip the frame's contents.
   */
  header(
    kind: "snapshot" | "delta",
    seq: number,
    serverTimeMs: number,
    total: number | null,
  ): boolean | void;
  /** Removes of every segment come before any record, so an aircraft moving between tiles survives. */
  remove(icao: number): void;
  full(record: Readonly<WireRecord>): void;
  change(record: Readonly<WireRecord>): void;
  /**
   * icao24 of every aircraft held before this frame, ascending: asked (once,
   * before any remove) only for a frame whose change records are identified
   * by their index among them. A visitor without it refuses such frames.
   */
  held?(): ArrayLike<number>;
}

/** A decoded frame without state: generic messages as they are. */
export type ScannedFrame =
  | { kind: "snapshot" | "delta"; seq: number; serverTimeMs: number; total: number | null }
  | { kind: "message"; message: { type: string; [key: string]: unknown } };

function newRecord(): WireRecord {
  return {
    icao: 0,
    mask: 0,
    nullMask: 0,
    absMask: 0,
    lc: 0,
    tpos: 0,
    lat: 0,
    lon: 0,
    alt: 0,
    geo: 0,
    vel: 0,
    hdg: 0,
    vr: 0,
    callsign: null,
    country: null,
    squawk: 0,
    category: 0,
    source: null,
    psrc: 0,
    flags: 0,
  };
}

/**
 * Reads one server frame. Generic frames are returned decoded; snapshot and
 * delta frames are reported to `visitor` (removes first, then records in
 * segment order). The frame's structure (segment lengths, counts, trailing
 * bytes) is checked before the visitor sees anything, so a truncated frame
 * fails with a {@link FrameError} without a partial update; a corrupt segment
 * still throws part way.
 */
export function scanFrame(bytes: Uint8Array, visitor?: FrameVisitor): ScannedFrame {
  const r = new ByteReader(bytes);
  if (bytes.length === 0) throw new FrameError("empty frame", 0);
  const kind = r.byte();
  if (kind === FRAME_GENERIC) return { kind: "message", message: decodeGenericBody(bytes) };
  if (kind !== FRAME_SNAPSHOT && kind !== FRAME_DELTA) {
    const hex = `0x${kind.toString(16).padStart(2, "0")}`;
    const type = kind & 0x0f;
    if (type === 1 || type === 2) {
      throw new FrameError(
        `frame kind ${hex} is layout revision ${kind >> 4 || 1}; this decoder reads revision ` +
          `${LAYOUT_REVISION} (reload the page or upgrade the client)`,
        0,
      );
    }
    throw new FrameError(`unknown frame kind ${hex}`, 0);
  }
  const name = kind === FRAME_SNAPSHOT ? "snapshot" : "delta";
  const seq = r.uvarint();
  const serverTimeMs = r.uvarint();
  const totalCode = r.uvarint();
  const total = totalCode === 0 ? null : totalCode - 1;
  const lc0Offset = r.svarint();
  const nSegments = r.count("segment");
  // Per segment: where its contents start and end, and its contents bits.
  const segs: number[] = [];
  for (let i = 0; i < nSegments; i++) {
    const at = r.pos;
    const head = r.uvarint();
    const len = Math.floor(head / SEG_HEAD_SCALE);
    const contents = head % SEG_HEAD_SCALE ? r.byte() : 0;
    if (contents & ~SEG_KNOWN) {
      throw new FrameError(`unknown segment contents bits 0x${contents.toString(16)}`, at);
    }
    if (len > r.end - r.pos) {
      throw new FrameError(`segment ${i} of ${len} bytes runs past the end (truncated)`, at);
    }
    if (kind === FRAME_SNAPSHOT && (contents & (SEG_REMOVES | SEG_INDEXED))) {
      throw new FrameError("a snapshot segment has removes or change records", at);
    }
    if ((contents & SEG_INDEXED) && nSegments !== 1) {
      throw new FrameError("indexed change records in a frame of several segments", at);
    }
    segs.push(r.pos, r.pos + len, contents);
    r.pos += len;
  }
  if (!r.done) throw new FrameError(`${r.end - r.pos} trailing bytes`, r.pos);
  const result: ScannedFrame = { kind: name, seq, serverTimeMs, total };
  if (!visitor || visitor.header(name, seq, serverTimeMs, total) === false) return result;
  const base = timeBase(serverTimeMs);
  const rec = newRecord();
  let held: ArrayLike<number> | null = null;
  if (nSegments === 1 && (segs[2]! & SEG_INDEXED)) {
    if (!visitor.held) throw new FrameError("indexed change records need the held aircraft", 0);
    held = visitor.held();
  }
  const tables: string[][] = [];
  const bodies: number[] = [];
  // Pass 1: string tables and removes of every segment.
  for (let i = 0; i < nSegments; i++) {
    const seg = new ByteReader(bytes, segs[3 * i]!, segs[3 * i + 1]!);
    const contents = segs[3 * i + 2]!;
    const table: string[] = [];
    if (contents & SEG_STRINGS) {
      const nStrings = seg.count("string table");
      for (let k = 0; k < nStrings; k++) table.push(seg.string(MAX_TABLE_STRING_BYTES));
    }
    tables.push(table);
    if (contents & SEG_REMOVES) {
      const nRemoves = seg.count("remove");
      let icao = 0;
      for (let k = 0; k < nRemoves; k++) {
        icao = nextIcao(seg, icao, k);
        visitor.remove(icao);
      }
    }
    bodies.push(seg.pos);
  }
  // Pass 2: full records, then change records (to the segment's end), segment by segment.
  for (let i = 0; i < nSegments; i++) {
    const seg = new ByteReader(bytes, bodies[i]!, segs[3 * i + 1]!);
    const c: RecordContext = { icao: 0, base, lc: base - lc0Offset, table: tables[i]! };
    if (segs[3 * i + 2]! & SEG_FULL) {
      const nFull = seg.count("full record", 4);
      for (let k = 0; k < nFull; k++) {
        c.icao = nextIcao(seg, c.icao, k);
        readFull(seg, rec, c);
        visitor.full(rec);
      }
    }
    if (!seg.done && kind === FRAME_SNAPSHOT) {
      throw new FrameError("a snapshot segment has change records", seg.pos);
    }
    if (!seg.done) readChanges(seg, held, rec, c, visitor);
  }
  return result;
}

const bitReader = new BitReader(new Uint8Array(0), 0, 0);

function readOrder(b: BitReader): number {
  const at = b.pos;
  const order = b.bits(ID_ORDER_BITS);
  if (order > 23) throw new FrameError(`identifier order ${order} above 23`, at);
  return order;
}

/**
 * The change records of a segment (its bytes from `r.pos` to its end): a
 * bit stream (identifier order, then each record's identifier, mask and
 * values) zero-padded to the segment's end. Records follow while 8 bits or
 * more are left: every record takes at least 8 (docs/protocol.md), and the
 * padding fewer.
 */
function readChanges(
  r: ByteReader,
  held: ArrayLike<number> | null,
  rec: WireRecord,
  c: RecordContext,
  visitor: FrameVisitor,
): void {
  const at = r.pos;
  const b = bitReader;
  b.reset(r.bytes, r.pos, r.end);
  // The identifiers' order: first when indexed, else just before the second record.
  let order = held ? readOrder(b) : 0;
  let last = -1;
  for (let k = 0; (b.end - b.pos) * 8 - b.bit >= 8; k++) {
    const idAt = b.pos;
    let id: number;
    if (k === 1 && !held) order = readOrder(b);
    if (last >= 0) id = last + 1 + b.eg(order);
    else id = held ? b.eg(order) : b.bits(24);
    last = id;
    if (held) {
      if (id >= held.length) {
        throw new FrameError(
          `change record index ${id} past the ${held.length} held aircraft`,
          idAt,
        );
      }
      c.icao = held[id]!;
    } else {
      if (id > 0xffffff) throw new FrameError(`icao24 ${id} exceeds 24 bits`, idAt);
      c.icao = id;
    }
    readChange(b, rec, c);
    visitor.change(rec);
  }
  if (last < 0) throw new FrameError("change records part without a record", at);
  b.finish();
  r.pos = r.end;
}

function nextIcao(r: ByteReader, last: number, k: number): number {
  const at = r.pos;
  const gap = r.uvarint();
  if (k > 0 && gap === 0) throw new FrameError("icao24 not in ascending order", at);
  const icao = last + gap;
  if (icao > 0xffffff) throw new FrameError(`icao24 ${icao} exceeds 24 bits`, at);
  return icao;
}

function readMask(r: ByteReader): number {
  const at = r.pos;
  const mask = r.uvarint();
  if (mask > KNOWN_BITS) {
    throw new FrameError(`unknown field bits 0x${mask.toString(16)} (newer protocol?)`, at);
  }
  return mask;
}

interface RecordContext {
  icao: number;
  base: number;
  /** last_contact of the previous record in the segment (the first: the frame's lc0). */
  lc: number;
  table: string[];
}

function readFull(r: ByteReader, rec: WireRecord, c: RecordContext): void {
  const at = r.pos;
  const mask = readMask(r);
  if (!(mask & F_POS)) throw new FrameError("a full record without position", at);
  if (mask & F_SPECIAL) throw new FrameError("a full record with null/absolute masks", at);
  rec.icao = c.icao;
  rec.mask = mask;
  rec.nullMask = 0;
  rec.absMask = 0;
  rec.lat = r.svarint();
  rec.lon = r.svarint();
  if (rec.lat < -9_000_000 || rec.lat > 9_000_000) {
    throw new FrameError("latitude out of range", at);
  }
  if (rec.lon < -LON_UNITS / 2 || rec.lon >= LON_UNITS / 2) {
    throw new FrameError("longitude out of range", at);
  }
  rec.alt = mask & F_ALT ? r.svarint() : 0;
  rec.geo = mask & F_GEO ? r.svarint() : 0;
  rec.vel = mask & F_VEL ? r.svarint() : 0;
  rec.hdg = mask & F_HDG ? r.uvarint() : 0;
  if (rec.hdg >= TRACK_UNITS) throw new FrameError("track out of range", at);
  rec.vr = mask & F_VR ? r.svarint() : 0;
  readRare(r, rec, mask, c);
  if (!(mask & F_CALLSIGN)) rec.callsign = null;
  if (!(mask & F_COUNTRY)) rec.country = null;
  if (!(mask & F_SQUAWK)) rec.squawk = 0;
  if (!(mask & F_CATEGORY)) rec.category = 0;
  if (!(mask & F_SOURCE)) rec.source = null;
  if (!(mask & F_PSRC)) rec.psrc = 0;
  if (!(mask & F_FLAGS)) rec.flags = 0;
}

function readChange(r: BitReader, rec: WireRecord, c: RecordContext): void {
  const at = r.pos;
  const code = r.eg(0);
  let mask: number;
  if (code < MASK_ESCAPE) mask = MASK_TABLE[code]!;
  else if (code === MASK_ESCAPE) mask = r.bits(16);
  else throw new FrameError(`mask code ${code} past the table`, at);
  rec.icao = c.icao;
  rec.mask = mask & ~F_SPECIAL;
  rec.nullMask = 0;
  rec.absMask = 0;
  if (mask & F_SPECIAL) {
    rec.nullMask = r.eg(0);
    rec.absMask = r.eg(0);
    if ((rec.nullMask & ~NULLABLE_BITS) || (rec.nullMask & ~mask)) {
      throw new FrameError("bad null mask", at);
    }
    if ((rec.absMask & ~DELTA_BITS) || (rec.absMask & ~mask) || (rec.absMask & rec.nullMask)) {
      throw new FrameError("bad absolute mask", at);
    }
  }
  const abs = rec.absMask;
  if (mask & F_POS) {
    if (abs & F_POS) {
      rec.lat = r.seg(K_ABS_POS);
      rec.lon = r.seg(K_ABS_POS);
      if (rec.lat < -9_000_000 || rec.lat > 9_000_000) {
        throw new FrameError("latitude out of range", at);
      }
      if (rec.lon < -LON_UNITS / 2 || rec.lon >= LON_UNITS / 2) {
        throw new FrameError("longitude out of range", at);
      }
    } else {
      rec.lat = r.seg(K_ALONG);
      rec.lon = r.seg(K_ACROSS);
    }
  } else {
    rec.lat = 0;
    rec.lon = 0;
  }
  const values = mask & ~rec.nullMask;
  rec.alt = values & F_ALT ? r.seg(abs & F_ALT ? K_ABS : K_ALT) : 0;
  rec.geo = values & F_GEO ? r.seg(abs & F_GEO ? K_ABS : K_GEO) : 0;
  rec.vel = values & F_VEL ? r.seg(abs & F_VEL ? K_ABS : K_VEL) : 0;
  rec.hdg = values & F_HDG ? r.seg(abs & F_HDG ? K_ABS : K_HDG) : 0;
  if ((abs & F_HDG) && (rec.hdg < 0 || rec.hdg >= TRACK_UNITS)) {
    throw new FrameError("track out of range", at);
  }
  rec.vr = values & F_VR ? r.seg(abs & F_VR ? K_ABS : K_VR) : 0;
  rec.lc = values & F_LC ? c.base - r.seg(K_LC) : c.lc;
  c.lc = rec.lc;
  rec.tpos = values & F_TPOS ? rec.lc - r.seg(K_TPOS) : rec.lc;
  if (values & F_CALLSIGN) rec.callsign = r.string(MAX_CALLSIGN_BYTES);
  if (values & F_COUNTRY) rec.country = tableIndex(r.eg(0), c.table, at);
  if (values & F_SQUAWK) rec.squawk = r.bits(12);
  if (values & F_CATEGORY) {
    rec.category = r.eg(0);
    if (rec.category > 20) throw new FrameError("category out of range", at);
  }
  if (values & F_SOURCE) rec.source = tableIndex(r.eg(0), c.table, at);
  if (values & F_PSRC) rec.psrc = r.bits(2);
  if (values & F_FLAGS) rec.flags = r.eg(0);
}

function tableIndex(i: number, table: string[], at: number): string {
  const s = table[i];
  if (s === undefined) throw new FrameError(`string index ${i} not in the segment's table`, at);
  return s;
}

/** last_contact, time_position and the rarely changing fields, shared by full and change records. */
function readRare(r: ByteReader, rec: WireRecord, mask: number, c: RecordContext): void {
  const at = r.pos;
  rec.lc = mask & F_LC ? c.base - r.svarint() : c.lc;
  c.lc = rec.lc;
  rec.tpos = mask & F_TPOS ? rec.lc - r.svarint() : rec.lc;
  if (mask & F_CALLSIGN) rec.callsign = r.string(MAX_CALLSIGN_BYTES);
  if (mask & F_COUNTRY) rec.country = tableString(r, c.table);
  if (mask & F_SQUAWK) {
    rec.squawk = r.uvarint();
    if (rec.squawk > 0o7777) throw new FrameError("squawk out of range", at);
  }
  if (mask & F_CATEGORY) {
    rec.category = r.uvarint();
    if (rec.category > 20) throw new FrameError("category out of range", at);
  }
  if (mask & F_SOURCE) rec.source = tableString(r, c.table);
  if (mask & F_PSRC) {
    rec.psrc = r.uvarint();
    if (rec.psrc > 3) throw new FrameError("position_source out of range", at);
  }
  if (mask & F_FLAGS) rec.flags = r.uvarint();
}

function tableString(r: ByteReader, table: string[]): string {
  const at = r.pos;
  const i = r.uvarint();
  const s = table[i];
  if (s === undefined) throw new FrameError(`string index ${i} not in the segment's table`, at);
  return s;
}

function decodeGenericBody(bytes: Uint8Array): { type: string; [key: string]: unknown } {
  let value: unknown;
  try {
    value = msgpackDecoder.decode(bytes.subarray(1));
  } catch (error) {
    throw new FrameError(`generic body is not MessagePack: ${(error as Error).message}`, 1);
  }
  if (
    typeof value !== "object" || value === null || Array.isArray(value) ||
    typeof (value as { type?: unknown }).type !== "string"
  ) throw new FrameError("generic body is not an object with a type", 1);
  return value as { type: string };
}

/** A full record as a new QFlight. */
export function fullToQ(rec: Readonly<WireRecord>): QFlight {
  const m = rec.mask;
  return {
    icao: rec.icao,
    lat: rec.lat,
    lon: rec.lon,
    alt: m & F_ALT ? rec.alt : null,
    geo: m & F_GEO ? rec.geo : null,
    vel: m & F_VEL ? rec.vel : null,
    hdg: m & F_HDG ? rec.hdg : null,
    vr: m & F_VR ? rec.vr : null,
    tpos: rec.tpos,
    lc: rec.lc,
    callsign: rec.callsign,
    country: rec.country,
    squawk: m & F_SQUAWK ? rec.squawk : null,
    category: rec.category,
    source: rec.source,
    psrc: rec.psrc,
    flags: rec.flags,
  };
}

const move: [number, number] = [0, 0];
const residual: [number, number] = [0, 0];

/**
 * Applies a change record to the state the client holds, in place: every
 * field takes its prediction (predict.ts) plus the record's residual, or the
 * record's absolute value, or null. Throws {@link FrameError} when a
 * residual applies to a null field or the result is out of range (client
 * and server disagree: resync).
 */
export function applyChange(q: QFlight, rec: Readonly<WireRecord>): void {
  const m = rec.mask;
  const nulls = rec.nullMask;
  const abs = rec.absMask;
  // Predictions read the held state, so they come first.
  deadReckon(q, rec.tpos - q.tpos, move);
  const dLc = rec.lc - q.lc;
  const climbBy = climb(q.vr, dLc);
  const heldAlt = q.alt;
  if ((m & F_POS) && (abs & F_POS)) {
    q.lat = rec.lat;
    q.lon = rec.lon;
  } else if (m & F_POS) {
    // The residual is in the frame of the predicted move (predict.ts).
    fromTrackFrame(move[0], move[1], rec.lat, rec.lon, residual);
    q.lat += move[0] + residual[0];
    q.lon = wrapLon(wrapLon(q.lon + move[1]) + residual[1]);
  } else {
    q.lat += move[0];
    q.lon = wrapLon(q.lon + move[1]);
  }
  if (q.lat < -9_000_000 || q.lat > 9_000_000) {
    throw new FrameError(`latitude out of range after a change (${rec.icao})`, 0);
  }
  q.lc = rec.lc;
  q.tpos = rec.tpos;
  q.alt = field(q.alt, q.alt === null ? 0 : q.alt + climbBy, F_ALT, rec, rec.alt);
  const geoStep = heldAlt !== null && q.alt !== null ? q.alt - heldAlt : 0;
  q.geo = field(q.geo, q.geo === null ? 0 : q.geo + geoStep, F_GEO, rec, rec.geo);
  q.vel = field(q.vel, q.vel ?? 0, F_VEL, rec, rec.vel);
  if (m & F_HDG) {
    if (nulls & F_HDG) q.hdg = null;
    else if (abs & F_HDG) q.hdg = rec.hdg;
    else {
      if (q.hdg === null) throw new FrameError(`track delta on a null track (${rec.icao})`, 0);
      q.hdg = (((q.hdg + rec.hdg) % TRACK_UNITS) + TRACK_UNITS) % TRACK_UNITS;
    }
  }
  q.vr = field(q.vr, q.vr ?? 0, F_VR, rec, rec.vr);
  if (m & F_CALLSIGN) q.callsign = nulls & F_CALLSIGN ? null : rec.callsign;
  if (m & F_COUNTRY) q.country = nulls & F_COUNTRY ? null : rec.country;
  if (m & F_SQUAWK) q.squawk = nulls & F_SQUAWK ? null : rec.squawk;
  if (m & F_CATEGORY) q.category = rec.category;
  if (m & F_SOURCE) q.source = nulls & F_SOURCE ? null : rec.source;
  if (m & F_PSRC) q.psrc = rec.psrc;
  if (m & F_FLAGS) q.flags = rec.flags;
}

/** A nullable field after a change: its prediction, plus the residual, absolute, or null. */
function field(
  held: number | null,
  predicted: number,
  bit: number,
  rec: Readonly<WireRecord>,
  value: number,
): number | null {
  if (!(rec.mask & bit)) return held === null ? null : predicted;
  if (rec.nullMask & bit) return null;
  if (rec.absMask & bit) return value;
  if (held === null) throw new FrameError(`delta on a null field (${rec.icao})`, 0);
  return predicted + value;
}
