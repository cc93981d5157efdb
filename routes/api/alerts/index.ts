/**
 * `GET /api/alerts`: every alert rule (secrets left out). `POST /api/alerts`:
 * creates one (the rule object of contracts/alerts.ts), 201 with the rule and
 * its `id`; needs `Authorization: Bearer $ADMIN_TOKEN`. Logic in
 * services/web/alerts.ts.
 *
 * @module
 */
import type { Handlers } from "../../../lib/framework/mod.ts";
import { handleCreateRule, handleListRules } from "../../../services/web/alerts.ts";
import type { AppState } from "../../../services/web/app.ts";
import { withDb } from "../_params.ts";

export const handler: Handlers<unknown, AppState> = {
  GET(_req, ctx) {
    return withDb(ctx, (sql) => handleListRules(sql));
  },
  POST(req, ctx) {
    return withDb(ctx, (sql) => handleCreateRule(req, sql, ctx.state.adminToken));
  },
};
