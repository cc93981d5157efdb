/**
 * Altitude and identity codes shared by several downlink formats.
 *
 * - The 13-bit altitude code (AC) of DF0/4/16/20: bit order C1 A1 C2 A2 C4 A4
 *   M B1 Q B2 D2 B4 D4. M=1 means metric units (not used in practice: we
 *   give null). With Q=1 the 11 remaining bits count 25 ft steps from
 *   -1,000 ft; with Q=0 the bits are Gillham-coded in 100 ft steps (the Q
 *   position then holds D1).
 * - The 12-bit altitude of ADS-B airborne positions is the same code without
 *   the M bit.
 * - The 13-bit identity code (ID) of DF5/21: C1 A1 C2 A2 C4 A4 X B1 D1 B2 D2
 *   B4 D4; the squawk's four octal digits are A, B, C, D.
 *
 * @module
 */

/** Bit i (1 = most significant) of a `width`-bit field. */
function at(code: number, i: number, width: number): number {
  return (code >> (width - i)) & 1;
}

function grayToBinary(gray: number): number {
  let n = gray;
  for (let shift = gray >> 1; shift !== 0; shift >>= 1) n ^= shift;
  return n;
}

/**
 * Gillham (Mode C) code, in the 13-bit AC order, to feet; null when the
 * pattern is not a valid altitude. The 500 ft ring is the Gray code
 * D1 D2 D4 A1 A2 A4 B1 B2 B4; the 100 ft ring is C1 C2 C4 (values 1-5,
 * Gray, reflected on odd 500 ft steps); -1,200 ft is the zero.
 */
export function gillhamToFeet(ac13: number): number | null {
  const b = (i: number) => at(ac13, i, 13);
  const [c1, a1, c2, a2, c4, a4, , b1, d1, b2, d2, b4, d4] = [
    b(1),
    b(2),
    b(3),
    b(4),
    b(5),
    b(6),
    b(7),
    b(8),
    b(9),
    b(10),
    b(11),
    b(12),
    b(13),
  ];
  const fiveHundredsGray = (d1! << 8) | (d2! << 7) | (d4! << 6) | (a1! << 5) | (a2! << 4) |
    (a4! << 3) | (b1! << 2) | (b2! << 1) | b4!;
  const hundredsGray = (c1! << 2) | (c2! << 1) | c4!;
  const fiveHundreds = grayToBinary(fiveHundredsGray);
  let hundreds = grayToBinary(hundredsGray);
  if (hundreds === 0 || hundreds === 5 || hundreds === 6) return null;
  if (hundreds === 7) hundreds = 5;
  if (fiveHundreds % 2 === 1) hundreds = 6 - hundreds;
  return fiveHundreds * 500 + hundreds * 100 - 1300;
}

/** The 13-bit altitude code (DF0/4/16/20) to feet; null when absent, metric or invalid. */
export function altitudeCode13ToFeet(ac13: number): number | null {
  if (ac13 === 0) return null;
  const m = at(ac13, 7, 13);
  if (m === 1) return null; // metric altitude: never seen from civil transponders
  const q = at(ac13, 9, 13);
  if (q === 1) {
    // Drop M (bit 7) and Q (bit 9): 11 bits of 25 ft.
    const n = ((ac13 & 0x1f80) >> 2) | ((ac13 & 0x0020) >> 1) | (ac13 & 0x000f);
    return n * 25 - 1000;
  }
  return gillhamToFeet(ac13);
}

/** The 12-bit ADS-B altitude (no M bit) to feet; null when absent or invalid. */
export function altitudeCode12ToFeet(ac12: number): number | null {
  if (ac12 === 0) return null;
  // Put an M=0 bit back after the sixth bit to get the 13-bit layout.
  const ac13 = ((ac12 & 0xfc0) << 1) | (ac12 & 0x3f);
  return altitudeCode13ToFeet(ac13);
}

/** The 13-bit identity code to the squawk, four octal digits. */
export function identityToSquawk(id13: number): string {
  const b = (i: number) => at(id13, i, 13);
  const a = (b(6) << 2) | (b(4) << 1) | b(2);
  const bb = (b(12) << 2) | (b(10) << 1) | b(8);
  const c = (b(5) << 2) | (b(3) << 1) | b(1);
  const d = (b(13) << 2) | (b(11) << 1) | b(9);
  return `${a}${bb}${c}${d}`;
}

/** The inverse of {@link identityToSquawk} (for encoders and tests). */
export function squawkToIdentity(squawk: string): number {
  const [a, b, c, d] = [...squawk].map((ch) => parseInt(ch, 8));
  const bitsOf = (v: number) => [(v! >> 2) & 1, (v! >> 1) & 1, v! & 1]; // x4 x2 x1
  const [a4, a2, a1] = bitsOf(a!);
  const [b4, b2, b1] = bitsOf(b!);
  const [c4, c2, c1] = bitsOf(c!);
  const [d4, d2, d1] = bitsOf(d!);
  const order = [c1, a1, c2, a2, c4, a4, 0, b1, d1, b2, d2, b4, d4];
  return order.reduce((acc: number, v) => (acc << 1) | v!, 0);
}

/** Feet to the 12-bit Q=1 (25 ft) ADS-B altitude code (encoders and tests). */
export function feetToAltitudeCode12(feet: number): number {
  const n = Math.max(0, Math.min(0x7ff, Math.round((feet + 1000) / 25)));
  // Insert Q=1 as the eighth bit.
  return ((n & 0x7f0) << 1) | 0x10 | (n & 0x0f);
}
