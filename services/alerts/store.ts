/**
 * Alert rules and events in PostgreSQL (migrations/0003_alerts.sql, 0004): what
 * the web routes, the worker's evaluation and the webhook delivery share.
 *
 * @module
 */
import type { z } from "zod";
import {
  type AlertEvent,
  type AlertRule,
  type AlertRuleInput,
  normalizeRule,
} from "../../contracts/alerts.ts";
import type postgres from "postgres";
import type { Sql } from "../../lib/db/mod.ts";

/** Default and largest page of `GET /api/alerts/events`. */
export const DEFAULT_EVENT_LIMIT = 100;
export const MAX_EVENT_LIMIT = 1000;
/** PostgreSQL type oids of the array parameters. */
const TEXT = 25;
const FLOAT8 = 701;

/** A rule with its secret, for the worker's delivery (never sent over the API). */
export interface StoredRule extends AlertRule {
  webhook_secret: string | null;
}

interface RuleRow {
  id: string;
  name: string;
  kind: AlertRule["kind"];
  rule: Record<string, unknown>;
  webhook_secret: string | null;
  muted: boolean;
  created_at: string;
  updated_at: string;
}

const ISO = (column: string) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;
const RULE_COLUMNS = `id, name, kind, rule, webhook_secret, muted, ${ISO("created_at")}, ${
  ISO("updated_at")
}`;

function toRule(row: RuleRow): StoredRule {
  const r = row.rule as Omit<AlertRule, "id" | "created_at" | "updated_at">;
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    geofence: r.geofence ?? null,
    min_altitude_m: r.min_altitude_m ?? null,
    max_altitude_m: r.max_altitude_m ?? null,
    on: r.on ?? [],
    squawks: r.squawks ?? null,
    icao24: r.icao24 ?? null,
    callsign_prefix: r.callsign_prefix ?? null,
    anomaly_kinds: r.anomaly_kinds ?? null,
    min_severity: r.min_severity ?? null,
    cooldown_s: r.cooldown_s ?? 0,
    webhook_url: r.webhook_url ?? null,
    webhook_secret: row.webhook_secret,
    webhook_secret_set: row.webhook_secret !== null,
    ntfy_url: r.ntfy_url ?? null,
    muted: row.muted,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** The API form: without the secret. */
export function publicRule(rule: StoredRule): AlertRule {
  const { webhook_secret: _, ...rest } = rule;
  return rest;
}

/** Every rule with its secret, oldest first (the worker loads these). */
export async function loadRules(sql: Sql): Promise<StoredRule[]> {
  const rows = await sql.unsafe<RuleRow[]>(
    `SELECT ${RULE_COLUMNS} FROM alert_rules ORDER BY created_at, id`,
  );
  return rows.map(toRule);
}

/** Changes whenever a rule is created, changed or deleted (cheap to poll). */
export async function rulesVersion(sql: Sql): Promise<string> {
  const [row] = await sql<{ n: number; latest: string | null }[]>`
    SELECT count(*)::int AS n, max(updated_at)::text AS latest FROM alert_rules`;
  return `${row?.n ?? 0}|${row?.latest ?? ""}`;
}

export async function getRule(sql: Sql, id: string): Promise<StoredRule | null> {
  const rows = await sql.unsafe<RuleRow[]>(
    `SELECT ${RULE_COLUMNS} FROM alert_rules WHERE id = $1`,
    [id],
  );
  return rows[0] ? toRule(rows[0]) : null;
}

export type Normalized = ReturnType<typeof normalizeRule>;

export function ruleJson(n: Normalized): Record<string, unknown> {
  const { name: _n, kind: _k, webhook_secret: _s, muted: _m, ...rest } = n;
  return rest;
}

/** Inserts a validated rule; returns it as stored. */
export async function createRule(sql: Sql, input: z.output<typeof AlertRuleInput>) {
  const n = normalizeRule(input);
  const id = `rule_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  await sql`
    INSERT INTO alert_rules (id, name, kind, rule, webhook_secret, muted)
    VALUES (${id}, ${n.name}, ${n.kind}, ${sql.json(ruleJson(n) as never)}, ${n.webhook_secret},
            ${n.muted})`;
  return (await getRule(sql, id))!;
}

/** Stores alert events (idempotent by id); returns how many were new. */
export async function insertAlertEvents(
  sql: Sql | postgres.TransactionSql,
  events: readonly AlertEvent[],
): Promise<number> {
  if (events.length === 0) return 0;
  const col = <T>(f: (e: AlertEvent) => T, type: number) =>
    sql.array(events.map(f) as never[], type);
  const result = await sql`
    INSERT INTO alert_events (id, rule_id, rule_name, kind, icao24, callsign, at, lat, lon,
      altitude_m, detail)
    SELECT id, rule_id, rule_name, kind, icao24, callsign, at::timestamptz, lat, lon, alt,
      detail::jsonb
    FROM unnest(
      ${col((e) => e.id, TEXT)}::text[], ${col((e) => e.rule_id, TEXT)}::text[],
      ${col((e) => e.rule_name, TEXT)}::text[], ${col((e) => e.kind, TEXT)}::text[],
      ${col((e) => e.icao24, TEXT)}::text[], ${col((e) => e.callsign, TEXT)}::text[],
      ${col((e) => e.at, TEXT)}::text[], ${col((e) => e.position.lat, FLOAT8)}::float8[],
      ${col((e) => e.position.lon, FLOAT8)}::float8[],
      ${col((e) => e.position.altitude_m, FLOAT8)}::float8[],
      ${col((e) => JSON.stringify(e.detail), TEXT)}::text[]
    ) AS r(id, rule_id, rule_name, kind, icao24, callsign, at, lat, lon, alt, detail)
    ON CONFLICT (id) DO NOTHING`;
  return result.count;
}

/** Filters of {@link listAlertEvents}. */
export interface AlertEventQuery {
  ruleId?: string;
  icao24?: string;
  /** at >= since. */
  since?: Date;
  /** at < until. */
  until?: Date;
  limit?: number;
  /** Only events not published yet (the outbox), stored since this time. */
  unpublishedSince?: Date;
}

interface EventRow {
  id: string;
  rule_id: string;
  rule_name: string;
  kind: AlertEvent["kind"];
  icao24: string;
  callsign: string | null;
  at: string;
  lat: number;
  lon: number;
  altitude_m: number | null;
  detail: Record<string, unknown>;
}

/** Alert events newest first (at desc, id desc). */
export async function listAlertEvents(sql: Sql, query: AlertEventQuery): Promise<AlertEvent[]> {
  const empty = sql``;
  const rows = await sql<EventRow[]>`
    SELECT id, rule_id, rule_name, kind, icao24, callsign,
           to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at,
           lat, lon, altitude_m, detail
    FROM alert_events
    WHERE true
      ${query.ruleId ? sql`AND rule_id = ${query.ruleId}` : empty}
      ${query.icao24 ? sql`AND icao24 = ${query.icao24}` : empty}
      ${query.since ? sql`AND at >= ${query.since}` : empty}
      ${query.until ? sql`AND at < ${query.until}` : empty}
      ${
    query.unpublishedSince
      ? sql`AND published_at IS NULL AND stored_at >= ${query.unpublishedSince}`
      : empty
  }
    ORDER BY at DESC, id DESC
    LIMIT ${query.limit ?? DEFAULT_EVENT_LIMIT}`;
  return rows.map((r) => ({
    id: r.id,
    rule_id: r.rule_id,
    rule_name: r.rule_name,
    kind: r.kind,
    icao24: r.icao24,
    callsign: r.callsign,
    at: r.at,
    position: { lat: r.lat, lon: r.lon, altitude_m: r.altitude_m },
    detail: r.detail as Record<string, unknown>,
  }));
}
