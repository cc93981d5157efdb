/**
 * Anomaly detection for the worker and `deno task detect`: the engine
 * (tracker + Kalman + detectors), the recording runner, runway data, and
 * the session types the worker writes.
 *
 * @module
 */
export * from "./engine.ts";
export * from "./run.ts";
export * from "./runways.ts";
export type { FlightSession, SessionChange } from "./session.ts";
export type { CloseReason, GroundPhase, Observation } from "./types.ts";
export { eventId, isoTime } from "./event.ts";
