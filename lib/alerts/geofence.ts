/**
 * Geofence geometry: containment and bounding boxes of circles and polygons.
 *
 * Circles use great-circle distance (lib/geo). Polygons use the even-odd
 * rule on latitude/longitude treated as planar coordinates: exact enough for
 * the areas people draw around an airport or a town (edges of a few hundred
 * km), and cheap. A polygon must not cross the antimeridian.
 *
 * @module
 */
import type { Geofence } from "../../contracts/alerts.ts";
import { destinationPoint, haversineM, type LatLon } from "../geo/sphere.ts";
import { DEG, EARTH_RADIUS_M } from "../geo/units.ts";

/** Degrees: `[minLat, minLon, maxLat, maxLon]`; `minLon > maxLon` crosses the antimeridian. */
export type Bounds = readonly [number, number, number, number];

/** A geofence prepared for repeated tests (polygon arrays flattened, bounds computed). */
export interface PreparedGeofence {
  readonly bounds: Bounds;
  /** True when `p` is inside (or on the edge). */
  contains(p: LatLon): boolean;
  /** Metres from the circle's centre, or null for polygons. */
  centerDistanceM(p: LatLon): number | null;
}

const M_PER_DEG = EARTH_RADIUS_M * DEG;

/** Prepares a geofence of the rule object. */
export function prepareGeofence(geofence: Geofence): PreparedGeofence {
  if ("center" in geofence) return prepareCircle(geofence.center, geofence.radius_m);
  return preparePolygon(geofence.polygon);
}

function prepareCircle(center: readonly [number, number], radiusM: number): PreparedGeofence {
  const c = { lat: center[0], lon: center[1] };
  const dLat = radiusM / M_PER_DEG;
  const minLat = Math.max(-90, c.lat - dLat);
  const maxLat = Math.min(90, c.lat + dLat);
  // The widest longitude span is at the latitude nearest a pole within the circle.
  const poleward = Math.max(Math.abs(minLat), Math.abs(maxLat));
  const cos = Math.cos(poleward * DEG);
  let bounds: Bounds;
  if (maxLat >= 90 || minLat <= -90 || cos < 1e-6 || radiusM / (M_PER_DEG * cos) >= 180) {
    bounds = [minLat, -180, maxLat, 180];
  } else {
    const dLon = radiusM / (M_PER_DEG * cos);
    bounds = [minLat, wrap(c.lon - dLon), maxLat, wrap(c.lon + dLon)];
  }
  return {
    bounds,
    contains: (p) => haversineM(c, p) <= radiusM,
    centerDistanceM: (p) => haversineM(c, p),
  };
}

function preparePolygon(corners: readonly (readonly [number, number])[]): PreparedGeofence {
  const n = corners.length;
  const lat = new Float64Array(n);
  const lon = new Float64Array(n);
  let minLat = Infinity, minLon = Infinity, maxLat = -Infinity, maxLon = -Infinity;
  corners.forEach(([a, o], i) => {
    lat[i] = a;
    lon[i] = o;
    minLat = Math.min(minLat, a);
    maxLat = Math.max(maxLat, a);
    minLon = Math.min(minLon, o);
    maxLon = Math.max(maxLon, o);
  });
  return {
    bounds: [minLat, minLon, maxLat, maxLon],
    contains(p) {
      if (p.lat < minLat || p.lat > maxLat || p.lon < minLon || p.lon > maxLon) return false;
      let inside = false;
      for (let i = 0, j = n - 1; i < n; j = i++) {
        const yi = lat[i]!, yj = lat[j]!, xi = lon[i]!, xj = lon[j]!;
        if ((yi > p.lat) !== (yj > p.lat)) {
          const x = xi + ((p.lat - yi) * (xj - xi)) / (yj - yi);
          if (p.lon === x) return true;
          if (p.lon < x) inside = !inside;
        }
      }
      return inside;
    },
    centerDistanceM: () => null,
  };
}

/**
 * The outline of a geofence as `[lat, lon]` corners (the ring is closed by
 * the caller): a polygon's own corners, a circle as `steps` points on it.
 * What the globe draws for a rule.
 */
export function geofenceOutline(geofence: Geofence, steps = 96): [number, number][] {
  if (!("center" in geofence)) return geofence.polygon.map(([a, o]) => [a, o]);
  const c = { lat: geofence.center[0], lon: geofence.center[1] };
  const out: [number, number][] = [];
  for (let i = 0; i < steps; i++) {
    const p = destinationPoint(c, (360 * i) / steps, geofence.radius_m);
    out.push([p.lat, p.lon]);
  }
  return out;
}

/**
 * The circle drawn by pressing at `centre` and releasing at `edge`: centre
 * rounded to 1e-5 degree (about a metre), radius to the metre, at least the
 * contract's 10 m.
 */
export function circleFromDrag(
  centre: LatLon,
  edge: LatLon,
): { center: [number, number]; radius_m: number } {
  const round = (v: number) => Math.round(v * 1e5) / 1e5;
  return {
    center: [round(centre.lat), round(centre.lon)],
    radius_m: Math.max(10, Math.round(haversineM(centre, edge))),
  };
}

function wrap(lon: number): number {
  if (lon < -180) return lon + 360;
  if (lon > 180) return lon - 360;
  return lon;
}
