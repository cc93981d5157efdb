/**
 * Small fixed-size linear algebra for the Kalman filter (4x4 row-major
 * Float64Arrays). Private to `lib/track/`.
 *
 * @module
 */

const SCRATCH_K = new Float64Array(8);
const SCRATCH_H0 = new Float64Array(4);
const SCRATCH_H1 = new Float64Array(4);

/**
 * Gated update of a 2-vector measurement of state components `i, i+1` with
 * the symmetric noise covariance `[[r00, r01], [r01, r11]]` (scalars, not an
 * array: no allocation per update). Returns false (and leaves x, P alone)
 * when the squared Mahalanobis distance of the innovation exceeds `gate`.
 */
export function gatedUpdate2(
  x: Float64Array,
  P: Float64Array,
  i: number,
  z0: number,
  z1: number,
  r00: number,
  r01: number,
  r11: number,
  gate: number,
): boolean {
  const s00 = P[i * 4 + i]! + r00;
  const s01 = P[i * 4 + i + 1]! + r01;
  const s10 = P[(i + 1) * 4 + i]! + r01;
  const s11 = P[(i + 1) * 4 + i + 1]! + r11;
  const det = s00 * s11 - s01 * s10;
  if (!(det > 0)) return false;
  const i00 = s11 / det;
  const i01 = -s01 / det;
  const i10 = -s10 / det;
  const i11 = s00 / det;
  const y0 = z0 - x[i]!;
  const y1 = z1 - x[i + 1]!;
  const d2 = y0 * (i00 * y0 + i01 * y1) + y1 * (i10 * y0 + i11 * y1);
  if (!(d2 <= gate)) return false;
  // K = P[:, i..i+1] S⁻¹ (4x2), in module scratch space (no allocation per update).
  const K = SCRATCH_K;
  for (let row = 0; row < 4; row++) {
    const a = P[row * 4 + i]!;
    const b = P[row * 4 + i + 1]!;
    K[row * 2] = a * i00 + b * i10;
    K[row * 2 + 1] = a * i01 + b * i11;
  }
  for (let row = 0; row < 4; row++) {
    x[row] = x[row]! + K[row * 2]! * y0 + K[row * 2 + 1]! * y1;
  }
  // P -= K P[i..i+1, :], then symmetrise against rounding.
  const H0 = SCRATCH_H0;
  const H1 = SCRATCH_H1;
  for (let col = 0; col < 4; col++) {
    H0[col] = P[i * 4 + col]!;
    H1[col] = P[(i + 1) * 4 + col]!;
  }
  for (let row = 0; row < 4; row++) {
    for (let col = 0; col < 4; col++) {
      P[row * 4 + col] = P[row * 4 + col]! - K[row * 2]! * H0[col]! -
        K[row * 2 + 1]! * H1[col]!;
    }
  }
  for (let row = 0; row < 4; row++) {
    for (let col = row + 1; col < 4; col++) {
      const avg = (P[row * 4 + col]! + P[col * 4 + row]!) / 2;
      P[row * 4 + col] = avg;
      P[col * 4 + row] = avg;
    }
  }
  return true;
}

/** Number of set bits. */
export function popcount(bits: number): number {
  let n = 0;
  for (let b = bits; b !== 0; b &= b - 1) n++;
  return n;
}

/** A · B. */
export function mul4(A: Float64Array, B: Float64Array): Float64Array {
  const out = new Float64Array(16);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += A[r * 4 + k]! * B[k * 4 + c]!;
      out[r * 4 + c] = s;
    }
  }
  return out;
}

/** A · Bᵀ. */
export function mul4T(A: Float64Array, B: Float64Array): Float64Array {
  const out = new Float64Array(16);
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += A[r * 4 + k]! * B[c * 4 + k]!;
      out[r * 4 + c] = s;
    }
  }
  return out;
}
