/**
 * `GET /healthz`: 200 only when the server can serve (hub source ready, database answering
 * if configured), else 503; the body has the shape every service shares (services/health.ts).
 *
 * @module
 */
import type { Handlers } from "../lib/framework/mod.ts";
import type { AppState } from "../services/web/app.ts";
import { healthResponse } from "../services/health.ts";

export const handler: Handlers<unknown, AppState> = {
  async GET(_req, ctx) {
    return healthResponse((await ctx.state.health()).checks);
  },
};
