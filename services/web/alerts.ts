/**
 * Alert rules and events in PostgreSQL (migrations/0003_alerts.sql), and the
 * request logic of `/api/alerts` and `/api/alerts/events`: validation,
 * authorisation (storage in services/alerts/store.ts). The route files only dispatch here.
 *
 * Writes need `Authorization: Bearer <ADMIN_TOKEN>`. Without ADMIN_TOKEN set
 * they answer 403 saying so: a local stack can read rules and events, and
 * nobody can create a rule that POSTs to arbitrary URLs by accident.
 *
 * @module
 */
import { z } from "zod";
import { AlertRuleInput, AlertRulePatch, normalizeRule } from "../../contracts/alerts.ts";
import type { Sql } from "../../lib/db/mod.ts";
import { HttpError } from "../../lib/framework/mod.ts";
import { createRule, getRule, loadRules, publicRule, ruleJson } from "../alerts/store.ts";

export {
  DEFAULT_EVENT_LIMIT,
  insertAlertEvents,
  listAlertEvents,
  loadRules,
  MAX_EVENT_LIMIT,
  rulesVersion,
} from "../alerts/store.ts";

/** Largest request body of a rule, bytes. */
const MAX_BODY_BYTES = 256 * 1024;

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
