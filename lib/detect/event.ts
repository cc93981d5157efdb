/**
 * Building {@link AnomalyEvent}s: deterministic ids, ISO times, positions.
 *
 * @module
 */
import type { AnomalyEvent, AnomalyKind, Severity } from "../../contracts/anomaly.ts";
import { fnv1a64Hex } from "./hash.ts";

/** Unix seconds to ISO 8601 UTC with milliseconds, as the contracts expect. */
export function isoTime(unix: number): string {
  return new Date(Math.round(unix * 1000)).toISOString();
}

/**
 * The event id: FNV-1a 64 of `icao24|kind|started_at` (ISO), 16 hex digits.
 * Same aircraft, kind and start: same id, on every run and every worker.
 */
export function eventId(icao24: string, kind: AnomalyKind, startedAtUnix: number): string {
  return fnv1a64Hex(`${icao24}|${kind}|${isoTime(startedAtUnix)}`);
}

/** Where an event happened. */
export interface EventPosition {
  lat: number;
  lon: number;
  altitude_m: number | null;
}

/** Fields of {@link makeEvent}. */
export interface EventFields {
  kind: AnomalyKind;
  severity: Severity;
  icao24: string;
  callsign: string | null;
  startedAtUnix: number;
  endedAtUnix: number | null;
  position: EventPosition;
  evidence: Record<string, unknown>;
}

/** An anomaly event with its deterministic id; numbers in `position` rounded sensibly. */
export function makeEvent(fields: EventFields): AnomalyEvent {
  return {
    id: eventId(fields.icao24, fields.kind, fields.startedAtUnix),
    kind: fields.kind,
    severity: fields.severity,
    icao24: fields.icao24,
    callsign: fields.callsign,
    started_at: isoTime(fields.startedAtUnix),
    ended_at: fields.endedAtUnix === null ? null : isoTime(fields.endedAtUnix),
    position: {
      lat: round(fields.position.lat, 5),
      lon: round(fields.position.lon, 5),
      altitude_m: fields.position.altitude_m === null ? null : round(fields.position.altitude_m, 1),
    },
    evidence: fields.evidence,
  };
}

/** Rounds to `digits` decimals (evidence numbers do not need 15 digits). */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
