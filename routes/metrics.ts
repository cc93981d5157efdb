/**
 * `GET /metrics`: Prometheus text from the app's registry (hub, HTTP and
 * whatever else main.ts registers).
 *
 * @module
 */
import { define } from "../services/web/define.ts";

export const handler = define.handlers({
  async GET(ctx) {
    const { registry } = ctx.state;
    return new Response(await registry.metrics(), {
      headers: { "Content-Type": registry.contentType, "Cache-Control": "no-store" },
    });
  },
});
