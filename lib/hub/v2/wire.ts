/**
 * Byte-level primitives of `skysentinel.v2.bin`: a growable writer and a
 * bounds-checked reader of unsigned LEB128 varints, zigzag signed varints
 * and length-prefixed UTF-8 strings. Pure and platform-free (no Deno, no
 * DOM), so the browser's Web Worker imports it as is.
 *
 * Varints carry integers up to 2^53 - 1: the arithmetic is done with
 * division, not 32-bit bit operators, because frame times in milliseconds
 * and time bases in tenths of a second exceed 2^31.
 *
 * @module
 */

/** A binary frame that cannot be decoded: truncated, corrupt or of an unknown version. */
export class FrameError extends Error {
  /** Byte offset in the frame where decoding stopped. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`bad skysentinel.v2.bin frame at byte ${offset}: ${message}`);
    this.name = "FrameError";
    this.offset = offset;
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** Appends bytes to a buffer that grows by doubling. */
export class ByteWriter {
  #buf: Uint8Array<ArrayBuffer>;
  #len = 0;

  constructor(capacity = 256) {
    this.#buf = new Uint8Array(capacity);
  }

  get length(): number {
    return this.#len;
  }

  #room(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  byte(b: number): void {
    this.#room(1);
    this.#buf[this.#len++] = b;
  }

  /** Unsigned LEB128 of a non-negative safe integer. */
  uvarint(value: number): void {
    this.#room(8);
    let v = value;
    while (v >= 0x80) {
      this.#buf[this.#len++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.#buf[this.#len++] = v;
  }

  /** Zigzag-coded signed integer (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...). */
  svarint(value: number): void {
    this.uvarint(value >= 0 ? value * 2 : -value * 2 - 1);
  }

  /** Varint byte length, then the UTF-8 bytes. */
  string(s: string): void {
    const bytes = textEncoder.encode(s);
    this.uvarint(bytes.length);
    this.bytes(bytes);
  }

  bytes(bytes: Uint8Array): void {
    this.#room(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }

  /** What was written, without a copy (valid until the next write or reset). */
  view(): Uint8Array<ArrayBuffer> {
    return this.#buf.subarray(0, this.#len);
  }

  /** A copy of what was written, exactly as long. */
  finish(): Uint8Array<ArrayBuffer> {
    return this.#buf.slice(0, this.#len);
  }

  /** Forgets what was written (keeps the buffer). */
  reset(): void {
    this.#len = 0;
  }
}

/** Reads the primitives of {@link ByteWriter}, throwing {@link FrameError} past the end. */
export class ByteReader {
  readonly bytes: Uint8Array;
  pos: number;
  /** Reads stop here (a segment's end, or the frame's). */
  end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  byte(): number {
    if (this.pos >= this.end) throw new FrameError("truncated (wanted 1 more byte)", this.pos);
    return this.bytes[this.pos++]!;
  }

  uvarint(): number {
    let result = 0;
    let scale = 1;
    const start = this.pos;
    for (;;) {
      if (this.pos >= this.end) throw new FrameError("truncated varint", start);
      const b = this.bytes[this.pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 49) throw new FrameError("varint longer than 8 bytes", start);
    }
    return result;
  }

  svarint(): number {
    const z = this.uvarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  string(maxBytes: number): string {
    const start = this.pos;
    const n = this.uvarint();
    if (n > maxBytes) throw new FrameError(`string of ${n} bytes (at most ${maxBytes})`, start);
    if (this.pos + n > this.end) throw new FrameError("truncated string", start);
    let s: string;
    try {
      s = textDecoder.decode(this.bytes.subarray(this.pos, this.pos + n));
    } catch {
      throw new FrameError("string is not valid UTF-8", start);
    }
    this.pos += n;
    return s;
  }

  /** A count that must fit in what is left, at least `minBytesEach` bytes per item. */
  count(what: string, minBytesEach = 1): number {
    const start = this.pos;
    const n = this.uvarint();
    if (n * minBytesEach > this.end - this.pos) {
      throw new FrameError(
        `${what} count ${n} exceeds the ${this.end - this.pos} bytes left (truncated or corrupt)`,
        start,
      );
    }
    return n;
  }
}
