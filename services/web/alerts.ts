/**
 * Alert rules and events in PostgreSQL (migrations/0003_alerts.sql), and the
 * request logic of `/api/alerts` and `/api/alerts/events`: validation,
 * authorisation, storage. The route files only dispatch here.
 *
 * Writes need `Authorization: Bearer <ADMIN_TOKEN>`. Without ADMIN_TOKEN set
 * they answer 403 saying so: a local stack can read rules and events, and
 * nobody can create a rule that POSTs to arbitrary URLs by accident.
 *
 * @module
 */
import { z } from "zod";
import {
  type AlertEvent,
  type AlertRule,
  AlertRuleInput,
  AlertRulePatch,
  normalizeRule,
} from "../../contracts/alerts.ts";
import type { Sql } from "../../lib/db/mod.ts";
import { HttpError } from "../../lib/framework/mod.ts";

/** Default and largest page of `GET /api/alerts/events`. */
export const DEFAULT_EVENT_LIMIT = 100;
export const MAX_EVENT_LIMIT = 1000;
/** Largest request body of a rule, bytes. */
const MAX_BODY_BYTES = 256 * 1024;

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

async function getRule(sql: Sql, id: string): Promise<StoredRule | null> {
  const rows = await sql.unsafe<RuleRow[]>(
    `SELECT ${RULE_COLUMNS} FROM alert_rules WHERE id = $1`,
    [id],
  );
  return rows[0] ? toRule(rows[0]) : null;
}

type Normalized = ReturnType<typeof normalizeRule>;

function ruleJson(n: Normalized): Record<string, unknown> {
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
export async function insertAlertEvents(sql: Sql, events: readonly AlertEvent[]): Promise<number> {
  if (events.length === 0) return 0;
  const rows = events.map((e) => ({
    id: e.id,
    rule_id: e.rule_id,
    rule_name: e.rule_name,
    kind: e.kind,
    icao24: e.icao24,
    callsign: e.callsign,
    at: e.at,
    lat: e.position.lat,
    lon: e.position.lon,
    altitude_m: e.position.altitude_m,
    detail: JSON.stringify(e.detail),
  }));
  const result = await sql`
    INSERT INTO alert_events ${
    sql(
      rows,
      "id",
      "rule_id",
      "rule_name",
      "kind",
      "icao24",
      "callsign",
      "at",
      "lat",
      "lon",
      "altitude_m",
      "detail",
    )
  }
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
  detail: Record<string, unknown> | string;
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
    detail: typeof r.detail === "string" ? JSON.parse(r.detail) : r.detail,
  }));
}

// ---------------------------------------------------------------------------
// Request logic

/** Throws 403 (no ADMIN_TOKEN configured) or 401 (missing or wrong bearer token). */
export function authorizeWrite(req: Request, adminToken: string | null): void {
  if (!adminToken) {
    throw new HttpError(
      403,
      "writing alert rules is disabled: set ADMIN_TOKEN on the web server and send " +
        "Authorization: Bearer <ADMIN_TOKEN>",
      { code: "forbidden" },
    );
  }
  const header = req.headers.get("authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  if (!match || !timingSafeEqual(match[1]!, adminToken)) {
    throw new HttpError(401, "Authorization: Bearer <ADMIN_TOKEN> is missing or wrong", {
      code: "unauthorized",
      headers: { "WWW-Authenticate": 'Bearer realm="skysentinel"' },
    });
  }
}

function timingSafeEqual(a: string, b: string): boolean {
  const ea = new TextEncoder().encode(a);
  const eb = new TextEncoder().encode(b);
  let diff = ea.length ^ eb.length;
  for (let i = 0; i < eb.length; i++) diff |= (ea[i % Math.max(1, ea.length)] ?? 0) ^ eb[i]!;
  return diff === 0;
}

/** Reads a JSON body (400 when it is not JSON, 413 when too large, 415 when not JSON typed). */
export async function readJson(req: Request): Promise<unknown> {
  const type = req.headers.get("content-type") ?? "";
  if (!/^application\/(.+\+)?json\b/i.test(type)) {
    throw new HttpError(415, "send the rule as Content-Type: application/json");
  }
  const text = await req.text();
  if (text.length > MAX_BODY_BYTES) throw new HttpError(413, "body over 256 KiB");
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "body: not valid JSON", { code: "bad_request" });
  }
}

function invalid(error: z.ZodError): HttpError {
  const issue = error.issues[0]!;
  const path = issue.path.length ? issue.path.join(".") : "body";
  return new HttpError(400, `${path}: ${issue.message}`, { code: "bad_request" });
}

const RuleId = z.string().regex(/^rule_[0-9a-f]{16}$/, "not a rule id");

function ruleIdOf(id: string | null | undefined): string {
  const parsed = RuleId.safeParse(id ?? "");
  if (!parsed.success) throw new HttpError(404, "no such rule", { code: "not_found" });
  return parsed.data;
}

/** `GET /api/alerts`: every rule (without secrets). */
export async function handleListRules(sql: Sql): Promise<Response> {
  const rules = (await loadRules(sql)).map(publicRule);
  return Response.json({ rules }, { headers: { "Cache-Control": "no-store" } });
}

/** `GET /api/alerts/{id}`. */
export async function handleGetRule(sql: Sql, id: string): Promise<Response> {
  const rule = await getRule(sql, ruleIdOf(id));
  if (!rule) throw new HttpError(404, "no such rule", { code: "not_found" });
  return Response.json(publicRule(rule), { headers: { "Cache-Control": "no-store" } });
}

/** `POST /api/alerts`: 201 with the rule and its id. */
export async function handleCreateRule(
  req: Request,
  sql: Sql,
  adminToken: string | null,
): Promise<Response> {
  authorizeWrite(req, adminToken);
  const parsed = AlertRuleInput.safeParse(await readJson(req));
  if (!parsed.success) throw invalid(parsed.error);
  const rule = await createRule(sql, parsed.data);
  return Response.json(publicRule(rule), {
    status: 201,
    headers: { Location: `/api/alerts/${rule.id}` },
  });
}

/** `PATCH /api/alerts/{id}`: merges the fields given; the merged rule is validated again. */
export async function handlePatchRule(
  req: Request,
  sql: Sql,
  options: { id: string; adminToken: string | null },
): Promise<Response> {
  authorizeWrite(req, options.adminToken);
  const id = ruleIdOf(options.id);
  const patch = AlertRulePatch.safeParse(await readJson(req));
  if (!patch.success) throw invalid(patch.error);
  const current = await getRule(sql, id);
  if (!current) throw new HttpError(404, "no such rule", { code: "not_found" });
  const { id: _i, created_at: _c, updated_at: _u, webhook_secret_set: _w, ...fields } = current;
  const merged = AlertRuleInput.safeParse(stripNulls({ ...fields, ...patch.data }));
  if (!merged.success) throw invalid(merged.error);
  const n = normalizeRule(merged.data);
  await sql`
    UPDATE alert_rules SET name = ${n.name}, kind = ${n.kind},
      rule = ${sql.json(ruleJson(n) as never)}, webhook_secret = ${n.webhook_secret},
      muted = ${n.muted}, updated_at = clock_timestamp()
    WHERE id = ${id}`;
  return Response.json(publicRule((await getRule(sql, id))!));
}

/** `DELETE /api/alerts/{id}`: 204; its events stay. */
export async function handleDeleteRule(
  req: Request,
  sql: Sql,
  options: { id: string; adminToken: string | null },
): Promise<Response> {
  authorizeWrite(req, options.adminToken);
  const id = ruleIdOf(options.id);
  const result = await sql`DELETE FROM alert_rules WHERE id = ${id}`;
  if (result.count === 0) throw new HttpError(404, "no such rule", { code: "not_found" });
  return new Response(null, { status: 204 });
}

/** Nulls (and empty lists) mean "unset" in a PATCH; the input schema takes absent fields for that. */
function stripNulls(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(o).filter(([, v]) => v !== null && !(Array.isArray(v) && v.length === 0)),
  );
}
