/**
 * The aircraft layer's instance data: what one aircraft's slot holds so the
 * vertex shader (aircraft_shader.ts) can dead-reckon, turn, size and colour
 * it at any time without JavaScript per frame. A slot is written only when
 * the aircraft's data (or its selection / search / emergency state) changes;
 * a frame only sets the time uniform.
 *
 * Layout: {@link STRIDE} float32 per aircraft, interleaved:
 *
 * | floats | attribute | content (unit) |
 * |---|---|---|
 * | 0-3 | `aBase` | sin φ, cos φ, sin θ, cos θ of the measured position (φ = 90° − lat, θ = 90° − lon, globe.gl's angles) |
 * | 4-7 | `aKin` | measured altitude (m), position time (s since the layer's epoch), 1 / cos(lat), update interval (s) |
 * | 8-11 | `aVel` | north, east, vertical speed (m/s; vertical 0 on the ground or unknown), blend duration (s) |
 * | 12-15 | `aCorr` | blend offset north, east, up (m), blend start (s since the epoch) |
 * | 16-19 | `aStyle` | cos, sin of the track, mode (0 plain, 1 selected, 2 search match), on ground (0/1) |
 * | 20-23 | `aColour` | base colour r, g, b (linear 0..1; altitude or emergency), unused |
 *
 * The shader uses no trigonometric function: the position's sines and
 * cosines come from the CPU (float64, then float32) and the few kilometres
 * of dead reckoning rotate them by angle addition with short Taylor series
 * (GPU `sin`/`cos` are far too coarse for metres on a 6,371 km sphere:
 * SwiftShader's put markers 600 m off). The rule is the reference's
 * (lib/geo `moveMetres`): latitude + north / R, longitude + east / (R cos lat).
 *
 * Times are relative to an epoch (unix seconds) the layer picks near the
 * data time, because float32 cannot hold unix seconds to better than 128 s.
 *
 * {@link instanceAt} is the shader's arithmetic in JavaScript over the same
 * float32 data: picking and tests use it; the browser test checks the GPU
 * draws where it says.
 *
 * @module
 */
import {
  aircraftColour,
  EMERGENCY_COLOUR,
  GHOST_COLOUR,
  HIGHLIGHT_COLOUR,
} from "./colour_scale.ts";
import { EMERGENCY_SQUAWKS } from "./anomalies.ts";
import type { TrackedFlight } from "./flight_store.ts";
import { DEFAULT_INTERVAL_S } from "./flight_store.ts";
import { DEG, EARTH_RADIUS_M } from "../geo/mod.ts";
import { GLOBE_RADIUS, type Vec3 } from "./globe_coords.ts";

/** Floats per aircraft. */
export const STRIDE = 24;
/** Offsets of the attributes (vec4 each) in a slot. */
export const OFFSET = { base: 0, kin: 4, vel: 8, corr: 12, style: 16, colour: 20 } as const;

/** Slot modes (the `aMode.z` float). */
export const MODE_PLAIN = 0;
export const MODE_SELECTED = 1;
export const MODE_MATCH = 2;

/** Marker size factors: selected (outside / inside cockpit view), search match, on the ground. */
export const SIZE_SELECTED = 1.7;
export const SIZE_COCKPIT = 4;
export const SIZE_MATCH = 1.5;
export const SIZE_GROUND = 0.7;

/** Ground traffic and low aircraft sit this many metres up so they do not sink into the globe. */
export const MIN_ALT_M = 30;

/** Per-frame values shared by every instance (the shader's uniforms). */
export interface InstanceUniforms {
  /** Frame time, seconds since the epoch. */
  now: number;
  /** Extrapolation cap, seconds. */
  capS: number;
  /** Scene units per pixel at unit distance × marker length in pixels. */
  pxScale: number;
  /** Size factor of the selected aircraft ({@link SIZE_SELECTED} or {@link SIZE_COCKPIT}). */
  selectedSize: number;
  /** A search is active: everything that is neither match nor selected is dimmed. */
  search: boolean;
}

/** Where and how an instance is drawn at a time (see {@link instanceAt}). */
export interface InstanceState {
  position: Vec3;
  /** Unit vector of the nose. */
  forward: Vec3;
  /** Unit vector away from the globe's centre. */
  up: Vec3;
  /** 0 fresh .. 1 ghost. */
  ghost: number;
  /** Linear RGB after ghosting, selection and search dimming. */
  colour: Vec3;
  /** Marker size factor (× pxScale × distance to the camera = length in scene units). */
  size: number;
}

/** The emergency rule of the markers (active event or emergency squawk). */
export function isEmergency(t: TrackedFlight, emergencies: ReadonlySet<string>): boolean {
  const sq = t.flight.squawk;
  return emergencies.has(t.flight.icao24) || (sq !== null && sq in EMERGENCY_SQUAWKS);
}

/**
 * Writes `t`'s slot at float offset `o` of `out`: its measured state, the
 * blend in progress, its mode and base colour. No allocation.
 */
export function packInstance(
  out: Float32Array,
  o: number,
  t: TrackedFlight,
  style: { epochS: number; mode: number; emergency: boolean },
): void {
  const k = t.kinematics;
  const f = t.flight;
  const track = (k.trackDeg ?? 0) * DEG;
  const v = k.speedMps !== null && k.trackDeg !== null ? k.speedMps : 0;
  const climbs = !k.onGround && k.vrateMps !== null && k.altM !== null;
  const phi = (90 - k.lat) * DEG, theta = (90 - k.lon) * DEG;
  out[o] = Math.sin(phi);
  out[o + 1] = Math.cos(phi);
  out[o + 2] = Math.sin(theta);
  out[o + 3] = Math.cos(theta);
  out[o + 4] = k.altM ?? 0;
  out[o + 5] = k.t - style.epochS;
  out[o + 6] = 1 / Math.max(1e-6, Math.cos(k.lat * DEG));
  out[o + 7] = t.intervalS ?? DEFAULT_INTERVAL_S;
  const c = t.correction;
  out[o + 8] = v * Math.cos(track);
  out[o + 9] = v * Math.sin(track);
  out[o + 10] = climbs ? k.vrateMps! : 0;
  out[o + 11] = c ? Math.max(1e-3, c.durS) : 1;
  out[o + 12] = c ? c.dn : 0;
  out[o + 13] = c ? c.de : 0;
  out[o + 14] = c ? c.du : 0;
  out[o + 15] = c ? c.t0 - style.epochS : 0;
  out[o + 16] = Math.cos(track);
  out[o + 17] = Math.sin(track);
  out[o + 18] = style.mode;
  out[o + 19] = f.on_ground ? 1 : 0;
  const base = style.emergency
    ? EMERGENCY_COLOUR
    : aircraftColour(f.altitude_m ?? f.geo_altitude_m, f.on_ground);
  out[o + 20] = base[0];
  out[o + 21] = base[1];
  out[o + 22] = base[2];
  out[o + 23] = 0;
}

const f32 = Math.fround;

/** sin and cos of a small angle (|x| < 0.05 rad: error < 1e-12), as the shader computes them. */
function sinSmall(x: number): number {
  const x2 = x * x;
  return x * (1 - x2 / 6 * (1 - x2 / 20));
}
function cosSmall(x: number): number {
  const x2 = x * x;
  return 1 - x2 / 2 * (1 - x2 / 12 * (1 - x2 / 30));
}

/**
 * The vertex shader's arithmetic for slot `o` at `u.now` (float32 inputs,
 * float64 arithmetic): where the marker is, which way it points, how
 * ghostly, what colour and size. Keep in step with aircraft_shader.ts.
 */
export function instanceAt(
  data: Float32Array,
  o: number,
  u: InstanceUniforms,
  out: InstanceState = emptyState(),
): InstanceState {
  const now = f32(u.now);
  const age = now - data[o + 5]!;
  const dt = Math.min(u.capS, Math.max(0, age));
  const w = Math.min(1, Math.max(0, 1 - (now - data[o + 15]!) / data[o + 11]!));
  const dn = data[o + 8]! * dt + data[o + 12]! * w;
  const de = data[o + 9]! * dt + data[o + 13]! * w;
  const altM = data[o + 4]! + data[o + 10]! * dt + data[o + 14]! * w;
  // φ falls going north, θ falls going east.
  const dPhi = -dn / EARTH_RADIUS_M, dTheta = -de * data[o + 6]! / EARTH_RADIUS_M;
  const sd = sinSmall(dPhi), cd = cosSmall(dPhi), se = sinSmall(dTheta), ce = cosSmall(dTheta);
  const sp0 = data[o]!, cp0 = data[o + 1]!, st0 = data[o + 2]!, ct0 = data[o + 3]!;
  const sp = sp0 * cd + cp0 * sd, cp = cp0 * cd - sp0 * sd;
  const st = st0 * ce + ct0 * se, ct = ct0 * ce - st0 * se;
  const ground = data[o + 19]! > 0.5;
  const alt = ground ? MIN_ALT_M : Math.max(MIN_ALT_M, altM);
  const r = GLOBE_RADIUS * (1 + alt / EARTH_RADIUS_M);
  out.up[0] = sp * ct;
  out.up[1] = cp;
  out.up[2] = sp * st;
  out.position[0] = r * out.up[0];
  out.position[1] = r * out.up[1];
  out.position[2] = r * out.up[2];
  const cT = data[o + 16]!, sT = data[o + 17]!;
  // forward = cos(track) * north + sin(track) * east
  out.forward[0] = -cT * cp * ct + sT * st;
  out.forward[1] = cT * sp;
  out.forward[2] = -cT * cp * st - sT * ct;
  const start = 2 * Math.max(0, data[o + 7]!);
  out.ghost = age <= start
    ? 0
    : start >= u.capS
    ? 1
    : Math.min(1, (age - start) / (u.capS - start));
  const mode = Math.round(data[o + 18]!);
  for (let j = 0; j < 3; j++) {
    let c = data[o + 20 + j]! + (GHOST_COLOUR[j]! - data[o + 20 + j]!) * out.ghost * 0.85;
    if (mode === MODE_SELECTED) c += (HIGHLIGHT_COLOUR[j]! - c) * 0.35;
    else if (u.search && mode !== MODE_MATCH) c += (GHOST_COLOUR[j]! - c) * 0.75;
    out.colour[j] = c;
  }
  const size = mode === MODE_SELECTED ? u.selectedSize : mode === MODE_MATCH ? SIZE_MATCH : 1;
  out.size = size * (ground ? SIZE_GROUND : 1);
  return out;
}

/** A reusable {@link InstanceState}. */
export function emptyState(): InstanceState {
  return {
    position: [0, 0, 0],
    forward: [0, 1, 0],
    up: [0, 0, 1],
    ghost: 0,
    colour: [0, 0, 0],
    size: 1,
  };
}
