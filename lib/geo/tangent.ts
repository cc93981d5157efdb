/**
 * Small steps on the local tangent plane, in plain numbers for hot loops
 * (dead reckoning and blending run per aircraft per animation frame, so no
 * objects are made here beyond the returned pair). Accurate to well under a
 * metre over the tens of kilometres they are used for; use
 * {@link createEnuFrame} or {@link destinationPoint} for longer distances.
 *
 * @module
 */
import { wrapLon } from "./sphere.ts";
import { DEG, EARTH_RADIUS_M } from "./units.ts";

/** Offsets in metres `[north, east]` from `(lat0, lon0)` to `(lat, lon)`. */
export function offsetMetres(
  lat0: number,
  lon0: number,
  lat: number,
  lon: number,
): [number, number] {
  const dn = (lat - lat0) * DEG * EARTH_RADIUS_M;
  const de = wrapLon(lon - lon0) * DEG * EARTH_RADIUS_M * Math.max(1e-6, Math.cos(lat0 * DEG));
  return [dn, de];
}

/** `(lat, lon)` moved `dn` metres north and `de` metres east, as `[lat, lon]`. */
export function moveMetres(lat: number, lon: number, dn: number, de: number): [number, number] {
  const lat2 = lat + dn / EARTH_RADIUS_M / DEG;
  const cos = Math.max(1e-6, Math.cos(lat * DEG));
  const lon2 = wrapLon(lon + de / (EARTH_RADIUS_M * cos) / DEG);
  return [Math.max(-90, Math.min(90, lat2)), lon2];
}
