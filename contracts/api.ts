/**
 * HTTP API responses. Query parameters are validated in the routes with the
 * schemas here, so a bad parameter is a 400 naming it.
 *
 * @module
 */
import { z } from "zod";
import { Icao24, IsoTime } from "./common.ts";
import { Flight } from "./flight.ts";
import { AnomalyEvent } from "./anomaly.ts";

/** `GET /api/flights`: the hub's current snapshot. */
export const FlightsResponse = z.object({
  flights: z.array(Flight),
  /** Number of flights returned. */
  count: z.number().int().nonnegative(),
  /** Server clock, ISO 8601 UTC. */
  at: IsoTime,
});

/** A flight session: one flight from first contact (or take-off) to the end. */
export const Session = z.object({
  id: z.string(),
  icao24: Icao24,
  callsign: z.string().nullable(),
  first_seen: IsoTime,
  last_seen: IsoTime,
  /** Null while the flight goes on. */
  ended_at: IsoTime.nullable(),
});
export type Session = z.infer<typeof Session>;

/** `GET /api/flights/:icao24`. */
export const FlightDetailResponse = z.object({
  icao24: Icao24,
  /** Latest state from the database, or null when never seen. */
  flight: Flight.nullable(),
  /** The current (or last) session. */
  session: Session.nullable(),
});

/** One point of a trail. */
export const TrackPoint = z.object({
  /** ISO 8601 UTC. */
  ts: IsoTime,
  /** Smoothed position, degrees. */
  lat: z.number(),
  lon: z.number(),
  /** Smoothed altitude, metres. */
  altitude_m: z.number().nullable(),
  /** Smoothed ground speed, m/s. */
  velocity_mps: z.number().nullable(),
  /** Smoothed track, degrees. */
  heading_deg: z.number().nullable(),
  /** Smoothed vertical rate, m/s. */
  vertical_rate_mps: z.number().nullable(),
  /** Raw (as received) position and altitude. */
  raw: z.object({ lat: z.number(), lon: z.number(), altitude_m: z.number().nullable() }),
});
export type TrackPoint = z.infer<typeof TrackPoint>;

/**
 * Which history tier answered: `fine` (every position, kept
 * HISTORY_RETENTION_DAYS), `sampled` (one point per aircraft per 5 minutes
 * plus take-offs, landings and anomalies, kept HISTORY_SAMPLED_RETENTION_DAYS)
 * or `mixed` (sampled before `fine_from`, fine after).
 */
export const HistoryResolution = z.enum(["fine", "sampled", "mixed"]);
export type HistoryResolution = z.infer<typeof HistoryResolution>;

/** `GET /api/flights/:icao24/track?from&to`. */
export const TrackResponse = z.object({
  icao24: Icao24,
  from: IsoTime,
  to: IsoTime,
  points: z.array(TrackPoint),
  resolution: HistoryResolution,
  /** Where the fine tier begins (ISO 8601 UTC), or null when it holds nothing. */
  fine_from: IsoTime.nullable(),
});

/** `GET /api/snapshot?at=&bbox=`: every aircraft's last position at or before `at` (within the stale window). */
export const SnapshotResponse = z.object({
  at: IsoTime,
  flights: z.array(Flight),
  count: z.number().int().nonnegative(),
  /** `fine`, or `sampled` when `at` is older than the fine tier (positions up to 5 min old). */
  resolution: HistoryResolution,
});

/** `GET /api/anomalies`. */
export const AnomaliesResponse = z.object({
  anomalies: z.array(AnomalyEvent),
  /** Opaque cursor for the next page, or null at the end. */
  next_cursor: z.string().nullable(),
});

/** The body of every 4xx/5xx from the API. */
export const ApiError = z.object({
  error: z.object({
    /** Machine-readable code, e.g. `bad_request`, `not_found`. */
    code: z.string(),
    /** Readable message naming the offending parameter. */
    message: z.string(),
  }),
});
