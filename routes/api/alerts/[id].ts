/**
 * `GET /api/alerts/{id}`, `PATCH /api/alerts/{id}` (merge the fields given,
 * e.g. `{"muted": true}`), `DELETE /api/alerts/{id}` (204). Writes need
 * `Authorization: Bearer $ADMIN_TOKEN`. Logic in services/web/alerts.ts.
 *
 * @module
 */
import { handleDeleteRule, handleGetRule, handlePatchRule } from "../../../services/web/alerts.ts";
import { define } from "../../../services/web/define.ts";
import { withDb } from "../_params.ts";

export const handler = define.handlers({
  GET(ctx) {
    return withDb(ctx, (sql) => handleGetRule(sql, ctx.params.id ?? ""));
  },
  PATCH(ctx) {
    const options = { id: ctx.params.id ?? "", adminToken: ctx.state.adminToken };
    return withDb(ctx, (sql) => handlePatchRule(ctx.req, sql, options));
  },
  DELETE(ctx) {
    const options = { id: ctx.params.id ?? "", adminToken: ctx.state.adminToken };
    return withDb(ctx, (sql) => handleDeleteRule(ctx.req, sql, options));
  },
});
