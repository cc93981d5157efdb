/**
 * Where to point the camera so that a set of aircraft fills the view: the
 * spherical centroid of their positions and a camera altitude (globe.gl's
 * fraction of the radius) from their spread, ignoring the farthest 5 %. Pure.
 *
 * @module
 */
import { EARTH_RADIUS_M, haversineM } from "../geo/mod.ts";

export function framingPov(
  positions: readonly { lat: number; lon: number }[],
): { lat: number; lng: number; altitude: number } | null {
  if (positions.length === 0) return null;
  const r = Math.PI / 180;
  let x = 0, y = 0, z = 0;
  for (const p of positions) {
    x += Math.cos(p.lat * r) * Math.cos(p.lon * r);
    y += Math.cos(p.lat * r) * Math.sin(p.lon * r);
    z += Math.sin(p.lat * r);
  }
  const n = Math.hypot(x, y, z);
  if (n < 1e-9) return { lat: 0, lng: 0, altitude: 2.5 };
  const lat = Math.asin(z / n) / r;
  const lng = Math.atan2(y, x) / r;
  const d = positions.map((p) => haversineM({ lat: lat, lon: lng }, { lat: p.lat, lon: p.lon }))
    .sort((a, b) => a - b);
  const spread = d[Math.min(d.length - 1, Math.floor(d.length * 0.95))]!;
  // globe.gl's 50 degree field of view shows about 0.9 x altitude radii of
  // ground across the half-height; keep some margin around the aircraft.
  const altitude = Math.max(0.08, Math.min(2.5, (spread / EARTH_RADIUS_M) * 4));
  return { lat, lng, altitude };
}
