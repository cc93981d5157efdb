/**
 * `GET /api/snapshot?at&bbox`: time travel. Every aircraft's last state at
 * or before `at` (ISO 8601 or unix seconds; default now) and within the
 * stale window (WS_STALE_THRESHOLD_SECONDS, 60 s by default): what the live
 * view showed at `at`. `bbox` keeps those whose position then was inside it.
 * Before the fine tier's oldest day the sampled tier answers
 * (`resolution: "sampled"`, positions up to 5 min older).
 *
 * @module
 */
import { z } from "zod";
import type { SnapshotResponse } from "../../contracts/api.ts";
import { define } from "../../services/web/define.ts";
import { snapshotAt } from "../../services/web/history.ts";
import { bboxParam, parseQuery, timeParam, withDb } from "./_params.ts";

const Query = z.object({ at: timeParam.optional(), bbox: bboxParam.optional() });

export const handler = define.handlers({
  async GET(ctx) {
    const query = parseQuery(ctx.url, Query);
    const at = query.at ?? new Date();
    const { flights, resolution } = await withDb(
      ctx,
      (sql) => snapshotAt(sql, at, { staleSeconds: ctx.state.staleSeconds, bbox: query.bbox }),
    );
    const body: z.input<typeof SnapshotResponse> = {
      at: at.toISOString(),
      flights,
      count: flights.length,
      resolution,
    };
    return Response.json(body, { headers: { "Cache-Control": "no-store" } });
  },
});
