/**
 * Frames of `skysentinel.v2.bin` (layout in docs/protocol.md): encoding of
 * tile segments and frames on the server, scanning and decoding on the
 * client. Pure and platform-free; the browser's Web Worker imports it.
 *
 * A snapshot or delta frame is a header followed by segments; a segment is
 * self-contained (its own string table and counts, its byte length first)
 * and depends only on the tick, so the hub encodes each tile's segment once
 * per tick and a client's frame is the header plus the segments of its tiles,
 * concatenated.
 *
 * @module
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import { ByteReader, ByteWriter, FrameError } from "./wire.ts";
import { LON_UNITS, type QFlight, TRACK_UNITS, wrapLon } from "./record.ts";

/** First byte of every frame. */
export const FRAME_GENERIC = 0x00;
export const FRAME_SNAPSHOT = 0x01;
export const FRAME_DELTA = 0x02;

/** Field bits of a record's mask, in the order their values follow. */
export const F_POS = 1 << 0;
export const F_ALT = 1 << 1;
export const F_GEO = 1 << 2;
export const F_VEL = 1 << 3;
export const F_HDG = 1 << 4;
export const F_VR = 1 << 5;
export const F_TPOS = 1 << 6;
export const F_CALLSIGN = 1 << 7;
export const F_COUNTRY = 1 << 8;
export const F_SQUAWK = 1 << 9;
export const F_CATEGORY = 1 << 10;
export const F_SOURCE = 1 << 11;
export const F_PSRC = 1 << 12;
export const F_FLAGS = 1 << 13;
/** Change records only: a null mask and an absolute mask follow the mask. */
export const F_SPECIAL = 1 << 14;
const KNOWN_BITS = (1 << 15) - 1;
/** Fields that may become null (bits allowed in the null mask). */
export const NULLABLE_BITS = F_ALT | F_GEO | F_VEL | F_HDG | F_VR | F_CALLSIGN | F_COUNTRY |
  F_SQUAWK | F_SOURCE;
/** Fields sent as a delta in change records unless in the absolute mask. */
export const DELTA_BITS = F_POS | F_ALT | F_GEO | F_VEL | F_HDG | F_VR;

/** Longest callsign, UTF-8 bytes (8 characters). */
const MAX_CALLSIGN_BYTES = 32;
/** Longest string table entry (origin_country, source), UTF-8 bytes. */
const MAX_TABLE_STRING_BYTES = 256;

const msgpackEncoder = new Encoder();
const msgpackDecoder = new Decoder();

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

/** The mask of fields that differ between `prev` and `next` (F_TPOS when time_position moved). */
export function changedMask(prev: QFlight, next: QFlight): number {
  let m = 0;
  if (prev.lat !== next.lat || prev.lon !== next.lon) m |= F_POS;
  if (prev.alt !== next.alt) m |= F_ALT;
  if (prev.geo !== next.geo) m |= F_GEO;
  if (prev.vel !== next.vel) m |= F_VEL;
  if (prev.hdg !== next.hdg) m |= F_HDG;
  if (prev.vr !== next.vr) m |= F_VR;
  if (prev.tpos !== next.tpos) m |= F_TPOS;
  if (prev.callsign !== next.callsign) m |= F_CALLSIGN;
  if (prev.country !== next.country) m |= F_COUNTRY;
  if (prev.squawk !== next.squawk) m |= F_SQUAWK;
  if (prev.category !== next.category) m |= F_CATEGORY;
  if (prev.source !== next.source) m |= F_SOURCE;
  if (prev.psrc !== next.psrc) m |= F_PSRC;
  if (prev.flags !== next.flags) m |= F_FLAGS;
  return m;
}

const byIcao = (a: { icao: number }, b: { icao: number }) => a.icao - b.icao;

/**
 * One segment: removes (icao24 integers), full records and change records,
 * times relative to `base` ({@link timeBase} of the frame it goes in).
 * Returns the segment with its length prefix, ready to concatenate.
 * Change records where nothing differs (last_contact included) are left out.
 */
export function encodeSegment(
  removes: readonly number[],
  full: readonly QFlight[],
  options: { changes?: readonly Change[]; base: number },
): Uint8Array<ArrayBuffer> {
  const base = options.base;
  const table = new Map<string, number>();
  const intern = (s: string) => {
    let i = table.get(s);
    if (i === undefined) table.set(s, i = table.size);
    return i;
  };
  const body = new ByteWriter(64 + full.length * 24 + (options.changes?.length ?? 0) * 12);
  const removeList = [...removes].sort((a, b) => a - b);
  body.uvarint(removeList.length);
  let last = 0;
  for (const icao of removeList) {
    body.uvarint(icao - last);
    last = icao;
  }
  const fullList = [...full].sort(byIcao);
  body.uvarint(fullList.length);
  last = 0;
  for (const q of fullList) {
    body.uvarint(q.icao - last);
    last = q.icao;
    writeFull(body, q, base, intern);
  }
  const changeList: { icao: number; c: Change; mask: number }[] = [];
  for (const c of options.changes ?? []) {
    const mask = changedMask(c.prev, c.next);
    if (mask !== 0 || c.prev.lc !== c.next.lc) changeList.push({ icao: c.next.icao, c, mask });
  }
  changeList.sort(byIcao);
  body.uvarint(changeList.length);
  last = 0;
  for (const { icao, c, mask } of changeList) {
    body.uvarint(icao - last);
    last = icao;
    writeChange(body, c.prev, c.next, { mask, base, intern });
  }
  const head = new ByteWriter(16 + table.size * 16);
  for (const s of table.keys()) head.string(s);
  const tableBytes = head.finish();
  const bodyBytes = body.finish();
  const out = new ByteWriter(10 + tableBytes.length + bodyBytes.length);
  const tableCount = new ByteWriter(4);
  tableCount.uvarint(table.size);
  const countBytes = tableCount.finish();
  out.uvarint(countBytes.length + tableBytes.length + bodyBytes.length);
  out.bytes(countBytes);
  out.bytes(tableBytes);
  out.bytes(bodyBytes);
  return out.finish();
}

function writeFull(w: ByteWriter, q: QFlight, base: number, intern: (s: string) => number): void {
  let mask = F_POS;
  if (q.alt !== null) mask |= F_ALT;
  if (q.geo !== null) mask |= F_GEO;
  if (q.vel !== null) mask |= F_VEL;
  if (q.hdg !== null) mask |= F_HDG;
  if (q.vr !== null) mask |= F_VR;
  if (q.tpos !== q.lc) mask |= F_TPOS;
  if (q.callsign !== null) mask |= F_CALLSIGN;
  if (q.country !== null) mask |= F_COUNTRY;
  if (q.squawk !== null) mask |= F_SQUAWK;
  if (q.category !== 0) mask |= F_CATEGORY;
  if (q.source !== null) mask |= F_SOURCE;
  if (q.psrc !== 0) mask |= F_PSRC;
  if (q.flags !== 0) mask |= F_FLAGS;
  w.uvarint(mask);
  w.svarint(base - q.lc);
  w.svarint(q.lat);
  w.svarint(q.lon);
  if (mask & F_ALT) w.svarint(q.alt!);
  if (mask & F_GEO) w.svarint(q.geo!);
  if (mask & F_VEL) w.svarint(q.vel!);
  if (mask & F_HDG) w.uvarint(q.hdg!);
  if (mask & F_VR) w.svarint(q.vr!);
  writeRare(w, q, mask, intern);
}

function writeChange(
  w: ByteWriter,
  prev: QFlight,
  next: QFlight,
  o: { mask: number; base: number; intern: (s: string) => number },
): void {
  let mask = o.mask;
  let nulls = 0;
  let abs = 0;
  const fields: [number, number | null, number | null][] = [
    [F_ALT, prev.alt, next.alt],
    [F_GEO, prev.geo, next.geo],
    [F_VEL, prev.vel, next.vel],
    [F_HDG, prev.hdg, next.hdg],
    [F_VR, prev.vr, next.vr],
  ];
  for (const [bit, p, n] of fields) {
    if (!(mask & bit)) continue;
    if (n === null) nulls |= bit;
    else if (p === null) abs |= bit;
  }
  if ((mask & F_CALLSIGN) && next.callsign === null) nulls |= F_CALLSIGN;
  if ((mask & F_COUNTRY) && next.country === null) nulls |= F_COUNTRY;
  if ((mask & F_SQUAWK) && next.squawk === null) nulls |= F_SQUAWK;
  if ((mask & F_SOURCE) && next.source === null) nulls |= F_SOURCE;
  if (nulls || abs) mask |= F_SPECIAL;
  w.uvarint(mask);
  if (mask & F_SPECIAL) {
    w.uvarint(nulls);
    w.uvarint(abs);
  }
  w.svarint(o.base - next.lc);
  if (mask & F_POS) {
    w.svarint(next.lat - prev.lat);
    w.svarint(wrapLon(next.lon - prev.lon));
  }
  for (const [bit, p, n] of fields) {
    if (!(mask & bit) || (nulls & bit)) continue;
    if (abs & bit) {
      if (bit === F_HDG) w.uvarint(n!);
      else w.svarint(n!);
    } else if (bit === F_HDG) w.svarint(wrapTrack(n! - p!));
    else w.svarint(n! - p!);
  }
  writeRare(w, next, mask & ~nulls, o.intern);
}

/** Fields from F_TPOS on, shared by full and change records. */
function writeRare(w: ByteWriter, q: QFlight, mask: number, intern: (s: string) => number): void {
  if (mask & F_TPOS) w.svarint(q.lc - q.tpos);
  if (mask & F_CALLSIGN) w.string(q.callsign!);
  if (mask & F_COUNTRY) w.uvarint(intern(q.country!));
  if (mask & F_SQUAWK) w.uvarint(q.squawk!);
  if (mask & F_CATEGORY) w.uvarint(q.category);
  if (mask & F_SOURCE) w.uvarint(intern(q.source!));
  if (mask & F_PSRC) w.uvarint(q.psrc);
  if (mask & F_FLAGS) w.uvarint(q.flags);
}

/** A track difference in [-1800, 1800). */
function wrapTrack(d: number): number {
  if (d >= TRACK_UNITS / 2) return d - TRACK_UNITS;
  if (d < -TRACK_UNITS / 2) return d + TRACK_UNITS;
  return d;
}

/** A snapshot or delta frame: the header, then the segments as they are. */
export function composeFrame(
  kind: typeof FRAME_SNAPSHOT | typeof FRAME_DELTA,
  header: { seq: number; serverTimeMs: number },
  segments: readonly Uint8Array[],
): Uint8Array<ArrayBuffer> {
  let size = 0;
  for (const s of segments) size += s.length;
  const w = new ByteWriter(24 + size);
  w.byte(kind);
  w.uvarint(header.seq);
  w.uvarint(header.serverTimeMs);
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

// --- decoding ------------------------------------------------------------------------

/**
 * One record as read, reused from record to record (no allocation per
 * aircraft). In a full record every value is absolute and fields outside
 * `mask` hold their defaults. In a change record the fields in `mask` are
 * deltas (exact differences in frame units; the track wraps at 3600, the
 * longitude at 36,000,000) unless in `absMask`, or null when in `nullMask`.
 * `lc` and, when F_TPOS is in the mask, `tpos` are absolute in both.
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
  /** A snapshot or delta header. Return false to skip the frame's contents. */
  header(kind: "snapshot" | "delta", seq: number, serverTimeMs: number): boolean | void;
  /** Removes of every segment come before any record, so an aircraft moving between tiles survives. */
  remove(icao: number): void;
  full(record: Readonly<WireRecord>): void;
  change(record: Readonly<WireRecord>): void;
}

/** A decoded frame without state: generic messages as they are. */
export type ScannedFrame =
  | { kind: "snapshot" | "delta"; seq: number; serverTimeMs: number }
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
    throw new FrameError(`unknown frame kind 0x${kind.toString(16).padStart(2, "0")}`, 0);
  }
  const name = kind === FRAME_SNAPSHOT ? "snapshot" : "delta";
  const seq = r.uvarint();
  const serverTimeMs = r.uvarint();
  const nSegments = r.count("segment");
  const starts: number[] = [];
  for (let i = 0; i < nSegments; i++) {
    const at = r.pos;
    const len = r.uvarint();
    if (len > r.end - r.pos) {
      throw new FrameError(`segment ${i} of ${len} bytes runs past the end (truncated)`, at);
    }
    starts.push(r.pos, r.pos + len);
    r.pos += len;
  }
  if (!r.done) throw new FrameError(`${r.end - r.pos} trailing bytes`, r.pos);
  const result: ScannedFrame = { kind: name, seq, serverTimeMs };
  if (!visitor || visitor.header(name, seq, serverTimeMs) === false) return result;
  const base = timeBase(serverTimeMs);
  const rec = newRecord();
  const tables: string[][] = [];
  const bodies: number[] = [];
  // Pass 1: string tables and removes of every segment.
  for (let i = 0; i < nSegments; i++) {
    const seg = new ByteReader(bytes, starts[2 * i]!, starts[2 * i + 1]!);
    const nStrings = seg.count("string table");
    const table: string[] = [];
    for (let k = 0; k < nStrings; k++) table.push(seg.string(MAX_TABLE_STRING_BYTES));
    tables.push(table);
    const nRemoves = seg.count("remove");
    if (nRemoves > 0 && kind === FRAME_SNAPSHOT) {
      throw new FrameError("a snapshot segment has removes", seg.pos);
    }
    let icao = 0;
    for (let k = 0; k < nRemoves; k++) {
      icao = nextIcao(seg, icao, k);
      visitor.remove(icao);
    }
    bodies.push(seg.pos);
  }
  // Pass 2: full records, then change records, segment by segment.
  for (let i = 0; i < nSegments; i++) {
    const seg = new ByteReader(bytes, bodies[i]!, starts[2 * i + 1]!);
    const table = tables[i]!;
    const nFull = seg.count("full record", 3);
    let icao = 0;
    for (let k = 0; k < nFull; k++) {
      icao = nextIcao(seg, icao, k);
      readFull(seg, rec, { icao, base, table });
      visitor.full(rec);
    }
    const nChange = seg.count("change record", 3);
    if (nChange > 0 && kind === FRAME_SNAPSHOT) {
      throw new FrameError("a snapshot segment has change records", seg.pos);
    }
    icao = 0;
    for (let k = 0; k < nChange; k++) {
      icao = nextIcao(seg, icao, k);
      readChange(seg, rec, { icao, base, table });
      visitor.change(rec);
    }
    if (!seg.done) {
      throw new FrameError(`segment ${i} has ${seg.end - seg.pos} extra bytes`, seg.pos);
    }
  }
  return result;
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
  rec.lc = c.base - r.svarint();
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
  readRare(r, rec, mask, c.table);
  if (!(mask & F_TPOS)) rec.tpos = rec.lc;
  if (!(mask & F_CALLSIGN)) rec.callsign = null;
  if (!(mask & F_COUNTRY)) rec.country = null;
  if (!(mask & F_SQUAWK)) rec.squawk = 0;
  if (!(mask & F_CATEGORY)) rec.category = 0;
  if (!(mask & F_SOURCE)) rec.source = null;
  if (!(mask & F_PSRC)) rec.psrc = 0;
  if (!(mask & F_FLAGS)) rec.flags = 0;
}

function readChange(r: ByteReader, rec: WireRecord, c: RecordContext): void {
  const at = r.pos;
  const mask = readMask(r);
  rec.icao = c.icao;
  rec.mask = mask & ~F_SPECIAL;
  rec.nullMask = 0;
  rec.absMask = 0;
  if (mask & F_SPECIAL) {
    rec.nullMask = r.uvarint();
    rec.absMask = r.uvarint();
    if ((rec.nullMask & ~NULLABLE_BITS) || (rec.nullMask & ~mask)) {
      throw new FrameError("bad null mask", at);
    }
    if ((rec.absMask & ~DELTA_BITS) || (rec.absMask & ~mask) || (rec.absMask & rec.nullMask)) {
      throw new FrameError("bad absolute mask", at);
    }
  }
  rec.lc = c.base - r.svarint();
  if (mask & F_POS) {
    rec.lat = r.svarint();
    rec.lon = r.svarint();
  }
  const values = mask & ~rec.nullMask;
  if (values & F_ALT) rec.alt = r.svarint();
  if (values & F_GEO) rec.geo = r.svarint();
  if (values & F_VEL) rec.vel = r.svarint();
  if (values & F_HDG) rec.hdg = rec.absMask & F_HDG ? r.uvarint() : r.svarint();
  if (values & F_VR) rec.vr = r.svarint();
  readRare(r, rec, values, c.table);
}

function readRare(r: ByteReader, rec: WireRecord, mask: number, table: string[]): void {
  const at = r.pos;
  if (mask & F_TPOS) rec.tpos = rec.lc - r.svarint();
  if (mask & F_CALLSIGN) rec.callsign = r.string(MAX_CALLSIGN_BYTES);
  if (mask & F_COUNTRY) rec.country = tableString(r, table);
  if (mask & F_SQUAWK) {
    rec.squawk = r.uvarint();
    if (rec.squawk > 0o7777) throw new FrameError("squawk out of range", at);
  }
  if (mask & F_CATEGORY) {
    rec.category = r.uvarint();
    if (rec.category > 20) throw new FrameError("category out of range", at);
  }
  if (mask & F_SOURCE) rec.source = tableString(r, table);
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

/**
 * Applies a change record to the state the client holds, in place. Throws
 * {@link FrameError} when a delta applies to a null field (client and server
 * disagree: resync).
 */
export function applyChange(q: QFlight, rec: Readonly<WireRecord>): void {
  const m = rec.mask;
  const nulls = rec.nullMask;
  const abs = rec.absMask;
  q.lc = rec.lc;
  if (m & F_POS) {
    if (abs & F_POS) {
      q.lat = rec.lat;
      q.lon = rec.lon;
    } else {
      q.lat += rec.lat;
      q.lon = wrapLon(q.lon + rec.lon);
    }
  }
  q.alt = field(q.alt, rec.alt, F_ALT, rec);
  q.geo = field(q.geo, rec.geo, F_GEO, rec);
  q.vel = field(q.vel, rec.vel, F_VEL, rec);
  if (m & F_HDG) {
    if (nulls & F_HDG) q.hdg = null;
    else if (abs & F_HDG) q.hdg = rec.hdg;
    else {
      if (q.hdg === null) throw new FrameError(`track delta on a null track (${rec.icao})`, 0);
      q.hdg = (q.hdg + rec.hdg + TRACK_UNITS) % TRACK_UNITS;
    }
  }
  q.vr = field(q.vr, rec.vr, F_VR, rec);
  if (m & F_TPOS) q.tpos = rec.tpos;
  if (m & F_CALLSIGN) q.callsign = nulls & F_CALLSIGN ? null : rec.callsign;
  if (m & F_COUNTRY) q.country = nulls & F_COUNTRY ? null : rec.country;
  if (m & F_SQUAWK) q.squawk = nulls & F_SQUAWK ? null : rec.squawk;
  if (m & F_CATEGORY) q.category = rec.category;
  if (m & F_SOURCE) q.source = nulls & F_SOURCE ? null : rec.source;
  if (m & F_PSRC) q.psrc = rec.psrc;
  if (m & F_FLAGS) q.flags = rec.flags;
}

function field(
  held: number | null,
  value: number,
  bit: number,
  rec: Readonly<WireRecord>,
): number | null {
  if (!(rec.mask & bit)) return held;
  if (rec.nullMask & bit) return null;
  if (rec.absMask & bit) return value;
  if (held === null) throw new FrameError(`delta on a null field (${rec.icao})`, 0);
  return held + value;
}
