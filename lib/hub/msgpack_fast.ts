/**
 * A MessagePack writer for the hub's hot path (the v1 MessagePack upserts of
 * every tick): the same bytes as npm:@msgpack/msgpack's default `Encoder`,
 * several times faster on flight objects, because map keys are encoded once
 * and kept, ASCII strings are written without a UTF-8 pass, and everything
 * goes into one reused buffer. Values it does not special-case (non-ASCII
 * strings, integers beyond 32 bits, typed arrays, class instances such as
 * Date, deep nesting) are handed to the library's encoder, so the output
 * stays the library's byte for byte (tests/hub_core_test.ts compares them).
 *
 * @module
 */
import { Encoder } from "@msgpack/msgpack";

const library = new Encoder();
/** Size of the chunks {@link FastMsgpack.elements} shares, bytes. */
const CHUNK = 256 << 10;
/** The library's depth limit (its default `maxDepth`). */
const MAX_DEPTH = 100;

export class FastMsgpack {
  #bytes = new Uint8Array(1 << 16);
  #view = new DataView(this.#bytes.buffer);
  #pos = 0;
  readonly #keys = new Map<string, Uint8Array>();
  /**
   * Per depth, the keys of the last map written there and their bytes: maps
   * of one shape (every flight, every position) find each key by one
   * comparison instead of a lookup.
   */
  readonly #shapes: { keys: string[]; bytes: Uint8Array[] }[] = [];
  /** False when Object.prototype has enumerable keys (then `for...in` is not Object.keys). */
  #forIn = true;

  /** Where {@link elements} keeps its outputs: a chunk shared by many of them. */
  #chunk = new Uint8Array(0);
  #chunkAt = 0;

  /**
   * The values one after the other (array elements without the array
   * header). The result may be a view into a chunk shared with other
   * results (one allocation for many tiles' upserts, not one each): copy it
   * or send it, but never use its `.buffer` as its bytes.
   */
  elements(values: readonly unknown[]): Uint8Array<ArrayBuffer> {
    this.start();
    for (const v of values) this.#value(v, 1);
    const n = this.#pos;
    if (n > CHUNK / 8) return this.finish();
    if (this.#chunkAt + n > this.#chunk.length) {
      [this.#chunk, this.#chunkAt] = [new Uint8Array(CHUNK), 0];
    }
    const out = this.#chunk.subarray(this.#chunkAt, this.#chunkAt + n);
    out.set(this.#bytes.subarray(0, n));
    this.#chunkAt += n;
    return out;
  }

  /** Starts a new output (then {@link write} values, {@link finish}). */
  start(): void {
    this.#pos = 0;
    this.#forIn = true;
    for (const _ in Object.prototype) this.#forIn = false;
  }

  /** Writes one value as the library's `encode(value)` would. */
  write(value: unknown): void {
    this.#value(value, 0);
  }

  /** The bytes written since {@link start}, in a new array. */
  finish(): Uint8Array<ArrayBuffer> {
    return this.#bytes.slice(0, this.#pos);
  }

  /** The bytes written since {@link start}, as a view valid until the next write. */
  written(): Uint8Array<ArrayBuffer> {
    return this.#bytes.subarray(0, this.#pos);
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#bytes.length) return;
    const bigger = new Uint8Array(Math.max(this.#bytes.length * 2, this.#pos + n));
    bigger.set(this.#bytes.subarray(0, this.#pos));
    this.#bytes = bigger;
    this.#view = new DataView(bigger.buffer);
  }

  /** Writes bytes as they are (already MessagePack). */
  raw(bytes: Uint8Array): void {
    this.#raw(bytes);
  }

  #raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.#ensure(n);
    if (n > 32) this.#bytes.set(bytes, this.#pos);
    else {
      // A loop beats TypedArray.set for the few bytes of a key.
      const b = this.#bytes;
      for (let i = 0, at = this.#pos; i < n; i++) b[at + i] = bytes[i]!;
    }
    this.#pos += n;
  }

  #value(v: unknown, depth: number): void {
    if (v === null || v === undefined) {
      this.#ensure(1);
      this.#bytes[this.#pos++] = 0xc0;
    } else if (typeof v === "boolean") {
      this.#ensure(1);
      this.#bytes[this.#pos++] = v ? 0xc3 : 0xc2;
    } else if (typeof v === "number") this.#number(v);
    else if (typeof v === "string") this.#string(v);
    else if (
      depth < MAX_DEPTH && typeof v === "object" &&
      (Array.isArray(v) || Object.getPrototypeOf(v) === Object.prototype)
    ) {
      if (Array.isArray(v)) this.#array(v, depth);
      else this.#map(v as Record<string, unknown>, depth);
    } else this.#raw(library.encode(v));
  }

  #number(v: number): void {
    this.#ensure(9);
    const b = this.#bytes;
    if (Number.isSafeInteger(v)) {
      if (v >= 0) {
        if (v < 0x80) b[this.#pos++] = v;
        else if (v < 0x100) {
          b[this.#pos++] = 0xcc;
          b[this.#pos++] = v;
        } else if (v < 0x10000) {
          b[this.#pos++] = 0xcd;
          this.#view.setUint16(this.#pos, v);
          this.#pos += 2;
        } else if (v < 0x100000000) {
          b[this.#pos++] = 0xce;
          this.#view.setUint32(this.#pos, v);
          this.#pos += 4;
        } else this.#raw(library.encode(v));
      } else if (v >= -0x20) b[this.#pos++] = 0xe0 | (v + 0x20);
      else if (v >= -0x80) {
        b[this.#pos++] = 0xd0;
        this.#view.setInt8(this.#pos++, v);
      } else if (v >= -0x8000) {
        b[this.#pos++] = 0xd1;
        this.#view.setInt16(this.#pos, v);
        this.#pos += 2;
      } else if (v >= -0x80000000) {
        b[this.#pos++] = 0xd2;
        this.#view.setInt32(this.#pos, v);
        this.#pos += 4;
      } else this.#raw(library.encode(v));
      return;
    }
    b[this.#pos++] = 0xcb;
    this.#view.setFloat64(this.#pos, v);
    this.#pos += 8;
  }

  #string(s: string): void {
    const n = s.length;
    if (n >= 0x10000) return this.#raw(library.encode(s));
    this.#ensure(3 + n);
    const b = this.#bytes;
    const start = this.#pos;
    let at = start + (n < 32 ? 1 : n < 0x100 ? 2 : 3);
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        // Not ASCII: the library's UTF-8 (and its handling of lone surrogates).
        this.#pos = start;
        return this.#raw(library.encode(s));
      }
      b[at++] = c;
    }
    if (n < 32) b[start] = 0xa0 + n;
    else if (n < 0x100) {
      b[start] = 0xd9;
      b[start + 1] = n;
    } else {
      b[start] = 0xda;
      this.#view.setUint16(start + 1, n);
    }
    this.#pos = at;
  }

  #array(items: readonly unknown[], depth: number): void {
    this.arrayHeader(items.length);
    for (const item of items) this.#value(item, depth + 1);
  }

  /** Writes the header of an array of `n` elements (to be written after it). */
  arrayHeader(n: number): void {
    this.#ensure(5);
    const b = this.#bytes;
    if (n < 16) b[this.#pos++] = 0x90 + n;
    else if (n < 0x10000) {
      b[this.#pos++] = 0xdc;
      this.#view.setUint16(this.#pos, n);
      this.#pos += 2;
    } else {
      b[this.#pos++] = 0xdd;
      this.#view.setUint32(this.#pos, n);
      this.#pos += 4;
    }
  }

  /** Writes the header of a map of `n` pairs (to be written after it). */
  mapHeader(n: number): void {
    this.#mapHeader(n);
  }

  #map(object: Record<string, unknown>, depth: number): void {
    // `for...in` is Object.keys here (own keys, same order: the prototype is Object.prototype,
    // checked to have no enumerable keys) without allocating the keys' array.
    if (!this.#forIn) return this.#mapOf(object, Object.keys(object), depth);
    let n = 0;
    for (const _ in object) n++;
    this.#mapHeader(n);
    const shape = this.#shapes[depth] ??= { keys: [], bytes: [] };
    let i = 0;
    for (const key in object) {
      if (shape.keys[i] === key) this.#raw(shape.bytes[i]!);
      else {
        const k = this.#key(key);
        if (i < 64) [shape.keys[i], shape.bytes[i]] = [key, k];
        this.#raw(k);
      }
      this.#value(object[key], depth + 1);
      i++;
    }
  }

  #mapOf(object: Record<string, unknown>, keys: string[], depth: number): void {
    this.#mapHeader(keys.length);
    for (const key of keys) {
      this.#raw(this.#key(key));
      this.#value(object[key], depth + 1);
    }
  }

  #mapHeader(n: number): void {
    this.#ensure(5);
    const b = this.#bytes;
    if (n < 16) b[this.#pos++] = 0x80 + n;
    else if (n < 0x10000) {
      b[this.#pos++] = 0xde;
      this.#view.setUint16(this.#pos, n);
      this.#pos += 2;
    } else {
      b[this.#pos++] = 0xdf;
      this.#view.setUint32(this.#pos, n);
      this.#pos += 4;
    }
  }

  /** A map key's bytes (the library's), kept for the few keys flights have. */
  #key(key: string): Uint8Array {
    let k = this.#keys.get(key);
    if (!k) {
      k = library.encode(key);
      // Keys are few (a flight's field names); a map of arbitrary keys is not kept.
      if (this.#keys.size < 256) this.#keys.set(key, k);
    }
    return k;
  }
}
