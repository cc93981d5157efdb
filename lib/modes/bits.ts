/**
 * Bit fields of a Mode S message, numbered from 1 as in ICAO Annex 10 and
 * DO-260B tables (bit 1 is the first bit of the downlink format).
 *
 * @module
 */

/** Bits `first..first+length-1` (1-based, at most 32) as an unsigned integer. */
export function bits(message: Uint8Array, first: number, length: number): number {
  let value = 0;
  for (let i = 0; i < length; i++) {
    const pos = first - 1 + i;
    const bit = (message[pos >> 3]! >> (7 - (pos & 7))) & 1;
    value = value * 2 + bit;
  }
  return value;
}

/** One bit (1-based). */
export function bit(message: Uint8Array, position: number): number {
  const pos = position - 1;
  return (message[pos >> 3]! >> (7 - (pos & 7))) & 1;
}

/** `8D406B90...` to bytes; throws on odd length or non-hex. */
export function hexToBytes(hex: string): Uint8Array {
  const clean = hex.trim();
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new TypeError(`not a hex message: ${JSON.stringify(hex)}`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes to upper-case hex, the way decoders print messages. */
export function bytesToHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s.toUpperCase();
}
