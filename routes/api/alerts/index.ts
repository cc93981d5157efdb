/**
 * `GET /api/alerts`: every alert rule (secrets left out). `POST /api/alerts`:
 * creates one (the rule object of contracts/alerts.ts), 201 with the rule and
 * its `id`; needs `Authorization: Bearer $ADMIN_TOKEN`. Logic in
 * services/web/alerts.ts.
 *
 * @module
 */
import { handleCreateRule, handleListRules } from "../../../services/web/alerts.ts";
import { define } from "../../../services/web/define.ts";
import { withDb } from "../_params.ts";

export const handler = define.handlers({
  GET(ctx) {
    return withDb(ctx, (sql) => handleListRules(sql));
  },
  POST(ctx) {
    return withDb(ctx, (sql) => handleCreateRule(ctx.req, sql, ctx.state.adminToken));
  },
});
