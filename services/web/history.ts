/**
 * The SQL behind the history API (migrations/0001_initial.sql and
 * 0002_history_tiers.sql): flight detail, trails, time-travel snapshots and
 * anomalies with keyset pagination. Inputs are already validated by the
 * routes; every value goes in as a query parameter.
 *
 * Trails and snapshots read the fine tier (`flights_history`) where it
 * exists, i.e. from the lower bound of its oldest day partition on, and the
 * sampled tier (`flights_history_sampled`) before that; the answer says
 * which (`resolution`).
 *
 * @module
 */
import type { AnomalyEvent, AnomalyKind } from "../../contracts/anomaly.ts";
import type { HistoryResolution, Session, TrackPoint } from "../../contracts/api.ts";
import type { BBox } from "../../contracts/common.ts";
import type { Flight } from "../../contracts/flight.ts";
import type { Sql } from "../../lib/db/mod.ts";
import { flightFromRow, type FlightRow, flightSelectList } from "../../lib/db/history_rows.ts";
import {
  CONTENT_TYPES,
  encodeStream,
  trackEncoder,
  type TrackFormat,
} from "../../lib/export/formats.ts";

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
  const [latest] = current ? [current] : (await sql<FlightRow[]>`
    SELECT ${sql.unsafe(flightSelectList(""))} FROM flights_history
    WHERE icao24 = ${icao24} ORDER BY ts DESC LIMIT 1`).map((r) => ({ state: flightFromRow(r) }));
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

/** How long a looked-up start of the fine tier is reused, ms (retention runs hourly). */
const FINE_START_TTL_MS = 10_000;
const fineStarts = new WeakMap<Sql, { at: number; value: Promise<Date | null> }>();

/**
 * Where the fine tier begins (the lower bound of its oldest day partition,
 * or null without any), looked up at most every 10 s per client: on the
 * embedded database every query waits for the one connection.
 */
export function fineTierStart(sql: Sql): Promise<Date | null> {
  const held = fineStarts.get(sql);
  if (held && Date.now() - held.at < FINE_START_TTL_MS) return held.value;
  const value = readFineTierStart(sql);
  fineStarts.set(sql, { at: Date.now(), value });
  value.catch(() => fineStarts.delete(sql));
  return value;
}

async function readFineTierStart(sql: Sql): Promise<Date | null> {
  const [row] = await sql<{ day: string | null }[]>`
    SELECT min(substring(c.relname FROM 17)) AS day
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'flights_history'::regclass AND NOT i.inhdetachpending
      AND c.relname ~ '^flights_history_[0-9]{8}$'`;
  const day = row?.day;
  if (!day) return null;
  return new Date(`${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6, 8)}T00:00:00Z`);
}

/** The tiers that cover `[from, to]`, given where the fine tier starts. */
export function plan(from: Date, to: Date, fineFrom: Date | null): HistoryResolution {
  if (fineFrom === null || from >= fineFrom) return "fine";
  return to < fineFrom ? "sampled" : "mixed";
}

/** A trail and which tier it came from. */
export interface TrackResult {
  points: TrackPoint[];
  resolution: HistoryResolution;
  fine_from: string | null;
}

const TRACK_COLUMNS = "ts, lat, lon, altitude_m, velocity_mps, heading_deg, vertical_rate_mps, " +
  "raw_lat, raw_lon, raw_altitude_m";

/** The rows of both tiers for `icao24` in `[from, to]`, as one relation (a query fragment). */
function trackSource(sql: Sql, icao24: string, from: Date, to: Date, fineFrom: Date | null) {
  const how = plan(from, to, fineFrom);
  const cols = sql.unsafe(TRACK_COLUMNS);
  const fine = (lo: Date) =>
    sql`SELECT ${cols} FROM flights_history
        WHERE icao24 = ${icao24} AND ts >= ${lo} AND ts <= ${to}`;
  const sampled = (hi: Date, inclusive: boolean) =>
    sql`SELECT ${cols} FROM flights_history_sampled
        WHERE icao24 = ${icao24} AND ts >= ${from} AND ${
      inclusive ? sql`ts <= ${hi}` : sql`ts < ${hi}`
    }`;
  if (how === "fine") return { how, rows: fine(from) };
  if (how === "sampled") return { how, rows: sampled(to, true) };
  return { how, rows: sql`${sampled(fineFrom!, false)} UNION ALL ${fine(fineFrom!)}` };
}

/**
 * The trail of `icao24` in `[from, to]`, oldest first, at most `maxPoints`
 * (thinned evenly when there are more). Null when the aircraft is unknown.
 */
export async function track(
  sql: Sql,
  icao24: string,
  range: { from: Date; to: Date; maxPoints?: number },
): Promise<TrackResult | null> {
  const max = Math.max(2, range.maxPoints ?? MAX_TRACK_POINTS);
  const fineFrom = await fineTierStart(sql);
  const source = trackSource(sql, icao24, range.from, range.to, fineFrom);
  const rows = await sql<TrackRow[]>`
    SELECT ${sql.unsafe(TRACK_COLUMNS)}
    FROM (
      SELECT *, row_number() OVER (ORDER BY ts) AS rn, count(*) OVER () AS total
      FROM (${source.rows}) u
    ) t
    WHERE total <= ${max}
       OR (rn - 1) % ceil(total::numeric / ${max - 1})::bigint = 0
       OR rn = total
    ORDER BY ts`;
  if (rows.length === 0 && !(await known(sql, icao24))) return null;
  return {
    points: rows.map(toTrackPoint),
    resolution: source.how,
    fine_from: fineFrom?.toISOString() ?? null,
  };
}

/** A trail read as it is sent. */
export interface TrackStream {
  resolution: HistoryResolution;
  fine_from: string | null;
  /** Batches of points, oldest first. */
  points: AsyncIterable<TrackPoint[]>;
}

/**
 * An export of a trail as a streamed Response (`format` geojson, csv or
 * kml), or null for an unknown aircraft. Headers say the resolution.
 */
export async function trackExport(
  sql: Sql,
  icao24: string,
  range: { from: Date; to: Date; format: TrackFormat },
): Promise<Response | null> {
  const stream = await trackStream(sql, icao24, range);
  if (stream === null) return null;
  const encoder = trackEncoder(range.format, {
    icao24,
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    resolution: stream.resolution,
  });
  const name = `${icao24}_${range.from.toISOString().replaceAll(":", "")}.${range.format}`;
  return new Response(encodeStream(encoder, stream.points), {
    headers: {
      "Content-Type": CONTENT_TYPES[range.format],
      "Content-Disposition": `attachment; filename="${name}"`,
      "Cache-Control": "no-store",
      "X-History-Resolution": stream.resolution,
    },
  });
}

/**
 * The whole trail in `[from, to]` (no thinning), oldest first, read with a
 * cursor `batch` rows at a time: for exports that stream. `resolution` is
 * known before the first row.
 */
export async function trackStream(
  sql: Sql,
  icao24: string,
  range: { from: Date; to: Date; batch?: number },
): Promise<TrackStream | null> {
  if (!(await known(sql, icao24))) return null;
  const fineFrom = await fineTierStart(sql);
  const source = trackSource(sql, icao24, range.from, range.to, fineFrom);
  const cursor = sql<TrackRow[]>`SELECT * FROM (${source.rows}) u ORDER BY ts`.cursor(
    range.batch ?? 1000,
  );
  async function* points(): AsyncGenerator<TrackPoint[]> {
    for await (const rows of cursor) yield rows.map(toTrackPoint);
  }
  return { resolution: source.how, fine_from: fineFrom?.toISOString() ?? null, points: points() };
}

function toTrackPoint(r: TrackRow): TrackPoint {
  return {
    ts: r.ts.toISOString(),
    lat: r.lat,
    lon: r.lon,
    altitude_m: r.altitude_m,
    velocity_mps: r.velocity_mps,
    heading_deg: r.heading_deg,
    vertical_rate_mps: r.vertical_rate_mps,
    raw: { lat: r.raw_lat, lon: r.raw_lon, altitude_m: r.raw_altitude_m },
  };
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
        OR EXISTS (SELECT 1 FROM flights_history WHERE icao24 = ${icao24})
        OR EXISTS (SELECT 1 FROM flights_history_sampled WHERE icao24 = ${icao24}) AS known`;
  return row?.known ?? false;
}

/** How far back a sampled snapshot looks beyond the stale window, s (one sampling interval). */
const SAMPLED_LOOKBACK_S = 300;

/**
 * Time travel: every aircraft's last state at or before `at` and newer than
 * `at - staleSeconds` (what the live view showed at `at`), optionally only
 * those whose position then was inside `bbox`. Ordered by icao24. Before the
 * fine tier begins, the sampled tier answers, looking back one sampling
 * interval (5 min) more, since it holds a point per 5 minutes.
 */
export async function snapshotAt(
  sql: Sql,
  at: Date,
  options: { staleSeconds: number; bbox?: BBox },
): Promise<{ flights: Flight[]; resolution: HistoryResolution }> {
  const after = new Date(at.getTime() - options.staleSeconds * 1000);
  const fineFrom = await fineTierStart(sql);
  const sampled = fineFrom !== null && after < fineFrom;
  const table = sql(sampled ? "flights_history_sampled" : "flights_history");
  const since = sampled ? new Date(after.getTime() - SAMPLED_LOOKBACK_S * 1000) : after;
  const rows = await sql<FlightRow[]>`
    SELECT * FROM (
      SELECT DISTINCT ON (icao24) ${sql.unsafe(flightSelectList(""))}
      FROM ${table}
      WHERE ts > ${since} AND ts <= ${at}
      ORDER BY icao24, ts DESC
    ) latest
    WHERE ${bboxCondition(sql, "raw_lat", "raw_lon", options.bbox)}
    ORDER BY icao24`;
  return { flights: rows.map(flightFromRow), resolution: sampled ? "sampled" : "fine" };
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

/** One position of `deno task export`: the flight as received plus the smoothed values. */
export interface ExportRow {
  flight: Flight;
  /** Smoothed position and altitude. */
  lat: number;
  lon: number;
  altitude_m: number | null;
  /** `fine` or `sampled`: the tier it came from. */
  tier: "fine" | "sampled";
}

/**
 * Every position of every aircraft in `[from, to]` (optionally inside
 * `bbox`), ordered by time, read with a cursor `batch` rows at a time: the
 * fine tier where it exists, the sampled tier before it.
 */
export async function exportRows(
  sql: Sql,
  range: { from: Date; to: Date; bbox?: BBox; batch?: number },
): Promise<{ resolution: HistoryResolution; rows: AsyncIterable<ExportRow[]> }> {
  const fineFrom = await fineTierStart(sql);
  const how = plan(range.from, range.to, fineFrom);
  const cols = sql.unsafe(`${flightSelectList("")}, lat, lon, altitude_m`);
  const where = bboxCondition(sql, "raw_lat", "raw_lon", range.bbox);
  const fine = (lo: Date) =>
    sql`SELECT ${cols}, 'fine' AS tier FROM flights_history
        WHERE ts >= ${lo} AND ts <= ${range.to} AND ${where}`;
  const sampled = (hi: Date, inclusive: boolean) =>
    sql`SELECT ${cols}, 'sampled' AS tier FROM flights_history_sampled
        WHERE ts >= ${range.from} AND ${inclusive ? sql`ts <= ${hi}` : sql`ts < ${hi}`}
          AND ${where}`;
  const source = how === "fine"
    ? fine(range.from)
    : how === "sampled"
    ? sampled(range.to, true)
    : sql`${sampled(fineFrom!, false)} UNION ALL ${fine(fineFrom!)}`;
  type Row = FlightRow & Pick<ExportRow, "lat" | "lon" | "altitude_m" | "tier">;
  const cursor = sql<Row[]>`SELECT * FROM (${source}) u ORDER BY ts_unix, icao24`
    .cursor(range.batch ?? 2000);
  async function* rows(): AsyncGenerator<ExportRow[]> {
    for await (const batch of cursor) {
      yield batch.map((r) => ({
        flight: flightFromRow(r),
        lat: r.lat,
        lon: r.lon,
        altitude_m: r.altitude_m,
        tier: r.tier,
      }));
    }
  }
  return { resolution: how, rows: rows() };
}
