/**
 * Great-circle geometry on the mean-radius sphere ({@link EARTH_RADIUS_M}).
 * The spherical model is off by at most ~0.5 % against WGS-84, far below
 * what ADS-B positions and the detectors' thresholds care about.
 *
 * @module
 */
import { normalizeDeg } from "./angles.ts";
import { DEG, EARTH_RADIUS_M } from "./units.ts";

/** A point in degrees. */
export interface LatLon {
  lat: number;
  lon: number;
}

/** Great-circle distance in metres (haversine: well-conditioned at small distances). */
export function haversineM(a: LatLon, b: LatLon): number {
  const dLat = (b.lat - a.lat) * DEG;
  const dLon = (b.lon - a.lon) * DEG;
  const s = Math.sin(dLat / 2) ** 2 +
    Math.cos(a.lat * DEG) * Math.cos(b.lat * DEG) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(s)));
}

/** Initial bearing from `a` towards `b`, degrees clockwise from true north, [0, 360). */
export function initialBearingDeg(a: LatLon, b: LatLon): number {
  const phi1 = a.lat * DEG;
  const phi2 = b.lat * DEG;
  const dLon = (b.lon - a.lon) * DEG;
  const y = Math.sin(dLon) * Math.cos(phi2);
  const x = Math.cos(phi1) * Math.sin(phi2) - Math.sin(phi1) * Math.cos(phi2) * Math.cos(dLon);
  return normalizeDeg(Math.atan2(y, x) / DEG);
}

/** The point reached from `start` after `distanceM` metres along initial bearing `bearingDeg`. */
export function destinationPoint(start: LatLon, bearingDeg: number, distanceM: number): LatLon {
  const delta = distanceM / EARTH_RADIUS_M;
  const theta = bearingDeg * DEG;
  const phi1 = start.lat * DEG;
  const lambda1 = start.lon * DEG;
  const sinPhi2 = Math.sin(phi1) * Math.cos(delta) +
    Math.cos(phi1) * Math.sin(delta) * Math.cos(theta);
  const phi2 = Math.asin(Math.max(-1, Math.min(1, sinPhi2)));
  const y = Math.sin(theta) * Math.sin(delta) * Math.cos(phi1);
  const x = Math.cos(delta) - Math.sin(phi1) * sinPhi2;
  const lambda2 = lambda1 + Math.atan2(y, x);
  return { lat: phi2 / DEG, lon: wrapLon(lambda2 / DEG) };
}

/** Wraps a longitude into [-180, 180). */
export function wrapLon(lon: number): number {
  const l = (lon + 180) % 360;
  return (l < 0 ? l + 360 : l) - 180;
}
