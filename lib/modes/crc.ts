/**
 * Mode S parity: the 24-bit CRC with generator polynomial 0x1FFF409
 * (ICAO Annex 10 Vol IV, 3.1.2.3.3). The last 24 bits of a message are its
 * parity field; the syndrome is the CRC of the data bits XOR that field.
 * DF11/17/18 carry plain parity (syndrome 0, or the interrogator code in the
 * low 7 bits for DF11); DF0/4/5/16/20/21 overlay the aircraft address on it,
 * so there the syndrome *is* the address.
 *
 * Because the code is linear, flipping one bit changes the syndrome by a
 * fixed value per bit position: a table from syndrome to position corrects a
 * single-bit error (what receivers do for DF17/18 only, where a wrong fix
 * cannot forge an address that the parity does not also confirm).
 *
 * @module
 */

const GENERATOR = 0xfff409;

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 16;
    for (let k = 0; k < 8; k++) c = (c & 0x800000) ? ((c << 1) ^ GENERATOR) : (c << 1);
    table[i] = c & 0xffffff;
  }
  return table;
})();

/** CRC-24 of `bytes[0..length)`, no parity involved. */
export function crc24(bytes: Uint8Array, length = bytes.length): number {
  let c = 0;
  for (let i = 0; i < length; i++) {
    c = ((c << 8) ^ TABLE[((c >>> 16) ^ bytes[i]!) & 0xff]!) & 0xffffff;
  }
  return c;
}

/** CRC of the data bits XOR the parity field (last 3 bytes). 0 for a clean DF17. */
export function syndrome(message: Uint8Array): number {
  const n = message.length;
  const parity = (message[n - 3]! << 16) | (message[n - 2]! << 8) | message[n - 1]!;
  return crc24(message, n - 3) ^ parity;
}

/** The parity field that makes `data` (without parity) a message with syndrome 0. */
export function parityFor(data: Uint8Array): number {
  return crc24(data);
}

function singleBitTable(bits: number): Map<number, number> {
  const map = new Map<number, number>();
  const bytes = bits / 8;
  // Bits 0-4 are the downlink format: a "fix" there would change what the message is.
  for (let bit = 5; bit < bits; bit++) {
    const m = new Uint8Array(bytes);
    m[bit >> 3] = 0x80 >> (bit & 7);
    map.set(syndrome(m), bit);
  }
  return map;
}

const FIX_56 = singleBitTable(56);
const FIX_112 = singleBitTable(112);

/**
 * The bit position (0 = first bit) whose flip makes the syndrome 0, or -1
 * when no single flip does (more than one bit is wrong).
 */
export function singleBitErrorPosition(message: Uint8Array): number {
  const s = syndrome(message);
  if (s === 0) return -1;
  const table = message.length === 14 ? FIX_112 : message.length === 7 ? FIX_56 : null;
  return table?.get(s) ?? -1;
}

/**
 * A corrected copy of `message` when exactly one bit is wrong, the message
 * itself when its syndrome is 0, else null.
 */
export function correctSingleBit(
  message: Uint8Array,
): { message: Uint8Array; correctedBit: number | null } | null {
  if (syndrome(message) === 0) return { message, correctedBit: null };
  const bit = singleBitErrorPosition(message);
  if (bit < 0) return null;
  const fixed = message.slice();
  fixed[bit >> 3]! ^= 0x80 >> (bit & 7);
  return { message: fixed, correctedBit: bit };
}
