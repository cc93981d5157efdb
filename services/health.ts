/**
 * The one `/healthz` shape of every service (web server, producer, worker):
 *
 * - 200 `{"status": "ok", "checks": {"<name>": {"ok": true, "detail": "..."}}}`
 * - 503 `{"status": "unavailable", "problems": ["<name>: <why>", ...], "checks": {...}}`
 *
 * `checks` names what was looked at (web: `hub`, `database`, `source`; producer:
 * `producer`; worker: `worker`), each with `ok` and a short `detail`; `problems` lists
 * the failing ones as `name: detail`. Always `Cache-Control: no-store`.
 *
 * @module
 */

/** One line of `/healthz`. */
export interface HealthCheck {
  ok: boolean;
  /** Why not ok, or a short status. */
  detail?: string;
}

/** `/healthz` as a response in the shared shape. */
export function healthResponse(checks: Record<string, HealthCheck>): Response {
  const headers = { "Cache-Control": "no-store" };
  const ok = Object.values(checks).every((c) => c.ok);
  if (ok) return Response.json({ status: "ok", checks }, { headers });
  const problems = Object.entries(checks)
    .filter(([, check]) => !check.ok)
    .map(([name, check]) => `${name}: ${check.detail ?? "failing"}`);
  return Response.json({ status: "unavailable", problems, checks }, { status: 503, headers });
}
