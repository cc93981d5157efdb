/**
 * One animation frame of the aircraft layer: every aircraft of the store is
 * dead-reckoned to the frame's time, placed with globe.gl's coordinates,
 * turned to its track, sized to a constant on-screen length and coloured by
 * altitude (ghosts fade, search misses dim, emergencies turn red). Writes
 * into any {@link InstanceSink} (the three.js layer, or a plain array in
 * tests and the benchmark's points layer).
 *
 * @module
 */
import {
  aircraftColour,
  EMERGENCY_COLOUR,
  GHOST_COLOUR,
  HIGHLIGHT_COLOUR,
  mix,
  type Rgb,
} from "./colour_scale.ts";
import { EMERGENCY_SQUAWKS } from "./anomalies.ts";
import type { FlightStore, TrackedFlight } from "./flight_store.ts";
import { DEG, EARTH_RADIUS_M } from "../geo/mod.ts";
import { GLOBE_RADIUS, type Vec3 } from "./globe_coords.ts";
import { correctionWeight } from "./dead_reckoning.ts";
import type { InstancePose } from "./aircraft_layer.ts";

/** Where instances go. */
export interface InstanceSink {
  indexOf(id: string): number | undefined;
  write(i: number, pose: InstancePose, r: number, g: number, b: number): void;
}

/** What a frame depends on besides the store. */
export interface FrameState {
  /** Data time of the frame, unix seconds (live: server clock; time travel: the replay clock). */
  nowS: number;
  /** Camera position, scene units. */
  camera: Vec3;
  /** Scene units per pixel at unit distance: `2 tan(fov / 2) / viewport height`. */
  unitsPerPxAtOne: number;
  /** Marker length, pixels. */
  markerPx: number;
  selected: string | null;
  /** The selected aircraft is followed by the camera (drawn bigger). */
  cockpit: boolean;
  /** Search matches: everything else is dimmed. Null: no search. */
  highlight: ReadonlySet<string> | null;
  /** Aircraft with an active emergency event. */
  emergencies: ReadonlySet<string>;
}

/** Where one aircraft is drawn this frame (for the camera and the overlays). */
export interface DrawnAircraft {
  lat: number;
  lng: number;
  altM: number;
  trackDeg: number;
  ghost: number;
  position: Vec3;
}

const pose: InstancePose = { position: [0, 0, 0], forward: [0, 1, 0], up: [0, 0, 1], scale: 1 };
const colour: Rgb = [0, 0, 0];
const M_TO_DEG = 1 / (EARTH_RADIUS_M * DEG);

/** What stays the same between two updates of an aircraft, computed once per update. */
interface Prepared {
  cosTrack: number;
  sinTrack: number;
  /** Metres per second north and east. */
  vn: number;
  ve: number;
  /** Degrees of longitude per metre east at the measured latitude. */
  lonPerM: number;
  base: Rgb;
}

// Keyed by the kinematics object, which the store replaces on every update.
const prepared = new WeakMap<object, Prepared>();

function prepare(t: TrackedFlight): Prepared {
  const k = t.kinematics;
  let p = prepared.get(k);
  if (p) return p;
  const tr = (k.trackDeg ?? 0) * DEG;
  const v = k.speedMps !== null && k.trackDeg !== null ? k.speedMps : 0;
  const f = t.flight;
  p = {
    cosTrack: Math.cos(tr),
    sinTrack: Math.sin(tr),
    vn: v * Math.cos(tr),
    ve: v * Math.sin(tr),
    lonPerM: M_TO_DEG / Math.max(1e-6, Math.cos(k.lat * DEG)),
    base: aircraftColour(f.altitude_m ?? f.geo_altitude_m, f.on_ground),
  };
  prepared.set(k, p);
  return p;
}

/**
 * Writes every aircraft of `store` into `sink`; returns where the selected
 * one was drawn (null when it is not in the store).
 *
 * The hot loop: no allocation per aircraft, four trigonometric calls, the
 * per-update constants cached. The position is the one `store.displayAt`
 * gives (dead reckoning plus what is left of the blend; tested equal).
 */
export function writeFrame(
  store: FlightStore,
  sink: InstanceSink,
  frame: FrameState,
): DrawnAircraft | null {
  let selected: DrawnAircraft | null = null;
  const capS = store.capS;
  const now = frame.nowS;
  const [cx, cy, cz] = frame.camera;
  const pxScale = frame.unitsPerPxAtOne * frame.markerPx;
  for (const t of store.flights.values()) {
    const i = sink.indexOf(t.flight.icao24);
    if (i === undefined) continue;
    const k = t.kinematics;
    const pre = prepare(t);
    // Dead reckoning (extrapolate) on the tangent plane, capped.
    const dt = Math.min(capS, Math.max(0, now - k.t));
    let dn = pre.vn * dt, de = pre.ve * dt;
    let altM = k.altM ?? 0;
    if (!k.onGround && k.vrateMps !== null && k.altM !== null) altM += k.vrateMps * dt;
    const c = t.correction;
    if (c !== null) {
      const w = correctionWeight(c, now);
      if (w === 0) t.correction = null;
      else {
        dn += c.dn * w;
        de += c.de * w;
        altM += c.du * w;
      }
    }
    let lat = k.lat + dn * M_TO_DEG;
    let lon = k.lon + de * pre.lonPerM;
    lat = lat > 90 ? 90 : lat < -90 ? -90 : lat;
    if (lon >= 180 || lon < -180) lon = ((((lon + 180) % 360) + 360) % 360) - 180;
    // Ground traffic sits a few metres up so it does not sink into the globe's surface.
    const alt = t.flight.on_ground ? 30 : Math.max(30, altM);
    // globeCoords and localFrame with shared trigonometry.
    const phi = (90 - lat) * DEG, theta = (90 - lon) * DEG;
    const sp = Math.sin(phi), cp = Math.cos(phi), st = Math.sin(theta), ct = Math.cos(theta);
    const r = GLOBE_RADIUS * (1 + alt / EARTH_RADIUS_M);
    const px = r * sp * ct, py = r * cp, pz = r * sp * st;
    const pos = pose.position, fwd = pose.forward, up = pose.up;
    pos[0] = px;
    pos[1] = py;
    pos[2] = pz;
    up[0] = sp * ct;
    up[1] = cp;
    up[2] = sp * st;
    // forward = cos(track) * north + sin(track) * east
    fwd[0] = -pre.cosTrack * cp * ct + pre.sinTrack * st;
    fwd[1] = pre.cosTrack * sp;
    fwd[2] = -pre.cosTrack * cp * st - pre.sinTrack * ct;
    const id = t.flight.icao24;
    const isSel = id === frame.selected;
    const size = isSel ? (frame.cockpit ? 4 : 1.7) : frame.highlight?.has(id) ? 1.5 : 1;
    const ground = t.flight.on_ground ? 0.7 : 1;
    const dist = Math.sqrt((cx - px) ** 2 + (cy - py) ** 2 + (cz - pz) ** 2);
    pose.scale = dist * pxScale * size * ground;
    const ghost = store.ghost(t, now);
    colourOf(t, pre.base, ghost, frame, isSel);
    sink.write(i, pose, colour[0], colour[1], colour[2]);
    if (isSel) {
      selected = {
        lat,
        lng: lon,
        altM: Math.max(0, altM),
        trackDeg: k.trackDeg ?? 0,
        ghost,
        position: [px, py, pz],
      };
    }
  }
  return selected;
}

function colourOf(
  t: TrackedFlight,
  base: Rgb,
  ghost: number,
  frame: FrameState,
  selected: boolean,
): void {
  const f = t.flight;
  const emergency = frame.emergencies.has(f.icao24) ||
    (f.squawk !== null && f.squawk in EMERGENCY_SQUAWKS);
  mix(emergency ? EMERGENCY_COLOUR : base, GHOST_COLOUR, ghost * 0.85, colour);
  if (selected) mix(colour, HIGHLIGHT_COLOUR, 0.35, colour);
  else if (frame.highlight !== null && !frame.highlight.has(f.icao24)) {
    mix(colour, GHOST_COLOUR, 0.75, colour);
  }
}
