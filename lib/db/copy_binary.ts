/**
 * PostgreSQL's binary COPY format (`COPY ... FROM STDIN (FORMAT binary)`),
 * written into one growing byte buffer.
 *
 * Why binary rather than text: a history row has fifteen float8 and two
 * timestamptz columns. In text, the client formats each number
 * (`String(x)`) and the server parses it back (`float8in`, `timestamptz_in`,
 * the larger part of a text COPY's server time); in binary both sides copy
 * eight bytes. Each value must have exactly the column's type (no
 * coercion): the writer that uses this names the columns and their types.
 *
 * Layout (PostgreSQL docs, "COPY ... Binary Format"): an 11-byte signature,
 * a 32-bit flags field and a 32-bit header-extension length; per row a
 * 16-bit field count, then per field a 32-bit length (-1 for NULL) and the
 * value's bytes in the type's send format (network byte order); a 16-bit
 * -1 ends the data.
 *
 * Pure: no I/O.
 *
 * @module
 */

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];
/** Microseconds between the unix epoch and PostgreSQL's (2000-01-01T00:00:00Z). */
const PG_EPOCH_US = 946_684_800_000_000;
const TWO_32 = 0x1_0000_0000;

/** Builds one COPY binary stream: the header (at construction), rows of fields, then {@link finish}. */
export class BinaryCopyBuffer {
  #bytes: Uint8Array;
  #view: DataView;
  #at = 0;
  #encoder = new TextEncoder();

  /** `capacity`: initial size, bytes (it grows as needed). */
  constructor(capacity = 1 << 16) {
    this.#bytes = new Uint8Array(capacity);
    this.#view = new DataView(this.#bytes.buffer);
    this.#header();
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#at;
  }

  /** Starts a row of `fields` values. */
  row(fields: number): void {
    this.#fit(2);
    this.#view.setInt16(this.#at, fields);
    this.#at += 2;
  }

  /** A NULL value. */
  null(): void {
    this.#fit(4);
    this.#view.setInt32(this.#at, -1);
    this.#at += 4;
  }

  /** A `text` value (UTF-8), or NULL. */
  text(value: string | null): void {
    if (value === null) return this.null();
    const n = value.length;
    // Room for the worst case of UTF-16 to UTF-8 (3 bytes per code unit) and the length.
    this.#fit(4 + 3 * n);
    const start = this.#at + 4;
    let i = 0;
    const bytes = this.#bytes;
    // ASCII (icao24, callsigns, session ids) byte by byte; the rest through TextEncoder.
    for (; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) break;
      bytes[start + i] = c;
    }
    let written = i;
    if (i < n) {
      written += this.#encoder.encodeInto(value.slice(i), bytes.subarray(start + i)).written;
    }
    this.#view.setInt32(this.#at, written);
    this.#at = start + written;
  }

  /** A `double precision` value, or NULL. */
  float8(value: number | null): void {
    if (value === null) return this.null();
    this.#fit(12);
    this.#view.setInt32(this.#at, 8);
    this.#view.setFloat64(this.#at + 4, value);
    this.#at += 12;
  }

  /** A `smallint` value. */
  int2(value: number): void {
    this.#fit(6);
    this.#view.setInt32(this.#at, 2);
    this.#view.setInt16(this.#at + 4, value);
    this.#at += 6;
  }

  /** A `boolean` value. */
  bool(value: boolean): void {
    this.#fit(5);
    this.#view.setInt32(this.#at, 1);
    this.#bytes[this.#at + 4] = value ? 1 : 0;
    this.#at += 5;
  }

  /**
   * A `timestamptz` from unix seconds, rounded to the microsecond as the
   * text form (`unixToTimestamp`) is, so that both paths store the same value.
   */
  timestamptz(unix: number): void {
    const us = Math.round(unix * 1e6) - PG_EPOCH_US;
    const hi = Math.floor(us / TWO_32);
    this.#fit(12);
    this.#view.setInt32(this.#at, 8);
    this.#view.setInt32(this.#at + 4, hi);
    this.#view.setUint32(this.#at + 8, us - hi * TWO_32);
    this.#at += 12;
  }

  /** Ends the stream and returns its bytes (a view of the buffer: use before writing more). */
  finish(): Uint8Array {
    this.#fit(2);
    this.#view.setInt16(this.#at, -1);
    this.#at += 2;
    return this.#bytes.subarray(0, this.#at);
  }

  /**
   * The bytes written so far, copied (the stream may still hold them while
   * more rows are written), and the buffer emptied: for sending a long
   * stream in chunks. {@link finish} then returns the rest.
   */
  take(): Uint8Array {
    const chunk = this.#bytes.slice(0, this.#at);
    this.#at = 0;
    return chunk;
  }

  #header(): void {
    this.#fit(19);
    this.#bytes.set(SIGNATURE, 0);
    this.#view.setInt32(11, 0);
    this.#view.setInt32(15, 0);
    this.#at = 19;
  }

  #fit(more: number): void {
    if (this.#at + more <= this.#bytes.length) return;
    const next = new Uint8Array(Math.max(this.#bytes.length * 2, this.#at + more));
    next.set(this.#bytes.subarray(0, this.#at));
    this.#bytes = next;
    this.#view = new DataView(next.buffer);
  }
}
