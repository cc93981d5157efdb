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
import { type QFlight, TRACK_UNITS, wrapLon } from "./record.ts";

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
/** Every mask bit this version knows. */
export const KNOWN_BITS = (1 << 15) - 1;
/** Fields that may become null (bits allowed in the null mask). */
export const NULLABLE_BITS = F_ALT | F_GEO | F_VEL | F_HDG | F_VR | F_CALLSIGN | F_COUNTRY |
  F_SQUAWK | F_SOURCE;
/** Fields sent as a delta in change records unless in the absolute mask. */
export const DELTA_BITS = F_POS | F_ALT | F_GEO | F_VEL | F_HDG | F_VR;

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
  const body = scratchBody;
  body.reset();
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
  // The table's count and strings go to the head; then the length prefix in front of both.
  const head = scratchHead;
  head.reset();
  head.uvarint(table.size);
  for (const s of table.keys()) head.string(s);
  const size = head.length + body.length;
  const prefix = scratchPrefix;
  prefix.reset();
  prefix.uvarint(size);
  const out = new Uint8Array(prefix.length + size);
  out.set(prefix.view(), 0);
  out.set(head.view(), prefix.length);
  out.set(body.view(), prefix.length + head.length);
  return out;
}

/**
 * Scratch writers of {@link encodeSegment} (synchronous, never re-entered): their buffers grow
 * once and are kept, so encoding a segment allocates only its result. A tick encodes thousands of
 * segments, and four writers and their copies each were a third of the hub's tick (load profile).
 */
const scratchBody = new ByteWriter(64 * 1024);
const scratchHead = new ByteWriter(4 * 1024);
const scratchPrefix = new ByteWriter(16);

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
