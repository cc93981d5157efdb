/**
 * The worker's database writes: one transaction per consumed batch, a
 * handful of statements whatever the batch size.
 *
 * Every table is written with one multi-row statement over `unnest` of one
 * array per column, so the statement text never changes (postgres.js
 * prepares it once per connection) and a batch of 500 rows costs one round
 * trip per table, not 500. Everything is idempotent, which is what lets the
 * bus redeliver a batch after a failure or a crash:
 *
 * - `flights_history`: `ON CONFLICT (icao24, ts) DO NOTHING` (the first
 *   write of a position wins, as the detection engine keeps the first update
 *   of a `time_position` too). Daily partitions are created first, each in
 *   its own statement outside the transaction (see the migration: creating a
 *   partition inside a writer's transaction can deadlock with another
 *   writer), and remembered so that it is one call per new day.
 * - `flights_current`: upsert that only moves forward in time.
 * - `flights` (sessions): upsert by the deterministic session id; times only
 *   widen, an end once set stays.
 * - `anomalies`: upsert by the deterministic event id; a closed event is
 *   never reopened by an older version of itself (a redelivery).
 *
 * Rows are de-duplicated per key inside a batch first: PostgreSQL refuses an
 * `ON CONFLICT DO UPDATE` that touches one row twice in a statement.
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type { Flight } from "../../contracts/flight.ts";
import type postgres from "postgres";
import type { Sql } from "../../lib/db/mod.ts";
import type { FlightSession } from "../../lib/detect/session.ts";

/** PostgreSQL type OIDs of the array elements (postgres.js maps them to array types). */
const TEXT = 25;
const FLOAT8 = 701;
const BOOL = 16;

/** A client or a transaction. */
type Queryable = Sql | postgres.TransactionSql;

/** Kalman-smoothed values of one position; SI units, degrees. */
export interface SmoothedValues {
  lat: number;
  lon: number;
  altitude_m: number | null;
  /** Ground speed, m/s. */
  velocity_mps: number | null;
  /** Track over ground, degrees. */
  heading_deg: number | null;
  /** m/s, positive up. */
  vertical_rate_mps: number | null;
}

/** One position for `flights_history` (and `flights_current`). */
export interface HistoryRow {
  /** The flight object as received. */
  flight: Flight;
  /**
   * Null when the filter did not take the update (a late one): the raw
   * values are stored in the smoothed columns then, which are NOT NULL.
   */
  smoothed: SmoothedValues | null;
  /** The session it belongs to, if known. */
  sessionId: string | null;
}

/** What one transaction writes. */
export interface WriteBatch {
  history: HistoryRow[];
  /** Sessions opened, touched or closed (any order; merged per id). */
  sessions: FlightSession[];
  /** New or updated events, in emission order (the last version per id wins). */
  anomalies: AnomalyEvent[];
}

/** What a {@link BatchWriter.write} did. */
export interface WriteResult {
  /** History rows inserted (the rest were already there). */
  historyInserted: number;
  /** Events stored for the first time (the others updated or unchanged). */
  newAnomalies: { id: string; kind: string }[];
  /** The events written, one (the last) version per id, in first-emission order. */
  anomalies: AnomalyEvent[];
}

/** Writes batches in one transaction each; remembers which daily partitions exist. */
export class BatchWriter {
  #sql: Sql;
  #days = new Set<string>();

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Writes a batch atomically. On failure nothing is written; call again with the same batch. */
  async write(batch: WriteBatch): Promise<WriteResult> {
    const history = dedupeHistory(batch.history);
    const current = latestPerAircraft(history);
    const sessions = mergeSessions(batch.sessions);
    const anomalies = lastVersions(batch.anomalies);
    try {
      await this.#ensurePartitions(history);
      return await this.#sql.begin(async (tx) => {
        const historyInserted = await insertHistory(tx, history);
        await upsertCurrent(tx, current);
        await upsertSessions(tx, sessions);
        const newAnomalies = await upsertAnomalies(tx, anomalies);
        return { historyInserted, newAnomalies, anomalies };
      });
    } catch (error) {
      // A partition may have been dropped by retention meanwhile: ask again next time.
      this.#days.clear();
      throw error;
    }
  }

  async #ensurePartitions(rows: readonly HistoryRow[]): Promise<void> {
    const days = new Set<string>();
    for (const row of rows) days.add(utcDay(row.flight.time_position_unix));
    for (const day of [...days].sort()) {
      if (this.#days.has(day)) continue;
      await this.#sql`SELECT flights_history_ensure_partition(${day}::date)`;
      this.#days.add(day);
    }
  }
}

/** `YYYY-MM-DD` of a unix time, UTC. */
export function utcDay(unix: number): string {
  return new Date(unix * 1000).toISOString().slice(0, 10);
}

/** First row per (icao24, time_position), in input order. */
function dedupeHistory(rows: readonly HistoryRow[]): HistoryRow[] {
  const seen = new Set<string>();
  const out: HistoryRow[] = [];
  for (const row of rows) {
    const key = `${row.flight.icao24}|${row.flight.time_position_unix}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(row);
  }
  return out;
}

/** The newest row per aircraft (the last one among equal times). */
function latestPerAircraft(rows: readonly HistoryRow[]): HistoryRow[] {
  const latest = new Map<string, HistoryRow>();
  for (const row of rows) {
    const held = latest.get(row.flight.icao24);
    if (!held || row.flight.time_position_unix >= held.flight.time_position_unix) {
      latest.set(row.flight.icao24, row);
    }
  }
  return [...latest.values()];
}

/** One row per session id: later versions win, but an end once seen stays. */
function mergeSessions(sessions: readonly FlightSession[]): FlightSession[] {
  const merged = new Map<string, FlightSession>();
  for (const s of sessions) {
    const held = merged.get(s.id);
    if (!held) {
      merged.set(s.id, { ...s });
      continue;
    }
    held.callsign = s.callsign ?? held.callsign;
    if (s.first_seen < held.first_seen) held.first_seen = s.first_seen;
    if (s.last_seen > held.last_seen) held.last_seen = s.last_seen;
    if (s.ended_at !== null) {
      held.ended_at = s.ended_at;
      held.end_reason = s.end_reason;
    }
  }
  return [...merged.values()];
}

/** The last version of each event, in the order the ids first appeared. */
function lastVersions(events: readonly AnomalyEvent[]): AnomalyEvent[] {
  const byId = new Map<string, AnomalyEvent>();
  for (const event of events) byId.set(event.id, event);
  return [...byId.values()];
}

async function insertHistory(sql: Queryable, rows: readonly HistoryRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const n = rows.length;
  const icao24 = new Array<string>(n);
  const ts = new Array<number>(n);
  const callsign = new Array<string | null>(n);
  const session = new Array<string | null>(n);
  const onGround = new Array<boolean>(n);
  const squawk = new Array<string | null>(n);
  const rawLat = new Array<number>(n);
  const rawLon = new Array<number>(n);
  const rawAlt = new Array<number | null>(n);
  const rawVel = new Array<number | null>(n);
  const rawHdg = new Array<number | null>(n);
  const rawVr = new Array<number | null>(n);
  const lat = new Array<number>(n);
  const lon = new Array<number>(n);
  const alt = new Array<number | null>(n);
  const vel = new Array<number | null>(n);
  const hdg = new Array<number | null>(n);
  const vr = new Array<number | null>(n);
  const state = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const { flight: f, smoothed, sessionId } = rows[i]!;
    icao24[i] = f.icao24;
    ts[i] = f.time_position_unix;
    callsign[i] = f.callsign;
    session[i] = sessionId;
    onGround[i] = f.on_ground;
    squawk[i] = f.squawk;
    rawLat[i] = f.position.lat;
    rawLon[i] = f.position.lon;
    rawAlt[i] = f.altitude_m;
    rawVel[i] = f.velocity_mps;
    rawHdg[i] = f.heading_deg;
    rawVr[i] = f.vertical_rate_mps;
    lat[i] = smoothed?.lat ?? f.position.lat;
    lon[i] = smoothed?.lon ?? f.position.lon;
    alt[i] = smoothed ? smoothed.altitude_m : f.altitude_m;
    vel[i] = smoothed ? smoothed.velocity_mps : f.velocity_mps;
    hdg[i] = smoothed ? smoothed.heading_deg : f.heading_deg;
    vr[i] = smoothed ? smoothed.vertical_rate_mps : f.vertical_rate_mps;
    state[i] = JSON.stringify(f);
  }
  const result = await sql`
    INSERT INTO flights_history (
      icao24, ts, callsign, session_id, on_ground, squawk,
      raw_lat, raw_lon, raw_altitude_m, raw_velocity_mps, raw_heading_deg, raw_vertical_rate_mps,
      lat, lon, altitude_m, velocity_mps, heading_deg, vertical_rate_mps, state)
    SELECT icao24, to_timestamp(ts), callsign, session_id, on_ground, squawk,
      raw_lat, raw_lon, raw_alt, raw_vel, raw_hdg, raw_vr,
      lat, lon, alt, vel, hdg, vr, state::jsonb
    FROM unnest(
      ${sql.array(icao24, TEXT)}::text[], ${sql.array(ts, FLOAT8)}::float8[],
      ${sql.array(callsign, TEXT)}::text[], ${sql.array(session, TEXT)}::text[],
      ${sql.array(onGround, BOOL)}::bool[], ${sql.array(squawk, TEXT)}::text[],
      ${sql.array(rawLat, FLOAT8)}::float8[], ${sql.array(rawLon, FLOAT8)}::float8[],
      ${sql.array(rawAlt, FLOAT8)}::float8[], ${sql.array(rawVel, FLOAT8)}::float8[],
      ${sql.array(rawHdg, FLOAT8)}::float8[], ${sql.array(rawVr, FLOAT8)}::float8[],
      ${sql.array(lat, FLOAT8)}::float8[], ${sql.array(lon, FLOAT8)}::float8[],
      ${sql.array(alt, FLOAT8)}::float8[], ${sql.array(vel, FLOAT8)}::float8[],
      ${sql.array(hdg, FLOAT8)}::float8[], ${sql.array(vr, FLOAT8)}::float8[],
      ${sql.array(state, TEXT)}::text[]
    ) AS r(icao24, ts, callsign, session_id, on_ground, squawk,
      raw_lat, raw_lon, raw_alt, raw_vel, raw_hdg, raw_vr,
      lat, lon, alt, vel, hdg, vr, state)
    ON CONFLICT (icao24, ts) DO NOTHING`;
  return result.count;
}

async function upsertCurrent(sql: Queryable, rows: readonly HistoryRow[]): Promise<void> {
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

async function upsertSessions(sql: Queryable, sessions: readonly FlightSession[]): Promise<void> {
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

async function upsertAnomalies(
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
