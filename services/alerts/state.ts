/**
 * The alert evaluator's per-aircraft state in PostgreSQL (`alert_state`,
 * migrations/0004_alert_state.sql) and the alert events' outbox flag: what
 * lets a restarted or rebalanced worker carry on without firing `enter`
 * again for aircraft already inside, and without losing an event stored
 * but not yet published.
 *
 * @module
 */
import type { AircraftAlertState, DirtyAlertState } from "../../lib/alerts/evaluator.ts";
import type postgres from "postgres";
import type { Sql } from "../../lib/db/mod.ts";

/** A connection or a transaction: the writes below run inside the batch's transaction. */
export type Queryable = Sql | postgres.TransactionSql;

const TEXT = 25;
const FLOAT8 = 701;

/** Stored states of these aircraft (those that have one). */
export async function loadAlertStates(
  sql: Sql,
  icao24s: readonly string[],
): Promise<Map<string, AircraftAlertState>> {
  const out = new Map<string, AircraftAlertState>();
  if (icao24s.length === 0) return out;
  const rows = await sql<
    { icao24: string; last_t: number; state: Omit<AircraftAlertState, "last_t"> }[]
  >`
    SELECT icao24, last_t, state FROM alert_state
    WHERE icao24 = ANY(${sql.array(icao24s as string[], TEXT)}::text[])`;
  for (const r of rows) {
    out.set(r.icao24, {
      last_t: r.last_t,
      active: r.state.active ?? [],
      fired: r.state.fired ?? {},
      anomalies: r.state.anomalies ?? [],
    });
  }
  return out;
}

/**
 * Upserts states; a stored state with a later `last_t` wins (two batches of
 * one partition never race, but a state written by a worker that lost the
 * partition must not overwrite a newer one).
 */
export async function saveAlertStates(
  sql: Queryable,
  states: readonly DirtyAlertState[],
): Promise<void> {
  if (states.length === 0) return;
  await sql`
    INSERT INTO alert_state (icao24, last_t, state, updated_at)
    SELECT icao24, last_t, state::jsonb, now()
    FROM unnest(
      ${sql.array(states.map((s) => s.icao24), TEXT)}::text[],
      ${sql.array(states.map((s) => s.state.last_t), FLOAT8)}::float8[],
      ${
    sql.array(
      states.map((s) =>
        JSON.stringify({
          active: s.state.active,
          fired: s.state.fired,
          anomalies: s.state.anomalies,
        })
      ),
      TEXT,
    )
  }::text[]
    ) AS r(icao24, last_t, state)
    ON CONFLICT (icao24) DO UPDATE SET last_t = EXCLUDED.last_t, state = EXCLUDED.state,
      updated_at = EXCLUDED.updated_at
    WHERE alert_state.last_t <= EXCLUDED.last_t`;
}

/** Deletes states of aircraft silent since before `beforeUnix` (data time); returns how many. */
export async function expireAlertStates(sql: Queryable, beforeUnix: number): Promise<number> {
  const result = await sql`DELETE FROM alert_state WHERE last_t < ${beforeUnix}`;
  return result.count;
}

/** The events are on the alerts topic. */
export async function markPublished(sql: Sql, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`
    UPDATE alert_events SET published_at = now()
    WHERE id = ANY(${sql.array(ids as string[], TEXT)}::text[]) AND published_at IS NULL`;
}
