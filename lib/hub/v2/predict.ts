/**
 * The predictions of `skysentinel.v2.bin` change records (docs/protocol.md,
 * "Predictions"): where the held state says an aircraft is now (dead
 * reckoning from its speed and track), the altitude its vertical rate
 * gives, and the geometric altitude that follows the barometric one. A
 * change record carries only the residual against them, so the server and
 * every decoder must compute them bit for bit alike: integers throughout,
 * sine and cosine from integer tables built with `+ − × ÷` only (never
 * `Math.sin`, whose last bit may differ between engines), and one rounding
 * rule ({@link roundDiv}). One copy, imported by the encoder and the
 * decoders (server, relay, browser Web Worker).
 *
 * @module
 */

/** Fixed-point scale of the sine and cosine tables (Q15). */
export const TRIG_ONE = 32_768;
/** Longest time, tenths of a second, that a held state is projected forward. */
export const MAX_PREDICT_TENTHS = 600;
/** Highest ground speed (0.1 m/s units) that is projected: 2,000 m/s, beyond anything that flies. */
const MAX_PREDICT_SPEED = 20_000;
/**
 * Length of one position unit (1e-5° of latitude) in thousandths of a
 * centimetre: 1e-5 × 6,371,008.8 m × π / 180 = 1.11195 m.
 */
const UNIT_MILLI_CM = 111_195;
/** Below this cosine of the latitude (about 88.2°) no position is projected (meridians converge). */
const MIN_COS_LAT = 1_024;

/** round(n / d) for integers, d > 0, halves rounded up: floor((2n + d) / 2d). */
export function roundDiv(n: number, d: number): number {
  return Math.floor((2 * n + d) / (2 * d));
}

/** sin(x) for x in [0, π/2], Taylor to x^17 (error below 1e-9), with + − × ÷ only. */
function sinPoly(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let k = 1; k <= 8; k++) {
    term = -term * x2 / ((2 * k) * (2 * k + 1));
    sum += term;
  }
  return sum;
}

/** Q15 sine of 0.0°..90.0° in 0.1° steps (901 entries). */
const SIN_TENTHS = (() => {
  const t = new Int32Array(901);
  for (let i = 0; i <= 900; i++) t[i] = Math.floor(sinPoly(i * Math.PI / 1800) * TRIG_ONE + 0.5);
  return t;
})();

/** Q15 cosine of latitudes 0.00°..90.00° in 0.01° steps (9,001 entries). */
const COS_LAT = (() => {
  const t = new Int32Array(9_001);
  for (let i = 0; i <= 9_000; i++) {
    t[i] = Math.floor(sinPoly((9_000 - i) * Math.PI / 18_000) * TRIG_ONE + 0.5);
  }
  return t;
})();

/** Q15 sine of a track in 0.1° units, 0..3599. */
export function sinTrack(hdg: number): number {
  if (hdg <= 900) return SIN_TENTHS[hdg]!;
  if (hdg <= 1800) return SIN_TENTHS[1800 - hdg]!;
  if (hdg <= 2700) return -SIN_TENTHS[hdg - 1800]!;
  return -SIN_TENTHS[3600 - hdg]!;
}

/** Q15 cosine of a track in 0.1° units, 0..3599. */
export function cosTrack(hdg: number): number {
  return sinTrack(hdg < 2700 ? hdg + 900 : hdg - 2700);
}

/** Q15 cosine of a latitude in position units (1e-5°), by 0.01° steps (truncated). */
export function cosLat(lat: number): number {
  const i = Math.min(9_000, Math.floor(Math.abs(lat) / 1_000));
  return COS_LAT[i]!;
}

/** What a projection reads from the held state (frame units). */
export interface PredictFrom {
  lat: number;
  vel: number | null;
  hdg: number | null;
}

/**
 * The move, in position units, that the held speed and track give over
 * `dt` tenths of a second (the time_position difference): `[dlat, dlon]`,
 * both 0 when there is no speed or track, `dt` is not in (0, 60 s], or the
 * latitude is beyond about 88°. `out` is reused (no allocation).
 */
export function deadReckon(held: PredictFrom, dt: number, out: [number, number]): [number, number] {
  out[0] = 0;
  out[1] = 0;
  const vel = held.vel;
  const hdg = held.hdg;
  if (vel === null || hdg === null || dt <= 0 || dt > MAX_PREDICT_TENTHS) return out;
  if (vel <= 0 || vel > MAX_PREDICT_SPEED) return out;
  const c = cosLat(held.lat);
  if (c < MIN_COS_LAT) return out;
  // Distance in centimetres (0.1 m/s × 0.1 s); every product below stays under 2^53.
  const cm = vel * dt;
  out[0] = roundDiv(cm * cosTrack(hdg) * 1_000, TRIG_ONE * UNIT_MILLI_CM);
  out[1] = roundDiv(cm * sinTrack(hdg) * 1_000, UNIT_MILLI_CM * c);
  return out;
}

/**
 * The barometric altitude change, in 25 ft units, that a held vertical rate
 * (64 ft/min units) gives over `dt` tenths of a second (the last_contact
 * difference): vr × 64 / 600 ft per tenth, / 25 ft. 0 when there is none
 * or `dt` is not in (0, 60 s].
 */
export function climb(vr: number | null, dt: number): number {
  if (vr === null || dt <= 0 || dt > MAX_PREDICT_TENTHS) return 0;
  return roundDiv(vr * dt * 8, 1_875);
}

// --- along-track frame -------------------------------------------------------------

/** floor(sqrt(n)) for an integer 0 <= n < 2^52, exact (corrected after Math.sqrt). */
function isqrt(n: number): number {
  let r = Math.floor(Math.sqrt(n));
  while (r * r > n) r--;
  while ((r + 1) * (r + 1) <= n) r++;
  return r;
}

/**
 * A position residual (x, y: latitude and longitude units) turned into the
 * frame of the predicted move (p, q: the dead-reckoned dlat, dlon): `out` =
 * [along, across], the residual along the move and across it. The jitter of
 * a 1 s track is mostly along it (its times are whole seconds, its speeds
 * near 250 m/s), so the across part is small: 12.2 bits for both where the
 * latitude and longitude residuals took 13.5 (load scenario). A rotation by
 * three integer shears (lifting), so {@link fromTrackFrame} undoes it bit
 * for bit whatever the rounding; a move of (0, 0) leaves the residual as it
 * is, and one pointing south turns it by 180° first.
 */
export function toTrackFrame(
  p: number,
  q: number,
  x: number,
  y: number,
  out: [number, number],
): [number, number] {
  if (p === 0 && q === 0) {
    out[0] = x;
    out[1] = y;
    return out;
  }
  if (p < 0) {
    // 0 - v, not -v: no negative zero comes out.
    p = 0 - p;
    q = 0 - q;
    x = 0 - x;
    y = 0 - y;
  }
  const r = isqrt(p * p + q * q);
  const x1 = x + roundDiv(q * y, r + p);
  const y1 = y + roundDiv(-q * x1, r);
  out[0] = x1 + roundDiv(q * y1, r + p);
  out[1] = y1;
  return out;
}

/** The inverse of {@link toTrackFrame}: [x, y] from [along, across]. */
export function fromTrackFrame(
  p: number,
  q: number,
  along: number,
  across: number,
  out: [number, number],
): [number, number] {
  if (p === 0 && q === 0) {
    out[0] = along;
    out[1] = across;
    return out;
  }
  const south = p < 0;
  if (south) {
    p = 0 - p;
    q = 0 - q;
  }
  const r = isqrt(p * p + q * q);
  const x1 = along - roundDiv(q * across, r + p);
  const y = across - roundDiv(-q * x1, r);
  const x = x1 - roundDiv(q * y, r + p);
  out[0] = south ? 0 - x : x;
  out[1] = south ? 0 - y : y;
  return out;
}

/** Zigzag of a signed integer (0, -1, 1, -2 ... as 0, 1, 2, 3 ...). */
export function zigzag(v: number): number {
  return v >= 0 ? v * 2 : -v * 2 - 1;
}

/** The inverse of {@link zigzag}. */
export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}
