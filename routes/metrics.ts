/**
 * `GET /metrics`: Prometheus text from the app's registry (hub, HTTP and
 * whatever else main.ts registers).
 *
 * @module
 */
import type { Handlers } from "../lib/framework/mod.ts";
import type { AppState } from "../services/web/app.ts";

export const handler: Handlers<unknown, AppState> = {
  async GET(_req, ctx) {
    const { registry } = ctx.state;
    return new Response(await registry.metrics(), {
      headers: { "Content-Type": registry.contentType, "Cache-Control": "no-store" },
    });
  },
};
