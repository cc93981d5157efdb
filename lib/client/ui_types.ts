/**
 * Types shared by the controller, the scene and the panels: what the
 * controller needs from the globe and what the panels render. No code.
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type { Session } from "../../contracts/api.ts";
import type { Flight } from "../../contracts/flight.ts";
import type { ApiOptions } from "./api.ts";
import type { ConnectionStatus, Encoding, SocketFactory } from "./connection.ts";
import type { FilterState } from "./filters.ts";
import type { FlightStore } from "./flight_store.ts";
import type { Vec3 } from "./globe_coords.ts";

/** What the controller needs from the globe. */
export interface SceneLike {
  bindStore(store: FlightStore): void;
  flyTo(pov: { lat: number; lng: number; altitude?: number }, ms?: number): void;
  enterCockpit(): void;
  leaveCockpit(): void;
  setTrail(points: [number, number, number][] | null): void;
  setRings(rings: { lat: number; lng: number; severity: string }[]): void;
  cameraPosition(): Vec3;
  pointOfView(): { lat: number; lng: number; altitude: number };
  readonly fps: number;
  /** Canvas width / height, for the viewport; absent: 16/9. */
  readonly aspect?: number;
  readonly selectedDrawn: { lat: number; lng: number; altM: number } | null;
}

export interface ControllerOptions {
  /** ws:// or wss:// URL of `/ws`. */
  wsUrl: string;
  api?: ApiOptions;
  /** `bin` (skysentinel.v2.bin, default), `msgpack` or `json`. */
  encoding?: Encoding;
  socket?: SocketFactory;
  /** Client wall clock, unix ms. */
  now?: () => number;
  /** Monotonic ms for the replay clock. */
  monotonic?: () => number;
  /** How far back the anomaly feed starts, hours (the server's ANOMALY_WINDOW_HOURS). Default 24. */
  anomalyWindowHours?: number;
  /** Most anomaly events loaded at start. Default 200. */
  anomalyLimit?: number;
}

/** The selected aircraft as the details panel shows it. */
export interface SelectedView {
  icao24: string;
  flight: Flight | null;
  session: Session | null;
  /** Seconds since the last message of any kind. */
  contactAgeS: number | null;
  /** Seconds since the last position (how far it has been dead-reckoned). */
  positionAgeS: number | null;
  trailPoints: number;
  /** Why there is no trail, when there is none. */
  trailNote: string | null;
}

/** Time travel as the time bar shows it; instants in Unix seconds. */
export interface ReplayView {
  atS: number;
  playing: boolean;
  /** Playback multiplier, 1 to 60. */
  speed: number;
  minS: number;
  maxS: number;
  loading: boolean;
  error: string | null;
}

/** Everything the panels render, rebuilt a few times a second. */
export interface UiSnapshot {
  mode: "live" | "replay";
  connection: ConnectionStatus;
  retryInMs: number | null;
  /** Aircraft drawn (the subscribed viewport, margin included). */
  count: number;
  /** Aircraft inside what the camera shows. */
  inView: number;
  /** Aircraft the hub tracks in the whole world; null when unknown (or in time travel). */
  total: number | null;
  /** Seconds between the newest contact and now (live). */
  freshnessS: number | null;
  nowS: number;
  filter: FilterState;
  query: string;
  results: Flight[];
  matches: number;
  selected: SelectedView | null;
  cockpit: boolean;
  anomalies: AnomalyEvent[];
  replay: ReplayView | null;
  /** Slider range for entering time travel. */
  range: { minS: number; maxS: number };
  fps: number;
  resyncs: number;
}
