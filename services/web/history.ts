/**
 * The SQL behind the history API (migrations/0001_initial.sql): flight
 * detail, trails, time-travel snapshots and anomalies with keyset
 * pagination. Inputs are already validated by the routes; every value goes
 * in as a query parameter.
 *
 * @module
 */
import type { AnomalyEvent, AnomalyKind } from "../../contracts/anomaly.ts";
import type { Session, TrackPoint } from "../../contracts/api.ts";
import type { BBox } from "../../contracts/common.ts";
import type { Flight } from "../../contracts/flight.ts";
import type { Sql } from "../../lib/db/mod.ts";

/** Longest trail a request may ask for, ms. */
export const MAX_TRACK_RANGE_MS = 24 * 3600 * 1000;
/** Most points in one trail; longer ones are thinned evenly (first and last kept). */
export const MAX_TRACK_POINTS = 20_000;
/** Anomalies per page: default and most. */
export const DEFAULT_ANOMALY_LIMIT = 100;
export const MAX_ANOMALY_LIMIT = 1000;

/** `GET /api/flights/:icao24`, or null when the aircraft was never seen. */
export async function flightDetail(
  sql: Sql,
  icao24: string,
): Promise<{ flight: Flight | null; session: Session | null } | null> {
  const [current] = await sql<{ state: Flight }[]>`
    SELECT state FROM flights_current WHERE icao24 = ${icao24}`;
  // Without a current row (pruned), the newest history row is the latest state.
  const [latest] = current ? [current] : await sql<{ state: Flight }[]>`
    SELECT state FROM flights_history WHERE icao24 = ${icao24} ORDER BY ts DESC LIMIT 1`;
  const [session] = await sql<SessionRow[]>`
    SELECT id, icao24, callsign, first_seen, last_seen, ended_at
    FROM flights WHERE icao24 = ${icao24}
    ORDER BY first_seen DESC LIMIT 1`;
  if (!latest && !session) return null;
  return {
    flight: latest?.state ?? null,
    session: session
      ? {
        id: session.id,
        icao24: session.icao24,
        callsign: session.callsign,
        first_seen: session.first_seen.toISOString(),
        last_seen: session.last_seen.toISOString(),
        ended_at: session.ended_at?.toISOString() ?? null,
      }
      : null,
  };
}

interface SessionRow {
  id: string;
  icao24: string;
  callsign: string | null;
  first_seen: Date;
  last_seen: Date;
  ended_at: Date | null;
}

/**
 * The trail of `icao24` in `[from, to]`, oldest first, at most `maxPoints`
 * (thinned evenly when there are more). Null when the aircraft is unknown.
 */
export async function track(
  sql: Sql,
  icao24: string,
  range: { from: Date; to: Date; maxPoints?: number },
): Promise<TrackPoint[] | null> {
  const max = Math.max(2, range.maxPoints ?? MAX_TRACK_POINTS);
  const rows = await sql<TrackRow[]>`
    SELECT ts, lat, lon, altitude_m, velocity_mps, heading_deg, vertical_rate_mps,
           raw_lat, raw_lon, raw_altitude_m
    FROM (
      SELECT ts, lat, lon, altitude_m, velocity_mps, heading_deg, vertical_rate_mps,
             raw_lat, raw_lon, raw_altitude_m,
             row_number() OVER (ORDER BY ts) AS rn, count(*) OVER () AS total
      FROM flights_history
      WHERE icao24 = ${icao24} AND ts >= ${range.from} AND ts <= ${range.to}
    ) t
    WHERE total <= ${max}
       OR (rn - 1) % ceil(total::numeric / ${max - 1})::bigint = 0
       OR rn = total
    ORDER BY ts`;
  if (rows.length === 0 && !(await known(sql, icao24))) return null;
  return rows.map((r) => ({
    ts: r.ts.toISOString(),
    lat: r.lat,
    lon: r.lon,
    altitude_m: r.altitude_m,
    velocity_mps: r.velocity_mps,
    heading_deg: r.heading_deg,
    vertical_rate_mps: r.vertical_rate_mps,
    raw: { lat: r.raw_lat, lon: r.raw_lon, altitude_m: r.raw_altitude_m },
  }));
}

interface TrackRow {
  ts: Date;
  lat: number;
  lon: number;
  altitude_m: number | null;
  velocity_mps: number | null;
  heading_deg: number | null;
  vertical_rate_mps: number | null;
  raw_lat: number;
  raw_lon: number;
  raw_altitude_m: number | null;
}

async function known(sql: Sql, icao24: string): Promise<boolean> {
  const [row] = await sql<{ known: boolean }[]>`
    SELECT EXISTS (SELECT 1 FROM flights_current WHERE icao24 = ${icao24})
        OR EXISTS (SELECT 1 FROM flights WHERE icao24 = ${icao24})
        OR EXISTS (SELECT 1 FROM flights_history WHERE icao24 = ${icao24}) AS known`;
  return row?.known ?? false;
}

/**
 * Time travel: every aircraft's last state at or before `at` and newer than
 * `at - staleSeconds` (what the live view showed at `at`), optionally only
 * those whose position then was inside `bbox`. Ordered by icao24.
 */
export async function snapshotAt(
  sql: Sql,
  at: Date,
  options: { staleSeconds: number; bbox?: BBox },
): Promise<Flight[]> {
  const after = new Date(at.getTime() - options.staleSeconds * 1000);
  const rows = await sql<{ state: Flight }[]>`
    SELECT state FROM (
      SELECT DISTINCT ON (icao24) icao24, state, raw_lat, raw_lon
      FROM flights_history
      WHERE ts > ${after} AND ts <= ${at}
      ORDER BY icao24, ts DESC
    ) latest
    WHERE ${bboxCondition(sql, "raw_lat", "raw_lon", options.bbox)}
    ORDER BY icao24`;
  return rows.map((r) => r.state);
}

/** Filters and page of {@link listAnomalies}. */
export interface AnomalyQuery {
  /** started_at >= since. */
  since?: Date;
  /** started_at < until. */
  until?: Date;
  kinds?: AnomalyKind[];
  bbox?: BBox;
  /** Default {@link DEFAULT_ANOMALY_LIMIT}. */
  limit?: number;
  /** From the previous page's `next_cursor`. */
  cursor?: AnomalyCursor;
}

/** Position in the (started_at desc, id desc) order. */
export interface AnomalyCursor {
  /** started_at with microseconds, `2017-02-05T16:08:20.123456Z`. */
  t: string;
  id: string;
}

/** Anomalies newest first (started_at desc, id desc), one page at a time. */
export async function listAnomalies(
  sql: Sql,
  query: AnomalyQuery,
): Promise<{ anomalies: AnomalyEvent[]; next_cursor: string | null }> {
  const limit = query.limit ?? DEFAULT_ANOMALY_LIMIT;
  const empty = sql``;
  const rows = await sql<AnomalyRow[]>`
    SELECT id, kind, severity, icao24, callsign, started_at, ended_at, lat, lon, altitude_m,
           evidence,
           to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_t
    FROM anomalies
    WHERE ${bboxCondition(sql, "lat", "lon", query.bbox)}
      ${query.since ? sql`AND started_at >= ${query.since}` : empty}
      ${query.until ? sql`AND started_at < ${query.until}` : empty}
      ${query.kinds?.length ? sql`AND kind IN ${sql(query.kinds)}` : empty}
      ${
    query.cursor
      ? sql`AND (started_at, id) < (${query.cursor.t}::timestamptz, ${query.cursor.id}::text)`
      : empty
  }
    ORDER BY started_at DESC, id DESC
    LIMIT ${limit + 1}`;
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    anomalies: page.map(toAnomalyEvent),
    next_cursor: rows.length > limit && last
      ? encodeCursor({ t: last.cursor_t, id: last.id })
      : null,
  };
}

interface AnomalyRow {
  id: string;
  kind: AnomalyKind;
  severity: AnomalyEvent["severity"];
  icao24: string;
  callsign: string | null;
  started_at: Date;
  ended_at: Date | null;
  lat: number;
  lon: number;
  altitude_m: number | null;
  evidence: Record<string, unknown>;
  cursor_t: string;
}

function toAnomalyEvent(r: AnomalyRow): AnomalyEvent {
  return {
    id: r.id,
    kind: r.kind,
    severity: r.severity,
    icao24: r.icao24,
    callsign: r.callsign,
    started_at: r.started_at.toISOString(),
    ended_at: r.ended_at?.toISOString() ?? null,
    position: { lat: r.lat, lon: r.lon, altitude_m: r.altitude_m },
    evidence: r.evidence,
  };
}

/** The opaque cursor: base64url of `{"t": started_at, "id": id}`. */
export function encodeCursor(cursor: AnomalyCursor): string {
  const bytes = new TextEncoder().encode(JSON.stringify({ t: cursor.t, id: cursor.id }));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The cursor encoded by {@link encodeCursor}, or null when `text` is not one. */
export function decodeCursor(text: string): AnomalyCursor | null {
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(text)) return null;
  try {
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
    const json = new TextDecoder("utf-8", { fatal: true }).decode(
      Uint8Array.from(binary, (c) => c.charCodeAt(0)),
    );
    const value = JSON.parse(json) as { t?: unknown; id?: unknown };
    if (typeof value.t !== "string" || !CURSOR_TIME.test(value.t)) return null;
    if (typeof value.id !== "string" || value.id.length === 0 || value.id.length > 64) return null;
    if (Number.isNaN(Date.parse(value.t))) return null;
    return { t: value.t, id: value.id };
  } catch {
    return null;
  }
}

/** `lat`/`lon` inside `bbox` (lomin > lomax: across the antimeridian); TRUE without one. */
function bboxCondition(sql: Sql, lat: string, lon: string, bbox: BBox | undefined) {
  if (!bbox) return sql`TRUE`;
  const [lamin, lomin, lamax, lomax] = bbox;
  const lonIn = lomin <= lomax
    ? sql`${sql(lon)} BETWEEN ${lomin} AND ${lomax}`
    : sql`(${sql(lon)} >= ${lomin} OR ${sql(lon)} <= ${lomax})`;
  return sql`${sql(lat)} BETWEEN ${lamin} AND ${lamax} AND ${lonIn}`;
}
