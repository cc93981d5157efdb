/**
 * A local east-north-up frame on the sphere: the tangent plane at a
 * reference point (ECEF rotated into east/north/up, with "up" dropped
 * because altitude is filtered separately). Exact round trip; distances in
 * the plane shrink by cos(angle from the reference), i.e. less than 0.5 m
 * at 20 km, which is why users re-centre the frame when they move away.
 *
 * @module
 */
import type { LatLon } from "./sphere.ts";
import { DEG, EARTH_RADIUS_M } from "./units.ts";
import { wrapLon } from "./sphere.ts";

/** Metres east and north of the frame's reference. */
export interface EastNorth {
  east: number;
  north: number;
}

/** A tangent-plane frame; create with {@link createEnuFrame}. */
export interface EnuFrame {
  readonly ref: Readonly<LatLon>;
  /** Degrees to metres east/north of the reference. */
  toEnu(p: LatLon): EastNorth;
  /** Metres east/north of the reference back to degrees. */
  fromEnu(e: number, n: number): LatLon;
  /**
   * Angle (degrees, clockwise) of local true north at `p` as seen in the
   * frame: a local track T points along frame angle T + convergence.
   */
  convergenceDeg(p: LatLon): number;
}

/** The tangent-plane frame at `ref`. */
export function createEnuFrame(ref: LatLon): EnuFrame {
  const phi0 = ref.lat * DEG;
  const lambda0 = ref.lon * DEG;
  const sin0 = Math.sin(phi0);
  const cos0 = Math.cos(phi0);
  const R = EARTH_RADIUS_M;
  return {
    ref: Object.freeze({ lat: ref.lat, lon: ref.lon }),
    toEnu(p) {
      const phi = p.lat * DEG;
      const dLambda = p.lon * DEG - lambda0;
      const cosPhi = Math.cos(phi);
      return {
        east: R * cosPhi * Math.sin(dLambda),
        north: R * (cos0 * Math.sin(phi) - sin0 * cosPhi * Math.cos(dLambda)),
      };
    },
    fromEnu(e, n) {
      const rho = Math.hypot(e, n);
      if (rho === 0) return { lat: ref.lat, lon: ref.lon };
      // Points further than a quarter of the globe have no tangent-plane image; clamp.
      const c = Math.asin(Math.min(1, rho / R));
      const sinC = Math.sin(c);
      const cosC = Math.cos(c);
      const phi = Math.asin(cosC * sin0 + (n * sinC * cos0) / rho);
      const lambda = lambda0 + Math.atan2(e * sinC, rho * cosC * cos0 - n * sinC * sin0);
      return { lat: phi / DEG, lon: wrapLon(lambda / DEG) };
    },
    convergenceDeg(p) {
      const phi = p.lat * DEG;
      const dLambda = p.lon * DEG - lambda0;
      // d(east, north)/d(lat): the direction of local north in the plane.
      const x = -Math.sin(phi) * Math.sin(dLambda);
      const y = cos0 * Math.cos(phi) + sin0 * Math.sin(phi) * Math.cos(dLambda);
      return Math.atan2(x, y) / DEG;
    },
  };
}
