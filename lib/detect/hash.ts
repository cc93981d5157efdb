/**
 * FNV-1a, 64 bit, over the UTF-8 bytes of a string: small, synchronous and
 * stable across runtimes, which is all an event id needs (it is not a
 * security hash). Computed on two 32-bit halves to avoid BigInt.
 *
 * @module
 */

const encoder = new TextEncoder();

/** FNV-1a 64-bit hash of `text` as 16 lower-case hex digits. */
export function fnv1a64Hex(text: string): string {
  // Offset basis 0xcbf29ce484222325, prime 0x100000001b3 (= 2^40 + 0x1b3).
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (const byte of encoder.encode(text)) {
    lo = (lo ^ byte) >>> 0;
    // (hi, lo) * prime mod 2^64: lo*0x1b3 + ((hi*0x1b3 + lo<<8) << 32).
    const loMul = lo * 0x1b3;
    const carry = Math.floor(loMul / 0x1_0000_0000);
    const newLo = loMul >>> 0;
    const newHi = (Math.imul(hi, 0x1b3) + (lo << 8) + carry) >>> 0;
    hi = newHi;
    lo = newLo;
  }
  return hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");
}
