/**
 * Every request: HTTP metrics by route pattern (never by raw path, so the
 * label set stays small).
 *
 * @module
 */
import type { FreshContext } from "../lib/framework/mod.ts";
import type { AppState } from "../services/web/app.ts";

const FIXED_ROUTES = { static: "static", internal: "/_islands", notFound: "unmatched" } as const;

export async function handler(_req: Request, ctx: FreshContext<AppState>): Promise<Response> {
  const started = performance.now();
  let status = 500;
  try {
    const response = await ctx.next();
    status = response.status;
    return response;
  } finally {
    const route = ctx.destination === "route" && ctx.route !== null
      ? ctx.route
      : FIXED_ROUTES[ctx.destination === "route" ? "notFound" : ctx.destination];
    ctx.state.http.observe(route, ctx.req.method, status, (performance.now() - started) / 1000);
  }
}
