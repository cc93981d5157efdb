/**
 * Building {@link AnomalyEvent}s: deterministic ids, ISO times, positions.
 *
 * @module
 */
import type { AnomalyEvent, AnomalyKind, Severity } from "../../contracts/anomaly.ts";
import { fnv1a64Hex } from "./hash.ts";

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** The latest time a Date can hold, ms (the earliest, its negative, begins a day). */
const MAX_DATE_MS = 8.64e15;
/** `SS.` for 0-59 and `mmmZ` for 0-999: the end of a time in two pieces. */
const SECONDS_DOT = Array.from({ length: 60 }, (_, i) => `${String(i).padStart(2, "0")}.`);
const MILLIS_Z = Array.from({ length: 1000 }, (_, i) => `${String(i).padStart(3, "0")}Z`);
/** The day of the last {@link isoTime} (days since the epoch) and its `YYYY-MM-DDT`. */
let cachedDay = NaN;
let cachedDayPrefix = "";
/** The minute of the last {@link isoTime} (minutes since the epoch) and its `...THH:MM:`. */
let cachedMinute = NaN;
let cachedMinutePrefix = "";

/**
 * Unix seconds to ISO 8601 UTC with milliseconds, as the contracts expect: exactly
 * `new Date(Math.round(unix * 1000)).toISOString()` (which throws RangeError outside the
 * Date range). The worker formats one per update (a session's `last_seen`), and
 * `toISOString` was 3% of its CPU time: the date and the minute are kept from the previous
 * call (the same day nearly always, often the same minute), the rest comes from tables.
 */
export function isoTime(unix: number): string {
  const ms = Math.round(unix * 1000);
  const minute = Math.floor(ms / MINUTE_MS);
  if (minute !== cachedMinute || ms > MAX_DATE_MS) {
    const day = Math.floor(ms / DAY_MS);
    if (day !== cachedDay || ms > MAX_DATE_MS) {
      // Also the path of NaN and out-of-range times, which throw here as Date does.
      const text = new Date(ms).toISOString();
      const t = text.indexOf("T") + 1;
      cachedDayPrefix = text.slice(0, t);
      cachedDay = day;
      cachedMinutePrefix = text.slice(0, t + 6);
      cachedMinute = minute;
      return text;
    }
    const minuteOfDay = minute - day * 1440;
    const minutes = minuteOfDay % 60;
    cachedMinutePrefix = `${cachedDayPrefix}${pad2((minuteOfDay - minutes) / 60)}:${
      pad2(minutes)
    }:`;
    cachedMinute = minute;
  }
  const rest = ms - minute * MINUTE_MS;
  const millis = rest % 1000;
  return cachedMinutePrefix + SECONDS_DOT[(rest - millis) / 1000]! + MILLIS_Z[millis]!;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
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
