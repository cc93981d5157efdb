/**
 * The one `/healthz` shape of every service (web server, producer, worker):
 *
 * - 200 `{"status": "ok", "checks": {"<name>": {"ok": true, "detail": "..."}}}`
 * - 200 `{"status": "degraded", "problems": [...], "checks": {...}}`: serving, but a check
 *   says the service is impaired (the worker's data is stale or its lag high)
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
  /** Ok (serving) but impaired: the body says `degraded`. */
  degraded?: boolean;
}

/** `/healthz` as a response in the shared shape. */
export function healthResponse(checks: Record<string, HealthCheck>): Response {
  const headers = { "Cache-Control": "no-store" };
  const ok = Object.values(checks).every((c) => c.ok);
  const problems = Object.entries(checks)
    .filter(([, check]) => !check.ok || check.degraded)
    .map(([name, check]) => `${name}: ${check.detail ?? "failing"}`);
  if (ok && problems.length === 0) return Response.json({ status: "ok", checks }, { headers });
  if (ok) return Response.json({ status: "degraded", problems, checks }, { headers });
  return Response.json({ status: "unavailable", problems, checks }, { status: 503, headers });
}
