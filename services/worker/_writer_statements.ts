/**
 * The statements of a batch's transaction after the fine tier's insert, for
 * writer.ts (which says what each keeps): the sampled tier's periodic and
 * event points, `flights_current`, sessions and anomalies, each one
 * statement of arrays whatever the batch size.
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type postgres from "postgres";
import type { Sql } from "../../lib/db/mod.ts";
import { HISTORY_COLUMN_LIST, unixToTimestamp } from "../../lib/db/history_rows.ts";
import type { FlightSession } from "../../lib/detect/session.ts";
import { BOOL, FLOAT8, TEXT } from "./_writer_history.ts";
import type { HistoryRow } from "./writer.ts";

/** Width of a sampled-tier bucket, s: one periodic point per aircraft per bucket. */
export const SAMPLE_INTERVAL_S = 300;

/** A client or a transaction. */
type Queryable = Sql | postgres.TransactionSql;

/** Where an event of the batch started or ended: a point the sampled tier keeps. */
export interface EventPoint {
  icao24: string;
  /** ISO 8601. */
  ts: string;
  kind: string;
}

/** One point per (icao24, time), the first event's kind winning. */
export function eventPoints(events: readonly AnomalyEvent[]): EventPoint[] {
  const points = new Map<string, EventPoint>();
  for (const e of events) {
    for (const ts of [e.started_at, e.ended_at]) {
      if (ts === null) continue;
      const key = `${e.icao24}|${Date.parse(ts)}`;
      if (!points.has(key)) points.set(key, { icao24: e.icao24, ts, kind: e.kind });
    }
  }
  return [...points.values()];
}

/** A row that may become its bucket's periodic point. */
export interface Candidate {
  icao24: string;
  /** time_position, unix s. */
  t: number;
  bucket: number;
}

/** The first row of each aircraft in each 5-minute bucket of the batch. */
export function periodicCandidates(rows: readonly HistoryRow[]): Candidate[] {
  const first = new Map<string, Candidate>();
  for (const { flight } of rows) {
    const t = flight.time_position_unix;
    const bucket = Math.floor(t / SAMPLE_INTERVAL_S);
    const key = `${flight.icao24}|${bucket}`;
    const held = first.get(key);
    if (!held || t < held.t) first.set(key, { icao24: flight.icao24, t, bucket });
  }
  return [...first.values()];
}

/** The candidates' stored rows into the sampled tier, unless their bucket has a periodic point. */
export async function samplePeriodic(
  tx: postgres.TransactionSql,
  candidates: readonly Candidate[],
) {
  if (candidates.length === 0) return;
  const cols = HISTORY_COLUMN_LIST.split(", ").map((c) => `h.${c}`).join(", ");
  let lo = Infinity, hi = -Infinity;
  for (const c of candidates) {
    lo = Math.min(lo, c.t);
    hi = Math.max(hi, c.t);
  }
  // The constant bounds let the planner prune partitions of both tiers.
  await tx`
    INSERT INTO flights_history_sampled (${tx.unsafe(HISTORY_COLUMN_LIST)}, sample)
    SELECT ${tx.unsafe(cols)}, 'periodic'
    FROM unnest(
      ${tx.array(candidates.map((c) => c.icao24), TEXT)}::text[],
      ${tx.array(candidates.map((c) => unixToTimestamp(c.t)), TEXT)}::timestamptz[],
      ${tx.array(candidates.map((c) => c.bucket), FLOAT8)}::float8[]
    ) AS c(icao24, ts, bucket)
    JOIN flights_history h ON h.icao24 = c.icao24 AND h.ts = c.ts
    WHERE h.ts >= ${unixToTimestamp(lo)}::timestamptz AND h.ts <= ${
    unixToTimestamp(hi)
  }::timestamptz
      AND NOT EXISTS (
        SELECT 1 FROM flights_history_sampled x
        WHERE x.icao24 = c.icao24 AND x.sample = 'periodic'
          AND x.ts >= to_timestamp(c.bucket * ${SAMPLE_INTERVAL_S})
          AND x.ts < to_timestamp((c.bucket + 1) * ${SAMPLE_INTERVAL_S})
          AND x.ts >= ${
    unixToTimestamp(Math.floor(lo / SAMPLE_INTERVAL_S) * SAMPLE_INTERVAL_S)
  }::timestamptz
          AND x.ts < ${
    unixToTimestamp((Math.floor(hi / SAMPLE_INTERVAL_S) + 1) * SAMPLE_INTERVAL_S)
  }::timestamptz)
    ON CONFLICT (icao24, ts) DO NOTHING`;
}

/** The fine rows where events started or ended, into the sampled tier labelled with the kind. */
export async function sampleEvents(tx: postgres.TransactionSql, points: readonly EventPoint[]) {
  if (points.length === 0) return;
  const cols = HISTORY_COLUMN_LIST.split(", ").map((c) => `h.${c}`).join(", ");
  await tx`
    INSERT INTO flights_history_sampled (${tx.unsafe(HISTORY_COLUMN_LIST)}, sample)
    SELECT ${tx.unsafe(cols)}, e.kind
    FROM unnest(
      ${tx.array(points.map((p) => p.icao24), TEXT)}::text[],
      ${tx.array(points.map((p) => p.ts), TEXT)}::timestamptz[],
      ${tx.array(points.map((p) => p.kind), TEXT)}::text[]
    ) AS e(icao24, ts, kind)
    JOIN flights_history h ON h.icao24 = e.icao24 AND h.ts = e.ts
    ON CONFLICT (icao24, ts) DO UPDATE SET sample = EXCLUDED.sample
    WHERE flights_history_sampled.sample = 'periodic'`;
}

export async function upsertCurrent(sql: Queryable, rows: readonly HistoryRow[]): Promise<void> {
  if (rows.length === 0) return;
  const f = rows.map((r) => r.flight);
  await sql`
    INSERT INTO flights_current
      (icao24, callsign, lat, lon, altitude_m, on_ground, state, ts, session_id, updated_at)
    SELECT icao24, callsign, lat, lon, alt, on_ground, state::jsonb, to_timestamp(ts), session_id,
      now()
    FROM unnest(
      ${sql.array(f.map((x) => x.icao24), TEXT)}::text[],
      ${sql.array(f.map((x) => x.callsign), TEXT)}::text[],
      ${sql.array(f.map((x) => x.position.lat), FLOAT8)}::float8[],
      ${sql.array(f.map((x) => x.position.lon), FLOAT8)}::float8[],
      ${sql.array(f.map((x) => x.altitude_m), FLOAT8)}::float8[],
      ${sql.array(f.map((x) => x.on_ground), BOOL)}::bool[],
      ${sql.array(f.map((x) => JSON.stringify(x)), TEXT)}::text[],
      ${sql.array(f.map((x) => x.time_position_unix), FLOAT8)}::float8[],
      ${sql.array(rows.map((r) => r.sessionId), TEXT)}::text[]
    ) AS r(icao24, callsign, lat, lon, alt, on_ground, state, ts, session_id)
    ON CONFLICT (icao24) DO UPDATE SET
      callsign = EXCLUDED.callsign, lat = EXCLUDED.lat, lon = EXCLUDED.lon,
      altitude_m = EXCLUDED.altitude_m, on_ground = EXCLUDED.on_ground, state = EXCLUDED.state,
      ts = EXCLUDED.ts, session_id = COALESCE(EXCLUDED.session_id, flights_current.session_id),
      updated_at = now()
    WHERE flights_current.ts <= EXCLUDED.ts`;
}

export async function upsertSessions(
  sql: Queryable,
  sessions: readonly FlightSession[],
): Promise<void> {
  if (sessions.length === 0) return;
  await sql`
    INSERT INTO flights (id, icao24, callsign, first_seen, last_seen, ended_at, end_reason)
    SELECT id, icao24, callsign, first_seen::timestamptz, last_seen::timestamptz,
      ended_at::timestamptz, end_reason
    FROM unnest(
      ${sql.array(sessions.map((s) => s.id), TEXT)}::text[],
      ${sql.array(sessions.map((s) => s.icao24), TEXT)}::text[],
      ${sql.array(sessions.map((s) => s.callsign), TEXT)}::text[],
      ${sql.array(sessions.map((s) => s.first_seen), TEXT)}::text[],
      ${sql.array(sessions.map((s) => s.last_seen), TEXT)}::text[],
      ${sql.array(sessions.map((s) => s.ended_at), TEXT)}::text[],
      ${sql.array(sessions.map((s) => s.end_reason), TEXT)}::text[]
    ) AS r(id, icao24, callsign, first_seen, last_seen, ended_at, end_reason)
    ON CONFLICT (id) DO UPDATE SET
      callsign = COALESCE(EXCLUDED.callsign, flights.callsign),
      first_seen = LEAST(flights.first_seen, EXCLUDED.first_seen),
      last_seen = GREATEST(flights.last_seen, EXCLUDED.last_seen),
      ended_at = COALESCE(EXCLUDED.ended_at, flights.ended_at),
      end_reason = COALESCE(EXCLUDED.end_reason, flights.end_reason)`;
}

export async function upsertAnomalies(
  sql: Queryable,
  events: readonly AnomalyEvent[],
): Promise<{ id: string; kind: string }[]> {
  if (events.length === 0) return [];
  const rows = await sql<{ id: string; kind: string; inserted: boolean }[]>`
    INSERT INTO anomalies (id, kind, severity, icao24, callsign, started_at, ended_at, lat, lon,
      altitude_m, evidence, updated_at)
    SELECT id, kind, severity, icao24, callsign, started_at::timestamptz, ended_at::timestamptz,
      lat, lon, alt, evidence::jsonb, now()
    FROM unnest(
      ${sql.array(events.map((e) => e.id), TEXT)}::text[],
      ${sql.array(events.map((e) => e.kind), TEXT)}::text[],
      ${sql.array(events.map((e) => e.severity), TEXT)}::text[],
      ${sql.array(events.map((e) => e.icao24), TEXT)}::text[],
      ${sql.array(events.map((e) => e.callsign), TEXT)}::text[],
      ${sql.array(events.map((e) => e.started_at), TEXT)}::text[],
      ${sql.array(events.map((e) => e.ended_at), TEXT)}::text[],
      ${sql.array(events.map((e) => e.position.lat), FLOAT8)}::float8[],
      ${sql.array(events.map((e) => e.position.lon), FLOAT8)}::float8[],
      ${sql.array(events.map((e) => e.position.altitude_m), FLOAT8)}::float8[],
      ${sql.array(events.map((e) => JSON.stringify(e.evidence)), TEXT)}::text[]
    ) AS r(id, kind, severity, icao24, callsign, started_at, ended_at, lat, lon, alt, evidence)
    ON CONFLICT (id) DO UPDATE SET
      kind = EXCLUDED.kind, severity = EXCLUDED.severity, icao24 = EXCLUDED.icao24,
      callsign = EXCLUDED.callsign, started_at = EXCLUDED.started_at,
      ended_at = EXCLUDED.ended_at, lat = EXCLUDED.lat, lon = EXCLUDED.lon,
      altitude_m = EXCLUDED.altitude_m, evidence = EXCLUDED.evidence, updated_at = now()
    WHERE (anomalies.ended_at IS NULL OR EXCLUDED.ended_at IS NOT NULL)
      AND (anomalies.severity, anomalies.callsign, anomalies.ended_at, anomalies.lat,
           anomalies.lon, anomalies.altitude_m, anomalies.evidence)
        IS DISTINCT FROM (EXCLUDED.severity, EXCLUDED.callsign, EXCLUDED.ended_at, EXCLUDED.lat,
           EXCLUDED.lon, EXCLUDED.altitude_m, EXCLUDED.evidence)
    RETURNING id, kind, (xmax = 0) AS inserted`;
  return rows.filter((r) => r.inserted).map((r) => ({ id: r.id, kind: r.kind }));
}
