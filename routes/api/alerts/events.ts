/**
 * `GET /api/alerts/events?rule_id&icao24&since&until&limit`: alert events,
 * newest first (`at` desc). `since` inclusive, `until` exclusive (ISO 8601
 * or unix seconds), `limit` 1..1000 (default 100). Open to read.
 *
 * @module
 */
import { z } from "zod";
import { Icao24 } from "../../../contracts/common.ts";
import {
  DEFAULT_EVENT_LIMIT,
  listAlertEvents,
  MAX_EVENT_LIMIT,
} from "../../../services/web/alerts.ts";
import { define } from "../../../services/web/define.ts";
import { integerParam, parseQuery, timeParam, withDb } from "../_params.ts";

const Query = z.object({
  rule_id: z.string().max(64).optional(),
  icao24: z.string().transform((s) => s.toLowerCase()).pipe(Icao24).optional(),
  since: timeParam.optional(),
  until: timeParam.optional(),
  limit: integerParam(1, MAX_EVENT_LIMIT).optional(),
});

export const handler = define.handlers({
  async GET(ctx) {
    const q = parseQuery(ctx.url, Query);
    const events = await withDb(ctx, (sql) =>
      listAlertEvents(sql, {
        ruleId: q.rule_id,
        icao24: q.icao24,
        since: q.since,
        until: q.until,
        limit: q.limit ?? DEFAULT_EVENT_LIMIT,
      }));
    return Response.json({ events }, { headers: { "Cache-Control": "no-store" } });
  },
});
