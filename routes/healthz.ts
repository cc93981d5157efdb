/**
 * `GET /healthz`: 200 only when the server can serve (hub source ready, database answering
 * if configured), else 503; the body has the shape every service shares (services/health.ts).
 *
 * @module
 */
import { healthResponse } from "../services/health.ts";
import { define } from "../services/web/define.ts";

export const handler = define.handlers({
  async GET(ctx) {
    return healthResponse((await ctx.state.health()).checks);
  },
});
