/**
 * Angle helpers for tracks and headings (degrees clockwise from north).
 *
 * @module
 */

/** Wraps any angle into [0, 360). */
export function normalizeDeg(deg: number): number {
  const a = deg % 360;
  return a < 0 ? a + 360 : a;
}

/**
 * Signed smallest rotation from `fromDeg` to `toDeg`, in (-180, 180]:
 * positive is clockwise (a right turn).
 */
export function angleDiffDeg(fromDeg: number, toDeg: number): number {
  let d = (toDeg - fromDeg) % 360;
  if (d <= -180) d += 360;
  else if (d > 180) d -= 360;
  return d;
}

/** Unsigned smallest angle between two directions, in [0, 180]. */
export function angleDistDeg(aDeg: number, bDeg: number): number {
  return Math.abs(angleDiffDeg(aDeg, bDeg));
}
