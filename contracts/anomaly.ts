/**
 * Anomaly events, on `flights.anomalies`, in `/api/anomalies`, and printed by
 * `deno task detect`.
 *
 * @module
 */
import { z } from "zod";
import { Icao24, IsoTime } from "./common.ts";

export const ANOMALY_KINDS = [
  "emergency_squawk",
  "emergency_descent",
  "go_around",
  "holding",
  "takeoff",
  "landing",
  "flight_end",
] as const;
export const AnomalyKind = z.enum(ANOMALY_KINDS);
export type AnomalyKind = z.infer<typeof AnomalyKind>;

/** `info` for session events, `warning` for go-arounds and holdings, `critical` for emergencies. */
export const Severity = z.enum(["info", "warning", "critical"]);
export type Severity = z.infer<typeof Severity>;

export const AnomalyEvent = z.object({
  /** Deterministic id: a hash of icao24, kind and start time. Same input, same id. */
  id: z.string().min(8).max(64),
  kind: AnomalyKind,
  severity: Severity,
  icao24: Icao24,
  callsign: z.string().max(8).nullable(),
  /** Start of the event, ISO 8601 UTC. */
  started_at: IsoTime,
  /** End of the event, ISO 8601 UTC; null while it is still going on. */
  ended_at: IsoTime.nullable(),
  /** Where it happened (the position at the most telling moment), degrees and metres. */
  position: z.object({
    lat: z.number().min(-90).max(90),
    lon: z.number().min(-180).max(180),
    altitude_m: z.number().finite().nullable(),
  }),
  /** What triggered it: detector-specific numbers with units in their names. */
  evidence: z.record(z.string(), z.unknown()),
});
export type AnomalyEvent = z.infer<typeof AnomalyEvent>;
