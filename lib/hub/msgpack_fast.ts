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
/** The library's depth limit (its default `maxDepth`). */
const MAX_DEPTH = 100;

export class FastMsgpack {
  #bytes = new Uint8Array(1 << 16);
  #view = new DataView(this.#bytes.buffer);
  #pos = 0;
  readonly #keys = new Map<string, Uint8Array>();

  /** The values one after the other (array elements without the array header), in a new array. */
  elements(values: readonly unknown[]): Uint8Array<ArrayBuffer> {
    this.#pos = 0;
    for (const v of values) this.#value(v, 1);
    return this.#bytes.slice(0, this.#pos);
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#bytes.length) return;
    const bigger = new Uint8Array(Math.max(this.#bytes.length * 2, this.#pos + n));
    bigger.set(this.#bytes.subarray(0, this.#pos));
    this.#bytes = bigger;
    this.#view = new DataView(bigger.buffer);
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
    const n = items.length;
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
    for (const item of items) this.#value(item, depth + 1);
  }

  #map(object: Record<string, unknown>, depth: number): void {
    const keys = Object.keys(object);
    const n = keys.length;
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
    for (const key of keys) {
      let k = this.#keys.get(key);
      if (!k) {
        k = library.encode(key);
        // Keys are few (a flight's field names); a map of arbitrary keys is not kept.
        if (this.#keys.size < 256) this.#keys.set(key, k);
      }
      this.#raw(k);
      this.#value(object[key], depth + 1);
    }
  }
}
