/**
 * `GET /healthz`: 200 `{"status": "ok", "checks": {...}}` only when the
 * server can serve (hub source ready, database answering if configured),
 * else 503 `{"status": "unavailable", "problems": [...], "checks": {...}}`.
 *
 * @module
 */
import { define } from "../services/web/define.ts";

export const handler = define.handlers({
  async GET(ctx) {
    const report = await ctx.state.health();
    const headers = { "Cache-Control": "no-store" };
    if (report.ok) return Response.json({ status: "ok", checks: report.checks }, { headers });
    const problems = Object.entries(report.checks)
      .filter(([, check]) => !check.ok)
      .map(([name, check]) => `${name}: ${check.detail ?? "failing"}`);
    return Response.json(
      { status: "unavailable", problems, checks: report.checks },
      { status: 503, headers },
    );
  },
});
