/**
 * Compact Position Reporting (DO-260B 2.2.5.2.7 / A.1.7): a 17-bit latitude
 * and longitude in one of two zone grids, "even" (60 latitude zones) and
 * "odd" (59). Airborne positions span 360 degrees of latitude per zone set;
 * surface positions 90 degrees (four times the resolution, and a quadrant
 * to pick from a reference).
 *
 * - Global decoding takes one even and one odd message (close in time) and
 *   is unambiguous; it fails when the two fall in different longitude zone
 *   counts (NL), which means the aircraft crossed a zone boundary between them.
 * - Local decoding takes one message and a reference within half a zone
 *   (about 180 NM airborne, 45 NM on the surface) and picks the nearest
 *   solution.
 *
 * @module
 */

/** Latitude zones per hemisphere quarter. */
export const NZ = 15;
/** 2^17: the CPR fields' scale. */
export const CPR_SCALE = 131072;

/** A decoded CPR field pair. `odd` is the F bit. */
export interface CprFrame {
  /** 17-bit encoded latitude. */
  lat: number;
  /** 17-bit encoded longitude. */
  lon: number;
  odd: boolean;
}

export interface LatLon {
  lat: number;
  lon: number;
}

function mod(a: number, b: number): number {
  const r = a % b;
  return r < 0 ? r + b : r;
}

/**
 * Number of longitude zones at a latitude, 1..59 (DO-260B A.1.7.2 d). The
 * closed form; transition latitudes land exactly on the published table to
 * well below CPR resolution.
 */
export function nl(lat: number): number {
  const a = Math.abs(lat);
  if (a === 0) return 59;
  if (a === 87) return 2;
  if (a > 87) return 1;
  const c = Math.cos((Math.PI / 180) * a);
  const t = 1 - (1 - Math.cos(Math.PI / (2 * NZ))) / (c * c);
  return Math.floor((2 * Math.PI) / Math.acos(t));
}

function dLat(odd: boolean, surface: boolean): number {
  return (surface ? 90 : 360) / (4 * NZ - (odd ? 1 : 0));
}

function dLon(lat: number, odd: boolean, surface: boolean): number {
  return (surface ? 90 : 360) / Math.max(nl(lat) - (odd ? 1 : 0), 1);
}

function wrapLon(lon: number): number {
  return lon >= 180 ? lon - 360 : lon < -180 ? lon + 360 : lon;
}

/**
 * Local decoding of one frame against a reference position.
 * The result is the solution nearest to the reference; it is right only
 * when the true position is within half a zone of the reference.
 */
export function decodeCprLocal(frame: CprFrame, ref: LatLon, surface = false): LatLon {
  const latC = frame.lat / CPR_SCALE;
  const lonC = frame.lon / CPR_SCALE;
  const dlat = dLat(frame.odd, surface);
  const j = Math.floor(ref.lat / dlat) + Math.floor(0.5 + mod(ref.lat, dlat) / dlat - latC);
  const lat = dlat * (j + latC);
  const dlon = dLon(lat, frame.odd, surface);
  const m = Math.floor(ref.lon / dlon) + Math.floor(0.5 + mod(ref.lon, dlon) / dlon - lonC);
  return { lat, lon: wrapLon(dlon * (m + lonC)) };
}

/** Why a global decode failed. */
export type CprFailure = "zone_mismatch" | "bad_latitude" | "needs_reference";

/**
 * Global decoding of an even and an odd frame. `latestOdd` says which one
 * is newer: the position is that frame's. Surface frames need `ref` (the
 * receiver, or the aircraft's last position) to choose among the four
 * 90-degree solutions; airborne frames ignore it.
 */
export function decodeCprGlobal(
  even: CprFrame,
  odd: CprFrame,
  options: { latestOdd: boolean; surface?: boolean; ref?: LatLon | null },
): LatLon | CprFailure {
  const surface = options.surface ?? false;
  const span = surface ? 90 : 360;
  const latE = even.lat / CPR_SCALE;
  const latO = odd.lat / CPR_SCALE;
  const lonE = even.lon / CPR_SCALE;
  const lonO = odd.lon / CPR_SCALE;
  const j = Math.floor(59 * latE - 60 * latO + 0.5);
  let rlatE = dLat(false, surface) * (mod(j, 60) + latE);
  let rlatO = dLat(true, surface) * (mod(j, 59) + latO);
  if (!surface) {
    if (rlatE >= 270) rlatE -= 360;
    if (rlatO >= 270) rlatO -= 360;
  } else {
    const ref = options.ref;
    if (!ref) return "needs_reference";
    // Northern solution in [0, 90); the southern one is 90 degrees lower.
    if (Math.abs(rlatE - 90 - ref.lat) < Math.abs(rlatE - ref.lat)) rlatE -= 90;
    if (Math.abs(rlatO - 90 - ref.lat) < Math.abs(rlatO - ref.lat)) rlatO -= 90;
  }
  if (Math.abs(rlatE) > 90 || Math.abs(rlatO) > 90) return "bad_latitude";
  if (nl(rlatE) !== nl(rlatO)) return "zone_mismatch";
  const lat = options.latestOdd ? rlatO : rlatE;
  const zones = nl(lat);
  const ni = Math.max(zones - (options.latestOdd ? 1 : 0), 1);
  const m = Math.floor(lonE * (zones - 1) - lonO * zones + 0.5);
  let lon = (span / ni) * (mod(m, ni) + (options.latestOdd ? lonO : lonE));
  if (surface) {
    // Four solutions 90 degrees apart: take the one nearest the reference.
    const ref = options.ref!;
    let best = lon;
    for (let k = 0; k < 4; k++) {
      const cand = wrapLon(mod(lon + 90 * k, 360));
      if (Math.abs(wrapLon(cand - ref.lon)) < Math.abs(wrapLon(best - ref.lon))) best = cand;
    }
    lon = best;
  }
  return { lat, lon: wrapLon(mod(lon, 360)) };
}

/**
 * Encodes a position as a CPR frame (DO-260B A.1.7.3), for encoders and
 * test data.
 */
export function encodeCpr(pos: LatLon, options: { odd: boolean; surface?: boolean }): CprFrame {
  const surface = options.surface ?? false;
  const dlat = dLat(options.odd, surface);
  const yz = Math.floor(CPR_SCALE * mod(pos.lat, dlat) / dlat + 0.5);
  const rlat = dlat * (yz / CPR_SCALE + Math.floor(pos.lat / dlat));
  const dlon = dLon(rlat, options.odd, surface);
  const xz = Math.floor(CPR_SCALE * mod(pos.lon, dlon) / dlon + 0.5);
  return { lat: mod(yz, CPR_SCALE), lon: mod(xz, CPR_SCALE), odd: options.odd };
}
