/**
 * `GET /api/anomalies?since&until&kind&bbox&limit&cursor`: anomaly events,
 * newest first (started_at desc, id desc). `since`/`until` bound started_at
 * (`since` inclusive, `until` exclusive; ISO 8601 or unix seconds), `kind` is
 * a comma list of kinds, `limit` 1..1000 (default 100), `cursor` the
 * `next_cursor` of the previous page (null on the last page).
 *
 * @module
 */
import { z } from "zod";
import type { AnomaliesResponse } from "../../contracts/api.ts";
import { define } from "../../services/web/define.ts";
import {
  type AnomalyCursor,
  decodeCursor,
  DEFAULT_ANOMALY_LIMIT,
  listAnomalies,
  MAX_ANOMALY_LIMIT,
} from "../../services/web/history.ts";
import {
  badRequest,
  bboxParam,
  integerParam,
  kindsParam,
  parseQuery,
  timeParam,
  withDb,
} from "./_params.ts";

const Query = z.object({
  since: timeParam.optional(),
  until: timeParam.optional(),
  kind: kindsParam.optional(),
  bbox: bboxParam.optional(),
  limit: integerParam(1, MAX_ANOMALY_LIMIT).optional(),
  cursor: z.string().optional(),
});

export const handler = define.handlers({
  async GET(ctx) {
    const query = parseQuery(ctx.url, Query);
    if (query.since && query.until && query.since > query.until) {
      throw badRequest("since", "must not be after until");
    }
    let cursor: AnomalyCursor | undefined;
    if (query.cursor !== undefined) {
      cursor = decodeCursor(query.cursor) ?? undefined;
      if (!cursor) throw badRequest("cursor", "not a cursor from next_cursor");
    }
    const page = await withDb(ctx, (sql) =>
      listAnomalies(sql, {
        since: query.since,
        until: query.until,
        kinds: query.kind,
        bbox: query.bbox,
        limit: query.limit ?? DEFAULT_ANOMALY_LIMIT,
        cursor,
      }));
    const body: z.input<typeof AnomaliesResponse> = page;
    return Response.json(body, { headers: { "Cache-Control": "no-store" } });
  },
});
