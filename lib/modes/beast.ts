/**
 * The Beast binary format (Mode-S Beast receivers; dump1090 and readsb
 * `--net-bo-port`, usually TCP 30005). Each frame:
 *
 * ```
 * 0x1a  type  timestamp (6 bytes, big endian, 12 MHz counter)  signal (1 byte)  payload
 * type '1' (0x31): Mode A/C, 2 bytes    '2' (0x32): Mode S short, 7 bytes
 * type '3' (0x33): Mode S long, 14 bytes
 * ```
 *
 * Every 0x1a byte after the type is sent twice (escaped). A lone 0x1a
 * followed by a type byte starts a new frame, which is how a reader
 * resynchronises after garbage or a cut connection. The signal byte is an
 * amplitude 0-255; `signalLevel` is its square scaled to 0-1 (power), as
 * readsb reports RSSI (10·log10 of it, dBFS).
 *
 * @module
 */

const ESC = 0x1a;

/** Frame kinds. */
export type BeastFrameType = "mode_ac" | "mode_s_short" | "mode_s_long";

const PAYLOAD: Record<number, [BeastFrameType, number]> = {
  0x31: ["mode_ac", 2],
  0x32: ["mode_s_short", 7],
  0x33: ["mode_s_long", 14],
};

/** One frame. */
export interface BeastFrame {
  type: BeastFrameType;
  /** 48-bit receiver clock, 12 MHz ticks (not wall time; 0 when the receiver sets none). */
  timestamp12mhz: number;
  /** Signal byte 0-255. */
  signal: number;
  /** Power 0-1: (signal / 255)^2. */
  signalLevel: number;
  /** Mode S reply (7 or 14 bytes) or Mode A/C code (2 bytes). */
  payload: Uint8Array;
}

/** What a {@link BeastReader} skipped: bytes that were not part of a frame. */
export interface BeastGarbage {
  /** Number of bytes skipped. */
  bytes: number;
  /** Why: no 0x1a where a frame should start, an unknown type, or a frame cut by a new one. */
  reason: "no_sync" | "unknown_type" | "truncated";
  /** The skipped bytes (at most 64), for dead letters. */
  sample: Uint8Array;
}

/**
 * Incremental reader: `push` bytes as they arrive from the socket, get the
 * complete frames and the garbage seen; a frame split across reads is kept
 * until the rest arrives.
 */
export class BeastReader {
  #buf: Uint8Array = new Uint8Array(0);

  /** Bytes waiting for the rest of a frame. */
  get pending(): number {
    return this.#buf.length;
  }

  push(chunk: Uint8Array): { frames: BeastFrame[]; garbage: BeastGarbage[] } {
    const buf = this.#buf.length === 0 ? chunk : concat(this.#buf, chunk);
    const frames: BeastFrame[] = [];
    const garbage: BeastGarbage[] = [];
    let pos = 0;
    const skip = (to: number, reason: BeastGarbage["reason"]) => {
      garbage.push({ bytes: to - pos, reason, sample: buf.slice(pos, Math.min(to, pos + 64)) });
      pos = to;
    };
    while (pos < buf.length) {
      if (buf[pos] !== ESC) {
        let next = buf.indexOf(ESC, pos);
        if (next < 0) next = buf.length;
        skip(next, "no_sync");
        continue;
      }
      if (pos + 1 >= buf.length) break; // need the type byte
      const spec = PAYLOAD[buf[pos + 1]!];
      if (!spec) {
        // 0x1a 0x1a here is an escaped byte of a frame whose start we missed.
        const step = buf[pos + 1] === ESC ? 2 : 1;
        skip(pos + step, "unknown_type");
        continue;
      }
      const [type, payloadLength] = spec;
      const body = new Uint8Array(7 + payloadLength);
      let n = 0;
      let i = pos + 2;
      let cut = -1;
      while (n < body.length && i < buf.length) {
        const b = buf[i]!;
        if (b === ESC) {
          if (i + 1 >= buf.length) break; // wait for the escape's second byte
          if (buf[i + 1] !== ESC) {
            cut = i; // a new frame starts inside this one
            break;
          }
          i += 2;
        } else {
          i += 1;
        }
        body[n++] = b;
      }
      if (cut >= 0) {
        skip(cut, "truncated");
        continue;
      }
      if (n < body.length) break; // incomplete: keep from pos
      let ts = 0;
      for (let k = 0; k < 6; k++) ts = ts * 256 + body[k]!;
      const signal = body[6]!;
      frames.push({
        type,
        timestamp12mhz: ts,
        signal,
        signalLevel: (signal / 255) ** 2,
        payload: body.slice(7),
      });
      pos = i;
    }
    this.#buf = pos >= buf.length ? new Uint8Array(0) : buf.slice(pos);
    return { frames, garbage };
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Encodes one frame with escapes (receivers' side; for local servers and tests). */
export function encodeBeastFrame(
  payload: Uint8Array,
  options: { timestamp12mhz?: number; signal?: number } = {},
): Uint8Array {
  const type = payload.length === 2
    ? 0x31
    : payload.length === 7
    ? 0x32
    : payload.length === 14
    ? 0x33
    : -1;
  if (type < 0) throw new RangeError(`a Beast payload is 2, 7 or 14 bytes, not ${payload.length}`);
  const body: number[] = [];
  let ts = Math.max(0, Math.floor(options.timestamp12mhz ?? 0));
  const tsBytes: number[] = [];
  for (let k = 0; k < 6; k++) {
    tsBytes.unshift(ts % 256);
    ts = Math.floor(ts / 256);
  }
  body.push(...tsBytes, (options.signal ?? 0) & 0xff, ...payload);
  const out: number[] = [ESC, type];
  for (const b of body) {
    out.push(b);
    if (b === ESC) out.push(ESC);
  }
  return Uint8Array.from(out);
}

/** Mode A code of a Beast Mode A/C frame: the squawk's octal digits as hex nibbles (0x7700). */
export function modeACode(payload: Uint8Array): string | null {
  if (payload.length !== 2) return null;
  const s = ((payload[0]! << 8) | payload[1]!).toString(16).padStart(4, "0");
  return /^[0-7]{4}$/.test(s) ? s : null;
}
