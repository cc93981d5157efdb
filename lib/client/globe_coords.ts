/**
 * The globe's scene frame, as globe.gl draws it: a sphere of radius
 * {@link GLOBE_RADIUS} scene units centred on the origin, +Y to the north
 * pole, lat/lng mapped exactly as three-globe's `getCoords`. Geodesy on the
 * Earth itself (distances, tangent-plane steps) is lib/geo's; this file only
 * maps it into the scene. Pure: no DOM, no three.js.
 *
 * @module
 */
import { EARTH_RADIUS_M, moveMetres } from "../geo/mod.ts";

/** three-globe's globe radius, scene units. */
export const GLOBE_RADIUS = 100;
/** Metres per scene unit: altitudes and offsets on the globe are at true scale. */
export const METRES_PER_UNIT = EARTH_RADIUS_M / GLOBE_RADIUS;

const RAD = Math.PI / 180;

/** A 3-vector as a plain tuple. */
export type Vec3 = [number, number, number];

/** Altitude in metres as globe.gl's relative altitude (fraction of the globe radius). */
export function relativeAltitude(altM: number): number {
  return altM / EARTH_RADIUS_M;
}

/**
 * Scene coordinates of a point: the formula of three-globe's `getCoords`
 * (`phi` from the north pole, `theta` from lng 90°), so positions written
 * here match globe.gl's own layers. `relAlt` is a fraction of the radius.
 */
export function globeCoords(lat: number, lng: number, relAlt = 0, out: Vec3 = [0, 0, 0]): Vec3 {
  const phi = (90 - lat) * RAD;
  const theta = (90 - lng) * RAD;
  const r = GLOBE_RADIUS * (1 + relAlt);
  const s = Math.sin(phi);
  out[0] = r * s * Math.cos(theta);
  out[1] = r * Math.cos(phi);
  out[2] = r * s * Math.sin(theta);
  return out;
}

/** Inverse of {@link globeCoords}: lat, lng in degrees and relative altitude. */
export function toGeo(p: Vec3): { lat: number; lng: number; relAlt: number } {
  const r = Math.hypot(p[0], p[1], p[2]);
  const lat = 90 - Math.acos(Math.max(-1, Math.min(1, p[1] / r))) / RAD;
  let lng = 90 - Math.atan2(p[2], p[0]) / RAD;
  if (lng > 180) lng -= 360;
  return { lat, lng, relAlt: r / GLOBE_RADIUS - 1 };
}

/**
 * Local frame at a point: `up` (radial), `north` and `east` unit vectors in
 * scene coordinates. At the poles north is taken along -Z/+Z (any tangent
 * works there).
 */
export function localFrame(lat: number, lng: number): { up: Vec3; north: Vec3; east: Vec3 } {
  const phi = (90 - lat) * RAD;
  const theta = (90 - lng) * RAD;
  const sp = Math.sin(phi), cp = Math.cos(phi), st = Math.sin(theta), ct = Math.cos(theta);
  const up: Vec3 = [sp * ct, cp, sp * st];
  // d(position)/d(lat) is minus d/d(phi): the direction of increasing latitude.
  const north: Vec3 = [-cp * ct, sp, -cp * st];
  // d/d(lng) is minus d/d(theta).
  const east: Vec3 = [st, 0, -ct];
  return { up, north, east };
}

/** Unit vector along a track (degrees clockwise from north) in the local frame. */
export function headingVector(lat: number, lng: number, trackDeg: number): Vec3 {
  const { north, east } = localFrame(lat, lng);
  const c = Math.cos(trackDeg * RAD), s = Math.sin(trackDeg * RAD);
  return [c * north[0] + s * east[0], c * north[1] + s * east[1], c * north[2] + s * east[2]];
}

/**
 * Camera placement behind and above an aircraft for the cockpit view:
 * `back` metres behind along the track, `above` metres up, looking at a
 * point `ahead` metres in front of it. Returns scene positions and the
 * local up vector (the camera's `up`, so the horizon stays level).
 */
export function chaseCamera(
  aircraft: { lat: number; lng: number; altM: number; trackDeg: number },
  options: { back: number; above: number; ahead: number },
): { position: Vec3; target: Vec3; up: Vec3 } {
  const { lat, lng, altM, trackDeg } = aircraft;
  const c = Math.cos(trackDeg * RAD), s = Math.sin(trackDeg * RAD);
  const [blat, blng] = moveMetres(lat, lng, -options.back * c, -options.back * s);
  const [alat, alng] = moveMetres(lat, lng, options.ahead * c, options.ahead * s);
  const position = globeCoords(blat, blng, relativeAltitude(Math.max(0, altM) + options.above));
  const target = globeCoords(alat, alng, relativeAltitude(Math.max(0, altM)));
  return { position, target, up: localFrame(lat, lng).up };
}

/**
 * The point of the globe's surface nearest the camera direction and the
 * camera's height above the surface as a fraction of the radius: globe.gl's
 * `pointOfView()` computed from a camera position.
 */
export function pointOfViewOf(camera: Vec3): { lat: number; lng: number; altitude: number } {
  const g = toGeo(camera);
  return { lat: g.lat, lng: g.lng, altitude: g.relAlt };
}

/** True when a scene point on (or just above) the sphere faces the camera (not behind the globe). */
export function facesCamera(point: Vec3, camera: Vec3): boolean {
  const dx = camera[0] - point[0], dy = camera[1] - point[1], dz = camera[2] - point[2];
  return point[0] * dx + point[1] * dy + point[2] * dz > 0;
}
