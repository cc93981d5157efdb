/**
 * Bit-level primitives of `skysentinel.v2.bin` change records (layout
 * revision 3, docs/protocol.md "Change records"): fixed-width fields and
 * Exp-Golomb codes, most significant bit first, in a bounds-checked reader
 * and a growable writer. Pure and platform-free (the browser's Web Worker
 * imports it). Values up to 2^53 - 1; the arithmetic above 24 bits uses
 * multiplication and division, never 32-bit operators.
 *
 * Why Exp-Golomb: a change record's values are small residuals whose
 * frequency falls off with their size, and a byte per value (varints) spent
 * 8 bits on what carries 2-5: Exp-Golomb of order k spends k + 1 bits on
 * 0..2^k - 1 and 2 more bits per doubling, so rare large values stay cheap
 * to allow.
 *
 * @module
 */
import { FrameError } from "./wire.ts";

const textDecoder = new TextDecoder("utf-8", { fatal: true });
const textEncoder = new TextEncoder();
/** Bytes of a string being read (strings change rarely; reused). */
let scratch = new Uint8Array(64);

/** Longest Exp-Golomb prefix (zero bits) a reader accepts: values stay below 2^53. */
const MAX_PREFIX = 52;

/** Bits of a positive integer (its binary length). */
function bitLength(w: number): number {
  if (w < 2 ** 31) return 32 - Math.clz32(w);
  let n = 31;
  for (let x = Math.floor(w / 2 ** 31); x >= 1; x = Math.floor(x / 2)) n++;
  return n;
}

/** Bits of an Exp-Golomb code of order `k` for `v` >= 0. */
export function egBits(v: number, k: number): number {
  return 2 * bitLength(v + 2 ** k) - 1 - k;
}

/** Appends bits, most significant first, to a buffer that grows by doubling. */
export class BitWriter {
  #buf: Uint8Array<ArrayBuffer>;
  #len = 0;
  /** Pending bits (fewer than 8), in the low bits. */
  #acc = 0;
  #accBits = 0;

  constructor(capacity = 256) {
    this.#buf = new Uint8Array(capacity);
  }

  /** Whole bytes written so far, plus one for pending bits. */
  get byteLength(): number {
    return this.#len + (this.#accBits > 0 ? 1 : 0);
  }

  #push(b: number): void {
    if (this.#len === this.#buf.length) {
      const next = new Uint8Array(this.#buf.length * 2);
      next.set(this.#buf);
      this.#buf = next;
    }
    this.#buf[this.#len++] = b;
  }

  /** The low `n` bits of `value` (a non-negative integer below 2^n), n up to 53. */
  bits(value: number, n: number): void {
    while (n > 24) {
      const scale = 2 ** (n - 24);
      const high = Math.floor(value / scale);
      this.#bits24(high, 24);
      value -= high * scale;
      n -= 24;
    }
    this.#bits24(value, n);
  }

  #bits24(value: number, n: number): void {
    // #accBits < 8 and n <= 24: the accumulator stays below 2^31.
    this.#acc = (this.#acc << n) | value;
    this.#accBits += n;
    while (this.#accBits >= 8) {
      this.#accBits -= 8;
      this.#push((this.#acc >>> this.#accBits) & 0xff);
    }
    this.#acc &= (1 << this.#accBits) - 1;
  }

  /** Exp-Golomb code of order `k` for `v` >= 0: zeros, then v + 2^k in binary. */
  eg(v: number, k: number): void {
    // The zero prefix is the high bits of one wider field.
    const w = v + 2 ** k;
    this.bits(w, 2 * bitLength(w) - 1 - k);
  }

  /** Exp-Golomb of the zigzag code of a signed integer. */
  seg(v: number, k: number): void {
    this.eg(v >= 0 ? v * 2 : -v * 2 - 1, k);
  }

  /** A UTF-8 string: Exp-Golomb (order 0) byte length, then the bytes. */
  string(s: string): void {
    const bytes = textEncoder.encode(s);
    this.eg(bytes.length, 0);
    for (const b of bytes) this.#bits24(b, 8);
  }

  /** Pads with zero bits to a byte boundary. */
  align(): void {
    if (this.#accBits > 0) this.#bits24(0, 8 - this.#accBits);
  }

  /** What was written (aligned first), without a copy: valid until the next write or reset. */
  view(): Uint8Array<ArrayBuffer> {
    this.align();
    return this.#buf.subarray(0, this.#len);
  }

  /** Forgets what was written (keeps the buffer). */
  reset(): void {
    this.#len = 0;
    this.#acc = 0;
    this.#accBits = 0;
  }
}

/** Reads what {@link BitWriter} writes, throwing {@link FrameError} past `end`. */
export class BitReader {
  bytes: Uint8Array;
  /** Byte of the next bit, and the bit within it (0: the most significant). */
  pos: number;
  bit = 0;
  end: number;

  constructor(bytes: Uint8Array, start: number, end: number) {
    this.bytes = bytes;
    this.pos = start;
    this.end = end;
  }

  /** Restarts on another range (one reader per frame, reused). */
  reset(bytes: Uint8Array, start: number, end: number): void {
    this.bytes = bytes;
    this.pos = start;
    this.bit = 0;
    this.end = end;
  }

  /** `n` bits (up to 53) as an unsigned integer. */
  bits(n: number): number {
    let v = 0;
    while (n > 0) {
      if (this.pos >= this.end) throw new FrameError("truncated bit field", this.pos);
      const avail = 8 - this.bit;
      const take = avail < n ? avail : n;
      const b = (this.bytes[this.pos]! >> (avail - take)) & ((1 << take) - 1);
      v = v * (1 << take) + b;
      n -= take;
      this.bit += take;
      if (this.bit === 8) {
        this.bit = 0;
        this.pos++;
      }
    }
    return v;
  }

  /** An Exp-Golomb code of order `k`. */
  eg(k: number): number {
    const at = this.pos;
    let zeros = 0;
    for (;;) {
      if (this.pos >= this.end) throw new FrameError("truncated Exp-Golomb code", at);
      const b = (this.bytes[this.pos]! << this.bit) & 0xff;
      if (b === 0) {
        zeros += 8 - this.bit;
        this.bit = 0;
        this.pos++;
      } else {
        const lz = Math.clz32(b) - 24;
        zeros += lz;
        this.bit += lz;
        break;
      }
      if (zeros > MAX_PREFIX) break;
    }
    if (zeros + k + 1 > 53) throw new FrameError("Exp-Golomb code too long", at);
    return this.bits(zeros + k + 1) - 2 ** k;
  }

  /** A zigzag-coded signed integer in Exp-Golomb of order `k`. */
  seg(k: number): number {
    const z = this.eg(k);
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  /** A UTF-8 string: Exp-Golomb (order 0) byte length, then the bytes, at most `maxBytes`. */
  string(maxBytes: number): string {
    const at = this.pos;
    const n = this.eg(0);
    if (n > maxBytes) throw new FrameError(`string of ${n} bytes (at most ${maxBytes})`, at);
    if (n > scratch.length) scratch = new Uint8Array(n);
    for (let i = 0; i < n; i++) scratch[i] = this.bits(8);
    try {
      return textDecoder.decode(scratch.subarray(0, n));
    } catch {
      throw new FrameError("string is not valid UTF-8", at);
    }
  }

  /**
   * Checks that only zero padding to the byte boundary is left and that
   * it ends at `end`.
   */
  finish(): void {
    if (this.bit > 0) {
      if ((this.bytes[this.pos]! << this.bit) & 0xff) {
        throw new FrameError("non-zero padding after the change records", this.pos);
      }
      this.pos++;
      this.bit = 0;
    }
    if (this.pos !== this.end) {
      throw new FrameError(`${this.end - this.pos} bytes after the change records`, this.pos);
    }
  }
}
