/**
 * What one animation frame of the aircraft layer depends on, and where the
 * one aircraft the page follows (the selected one: ring, cockpit camera,
 * trail head) is drawn. Every other aircraft is placed by the vertex shader
 * (aircraft_shader.ts) from its instance data; only this one is computed on
 * the CPU, with the reference dead reckoning (`FlightStore.displayAt`).
 *
 * @module
 */
import type { FlightStore, TrackedFlight } from "./flight_store.ts";
import { globeCoords, relativeAltitude, type Vec3 } from "./globe_coords.ts";
import { MIN_ALT_M } from "./aircraft_instances.ts";

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
  /** Metres, at least 0. */
  altM: number;
  trackDeg: number;
  ghost: number;
  /** Scene units (ground traffic and low aircraft at {@link MIN_ALT_M}). */
  position: Vec3;
}

/** Where `t` is drawn at `nowS` (float64, the reference the shader follows). */
export function drawnAt(store: FlightStore, t: TrackedFlight, nowS: number): DrawnAircraft {
  const p = store.displayAt(t, nowS);
  const alt = t.flight.on_ground ? MIN_ALT_M : Math.max(MIN_ALT_M, p.altM);
  return {
    lat: p.lat,
    lng: p.lon,
    altM: Math.max(0, p.altM),
    trackDeg: t.kinematics.trackDeg ?? 0,
    ghost: store.ghost(t, nowS),
    position: globeCoords(p.lat, p.lon, relativeAltitude(alt)),
  };
}
