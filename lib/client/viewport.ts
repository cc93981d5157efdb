/**
 * What part of the Earth the globe shows, as the `bbox` of a `subscribe`:
 * the hub then sends only the aircraft there (issue #10, viewport tiles).
 *
 * The camera of globe.gl orbits the centre of the Earth and looks at it, so
 * the view is a spherical cap around the point of view: its radius is the
 * smaller of the horizon (how far one sees from that height) and the
 * field of view (how much of the sphere the frustum's corners reach). The
 * subscribed box is that cap plus a margin, widened to whole degrees (equal
 * boxes share the hub's buckets); a view that reaches a pole or most of
 * the globe subscribes to the whole world (no bbox).
 *
 * Hysteresis: a new box is sent only when the view leaves the subscribed
 * box or the box became much larger than needed (after zooming in), so a
 * small pan or zoom sends nothing. Pure.
 *
 * @module
 */
import type { BBox } from "../../contracts/common.ts";
import { DEG, wrapLon } from "../geo/mod.ts";

/** globe.gl's point of view: degrees, and the camera's height as a fraction of the radius. */
export interface PointOfView {
  lat: number;
  lng: number;
  altitude: number;
}

export interface ViewportOptions {
  /** Vertical field of view, degrees. globe.gl: 50. */
  fovDeg?: number;
  /** Width / height of the canvas. Default 16/9. */
  aspect?: number;
  /** Extra radius around the view, as a fraction of its radius. Default 0.5. */
  margin?: number;
  /** Smallest cap radius, degrees (the cockpit view looks at the horizon from low). Default 3. */
  minRadiusDeg?: number;
  /** Re-subscribe once the box is this many times the area it needs. Default 4. */
  shrinkRatio?: number;
}

/** Angular radius of the part of the sphere the camera sees, degrees. */
export function viewRadiusDeg(pov: PointOfView, options: ViewportOptions = {}): number {
  const d = 1 + Math.max(1e-6, pov.altitude); // camera distance, in Earth radii
  const horizon = Math.acos(1 / d);
  const halfV = ((options.fovDeg ?? 50) / 2) * DEG;
  const aspect = options.aspect ?? 16 / 9;
  // The frustum's corner ray, angle off the line to the centre.
  const corner = Math.atan(Math.tan(halfV) * Math.hypot(1, aspect));
  const s = d * Math.sin(corner);
  // Where the corner ray meets the sphere: central angle asin(d sin a) - a;
  // past the horizon the ray misses it and the horizon bounds the view.
  const fov = s >= 1 ? horizon : Math.asin(s) - corner;
  return Math.min(horizon, fov) / DEG;
}

/**
 * The box `[lamin, lomin, lamax, lomax]` around a cap of `radiusDeg`
 * around `(lat, lng)`, widened to whole degrees; null when it is the
 * whole world. `lomin > lomax` is a box across the antimeridian.
 */
export function capBox(lat: number, lng: number, radiusDeg: number): BBox | null {
  if (radiusDeg >= 90) return null;
  const lamin = lat - radiusDeg;
  const lamax = lat + radiusDeg;
  // A cap over a pole spans every longitude.
  if (lamin <= -90 || lamax >= 90) {
    return [Math.max(-90, Math.floor(lamin)), -180, Math.min(90, Math.ceil(lamax)), 180];
  }
  const sinDLon = Math.sin(radiusDeg * DEG) / Math.cos(lat * DEG);
  if (sinDLon >= 1) return [Math.floor(lamin), -180, Math.ceil(lamax), 180];
  const dLon = Math.asin(sinDLon) / DEG;
  if (dLon >= 180) return [Math.floor(lamin), -180, Math.ceil(lamax), 180];
  let lomin = Math.floor(wrapLon(lng - dLon));
  let lomax = Math.ceil(wrapLon(lng + dLon));
  if (lomax === -180 && lomin > 0) lomax = 180;
  if (lomin === 180) lomin = -180;
  return [Math.floor(lamin), lomin, Math.ceil(lamax), lomax];
}

/** Whole world as a box, for the arithmetic. */
const WORLD: BBox = [-90, -180, 90, 180];

function lonSpan(b: BBox): number {
  if (b[1] === -180 && b[3] === 180) return 360;
  return ((b[3] - b[1]) % 360 + 360) % 360;
}

/** Fraction of the sphere's area inside `b` (null: the world, 1). */
export function boxArea(b: BBox | null): number {
  const box = b ?? WORLD;
  return ((Math.sin(box[2] * DEG) - Math.sin(box[0] * DEG)) / 2) * (lonSpan(box) / 360);
}

/** True when `inner` lies inside `outer` (null: the world). */
export function boxContains(outer: BBox | null, inner: BBox | null): boolean {
  if (outer === null) return true;
  if (inner === null) return false;
  if (inner[0] < outer[0] || inner[2] > outer[2]) return false;
  const outerSpan = lonSpan(outer);
  if (outerSpan >= 360) return true;
  const offset = ((inner[1] - outer[1]) % 360 + 360) % 360;
  return offset + lonSpan(inner) <= outerSpan;
}

/**
 * The box the camera needs (`view`, no margin) and the one to subscribe to
 * (`want`, with the margin); null is the whole world.
 */
export function viewportBoxes(
  pov: PointOfView,
  options: ViewportOptions = {},
): { view: BBox | null; want: BBox | null } {
  const r = Math.max(options.minRadiusDeg ?? 3, viewRadiusDeg(pov, options));
  const lat = Math.max(-90, Math.min(90, pov.lat));
  const lng = wrapLon(pov.lng);
  const wanted = capBox(lat, lng, r * (1 + (options.margin ?? 0.5)));
  // Past about a quarter of the sphere a box saves little: take the world.
  const want = wanted && boxArea(wanted) < 0.25 ? wanted : null;
  return { view: capBox(lat, lng, r), want };
}

/**
 * Keeps the subscribed box and says when to change it: the camera left it,
 * or it holds `shrinkRatio` times the area wanted now.
 */
export class ViewportTracker {
  readonly #options: ViewportOptions;
  #current: BBox | null = null;
  #view: BBox | null = null;
  #started = false;

  constructor(options: ViewportOptions = {}) {
    this.#options = options;
  }

  /** The subscribed box; null for the whole world. */
  get bbox(): BBox | null {
    return this.#current;
  }

  /** The box the camera shows now, without the margin (for "aircraft in view"); null: the world. */
  get view(): BBox | null {
    return this.#view;
  }

  /** Feeds a camera position; returns true when the subscription should change to {@link bbox}. */
  update(pov: PointOfView, options: Pick<ViewportOptions, "aspect"> = {}): boolean {
    const { view, want } = viewportBoxes(pov, { ...this.#options, ...options });
    this.#view = view;
    const keep = this.#started && boxContains(this.#current, view) &&
      boxArea(this.#current) <= (this.#options.shrinkRatio ?? 4) * boxArea(want);
    if (keep || (this.#started && sameBox(this.#current, want))) return false;
    this.#started = true;
    this.#current = want;
    return true;
  }
}

function sameBox(a: BBox | null, b: BBox | null): boolean {
  return a === b || (a !== null && b !== null && a.every((v, i) => v === b[i]));
}
