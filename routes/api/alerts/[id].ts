/**
 * `GET /api/alerts/{id}`, `PATCH /api/alerts/{id}` (merge the fields given,
 * e.g. `{"muted": true}`), `DELETE /api/alerts/{id}` (204). Writes need
 * `Authorization: Bearer $ADMIN_TOKEN`. Logic in services/web/alerts.ts.
 *
 * @module
 */
import type { Handlers } from "../../../lib/framework/mod.ts";
import { handleDeleteRule, handleGetRule, handlePatchRule } from "../../../services/web/alerts.ts";
import type { AppState } from "../../../services/web/app.ts";
import { withDb } from "../_params.ts";

export const handler: Handlers<unknown, AppState> = {
  GET(_req, ctx) {
    return withDb(ctx, (sql) => handleGetRule(sql, ctx.params.id ?? ""));
  },
  PATCH(req, ctx) {
    const options = { id: ctx.params.id ?? "", adminToken: ctx.state.adminToken };
    return withDb(ctx, (sql) => handlePatchRule(req, sql, options));
  },
  DELETE(req, ctx) {
    const options = { id: ctx.params.id ?? "", adminToken: ctx.state.adminToken };
    return withDb(ctx, (sql) => handleDeleteRule(req, sql, options));
  },
};
