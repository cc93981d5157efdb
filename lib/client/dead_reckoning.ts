/**
 * Ghost interpolation: every frame each aircraft is moved by dead reckoning
 * (ground speed, track, vertical rate) from its last measured position, up
 * to a cap; a new measurement is blended in so that the marker never jumps
 * backwards along its track. Pure math, times in unix seconds.
 *
 * @module
 */
import { DEG, EARTH_RADIUS_M, wrapLon } from "../geo/mod.ts";

/** The measured state dead reckoning starts from. */
export interface Kinematics {
  /** Degrees. */
  lat: number;
  /** Degrees. */
  lon: number;
  /** Barometric (or geometric) altitude, metres; null when unknown. */
  altM: number | null;
  /** Ground speed, m/s; null when unknown (no horizontal motion). */
  speedMps: number | null;
  /** True track, degrees clockwise from north; null when unknown. */
  trackDeg: number | null;
  /** Vertical rate, m/s, positive climbing; null when unknown. */
  vrateMps: number | null;
  /** Time of the position, unix seconds. */
  t: number;
  /** On the ground: no vertical motion. */
  onGround: boolean;
}

/** A displayed position. */
export interface GeoPoint {
  lat: number;
  lon: number;
  /** Metres; 0 when unknown. */
  altM: number;
}

/** Default cap on extrapolation, seconds. */
export const DEFAULT_CAP_S = 60;

/**
 * Where the aircraft is expected at `nowS`, extrapolated from `k` for at
 * most `capS` seconds (never backwards in time). Altitude is kept at or
 * above 0 m.
 */
export function extrapolate(k: Kinematics, nowS: number, capS = DEFAULT_CAP_S): GeoPoint {
  return extrapolateInto(k, nowS, { capS, out: { lat: 0, lon: 0, altM: 0 } });
}

/** {@link extrapolate} written into `options.out` (no allocation: the store's hot path). */
export function extrapolateInto(
  k: Kinematics,
  nowS: number,
  options: { capS: number; out: GeoPoint },
): GeoPoint {
  const out = options.out;
  const dt = Math.min(options.capS, Math.max(0, nowS - k.t));
  const alt0 = k.altM ?? 0;
  out.lat = k.lat;
  out.lon = k.lon;
  if (dt > 0 && k.speedMps !== null && k.trackDeg !== null && k.speedMps > 0) {
    const d = k.speedMps * dt;
    const tr = k.trackDeg * Math.PI / 180;
    moveInto(out, d * Math.cos(tr), d * Math.sin(tr));
  }
  const climb = dt === 0 || k.onGround || k.vrateMps === null || k.altM === null
    ? 0
    : k.vrateMps * dt;
  out.altM = Math.max(0, alt0 + climb);
  return out;
}

/**
 * `p` moved `dn` metres north and `de` east in place: lib/geo `moveMetres`,
 * without its pair (this runs per aircraft on every update).
 */
function moveInto(p: { lat: number; lon: number }, dn: number, de: number): void {
  const lat = p.lat;
  const lat2 = lat + dn / EARTH_RADIUS_M / DEG;
  const cos = Math.max(1e-6, Math.cos(lat * DEG));
  p.lon = wrap(p.lon + de / (EARTH_RADIUS_M * cos) / DEG);
  p.lat = Math.max(-90, Math.min(90, lat2));
}

/** lib/geo `wrapLon`, skipping its `%` for the longitudes already in range (nearly all). */
function wrap(lon: number): number {
  return lon >= -180 && lon < 180 ? lon : wrapLon(lon);
}

/**
 * How "ghostly" an aircraft is, 0 (fresh) to 1 (fully ghost): 0 until its
 * position is `2 × intervalS` old, then rising linearly to 1 at `capS`
 * (where extrapolation stops).
 */
export function ghostLevel(ageS: number, intervalS: number, capS = DEFAULT_CAP_S): number {
  const start = 2 * Math.max(0, intervalS);
  if (ageS <= start) return 0;
  if (start >= capS) return 1;
  return Math.min(1, (ageS - start) / (capS - start));
}

/**
 * A correction being blended out: the displayed position was `dn`/`de`/`du`
 * metres off the new prediction at `t0`, and the offset decays linearly to
 * zero over `durS` seconds.
 */
export interface Correction {
  dn: number;
  de: number;
  du: number;
  t0: number;
  durS: number;
}

export interface BlendOptions {
  /** Shortest blend, seconds. Default 1. */
  minDurS?: number;
  /** Longest blend, seconds; a correction that would need longer snaps. Default 20. */
  maxDurS?: number;
  /** Offsets larger than this (metres) snap instead of blending. Default 30,000. */
  snapM?: number;
  /**
   * Fraction of the aircraft's speed the correction may take away while it
   * decays, so the marker keeps moving forward. Default 0.8.
   */
  maxSlowdown?: number;
}

/**
 * The correction that makes the marker glide from `displayed` to the new
 * prediction `predicted`, or null when no blending is needed (or the gap is
 * too large to glide within `snapM` / `maxDurS`: then the marker snaps).
 *
 * When the marker was ahead along the track (over-extrapolated), the blend
 * lasts long enough that the along-track offset decays slower than
 * `maxSlowdown × speed`: the marker slows down instead of moving backwards.
 */
export function makeCorrection(
  displayed: GeoPoint,
  predicted: GeoPoint,
  options: BlendOptions & { nowS: number; speedMps: number | null; trackDeg: number | null },
): Correction | null {
  return makeCorrectionInto(displayed, predicted, { ...options, out: null });
}

/**
 * {@link makeCorrection} written into `options.out` when there is one
 * (reused: no allocation), else into a new object.
 */
export function makeCorrectionInto(
  displayed: GeoPoint,
  predicted: GeoPoint,
  options: BlendOptions & {
    nowS: number;
    speedMps: number | null;
    trackDeg: number | null;
    out: Correction | null;
  },
): Correction | null {
  const minDur = options.minDurS ?? 1;
  const maxDur = options.maxDurS ?? 20;
  const snapM = options.snapM ?? 30_000;
  const slow = options.maxSlowdown ?? 0.8;
  // lib/geo offsetMetres from `predicted` to `displayed`, without its pair.
  const dn = (displayed.lat - predicted.lat) * DEG * EARTH_RADIUS_M;
  const de = wrap(displayed.lon - predicted.lon) * DEG * EARTH_RADIUS_M *
    Math.max(1e-6, Math.cos(predicted.lat * DEG));
  const du = displayed.altM - predicted.altM;
  const horiz = Math.sqrt(dn * dn + de * de);
  if (horiz < 0.5 && Math.abs(du) < 0.5) return null;
  if (horiz > snapM) return null;
  let durS = minDur;
  const speed = options.speedMps ?? 0;
  if (options.trackDeg !== null && speed > 1) {
    const tr = options.trackDeg * Math.PI / 180;
    const along = dn * Math.cos(tr) + de * Math.sin(tr);
    if (along > 0) durS = Math.max(durS, along / (slow * speed));
  }
  // Gliding back would take too long: snap (rare: the aircraft turned hard or was lost).
  if (durS > maxDur) return null;
  const out = options.out ?? { dn: 0, de: 0, du: 0, t0: 0, durS: 0 };
  out.dn = dn;
  out.de = de;
  out.du = du;
  out.t0 = options.nowS;
  out.durS = durS;
  return out;
}

/** Remaining weight of a correction at `nowS`: 1 at its start, 0 when done. */
export function correctionWeight(c: Correction, nowS: number): number {
  const f = (nowS - c.t0) / c.durS;
  return f <= 0 ? 1 : f >= 1 ? 0 : 1 - f;
}

/** `p` with what remains of correction `c` at `nowS` added (a new object). */
export function applyCorrection(p: GeoPoint, c: Correction | null, nowS: number): GeoPoint {
  const out = { lat: p.lat, lon: p.lon, altM: p.altM };
  return applyCorrectionInto(out, c, nowS);
}

/** What remains of correction `c` at `nowS` added to `p` in place. */
export function applyCorrectionInto(p: GeoPoint, c: Correction | null, nowS: number): GeoPoint {
  if (c === null) return p;
  const w = correctionWeight(c, nowS);
  if (w === 0) return p;
  moveInto(p, c.dn * w, c.de * w);
  p.altM = Math.max(0, p.altM + c.du * w);
  return p;
}

/**
 * Smoothed estimate of an aircraft's update interval, seconds, from the
 * previous estimate and the gap between two measured positions (gaps
 * outside 0.5..120 s are ignored: duplicates, or the aircraft was lost).
 */
export function nextInterval(previousS: number | null, gapS: number): number | null {
  if (!(gapS >= 0.5 && gapS <= 120)) return previousS;
  return previousS === null ? gapS : previousS * 0.7 + gapS * 0.3;
}
