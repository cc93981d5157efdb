/**
 * What the detection engine hands each detector.
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type { Flight } from "../../contracts/flight.ts";
import type { KalmanEstimate } from "../track/kalman.ts";
import type { RunwayIndex } from "./runways.ts";

/** Air or ground, as the session detector decides it (with confirmation delays). */
export type GroundPhase = "air" | "ground";

/** One accepted update of one aircraft. */
export interface Observation {
  /** The flight object as received. */
  flight: Flight;
  /** The Kalman output for it (smoothed values beside the raw ones). */
  est: KalmanEstimate;
  /** `time_position_unix`. */
  t: number;
  /** Seconds since the previous accepted update of this aircraft (0 for the first). */
  dt: number;
  /** Confirmed phase after this update. */
  phase: GroundPhase;
  /** True on the update at which a landing was confirmed. */
  landed: boolean;
  runways: RunwayIndex;
}

/** Why per-aircraft state is being closed. */
export type CloseReason = "timeout" | "end_of_input" | "evicted";

/** A detector's per-aircraft state machine; one instance per aircraft. */
export interface AircraftDetector {
  /** Consumes one update; pushes new or updated events to `out`. */
  update(obs: Observation, out: AnomalyEvent[]): void;
  /**
   * The aircraft is no longer tracked (silent for too long, end of input, or
   * evicted): close what is open, using `lastSeenUnix` as the end.
   */
  close(reason: CloseReason, lastSeenUnix: number, out: AnomalyEvent[]): void;
}
