/**
 * `GET /api/flights/:icao24/track?from&to`: the trail between `from` and
 * `to` (ISO 8601 or unix seconds; at most 24 h apart), smoothed positions
 * plus the raw ones, oldest first, at most 20,000 points (longer trails are
 * thinned evenly). The default range is one hour: the last hour without
 * either, the hour before `to`, or the hour after `from` (up to now).
 * 404 for an unknown aircraft. Before the fine tier's oldest day the
 * sampled tier answers (`resolution`: fine, sampled or mixed).
 * `format=geojson|csv|kml` streams the whole trail (no thinning) in that
 * format instead of JSON (services/web/history.ts `trackExport`).
 *
 * @module
 */
import { z } from "zod";
import type { TrackResponse } from "../../../../contracts/api.ts";
import { HttpError } from "../../../../lib/framework/mod.ts";
import { define } from "../../../../services/web/define.ts";
import { MAX_TRACK_RANGE_MS, track, trackExport } from "../../../../services/web/history.ts";
import { TRACK_FORMATS } from "../../../../lib/export/formats.ts";
import { badRequest, icao24Param, parseQuery, timeParam, withDb } from "../../_params.ts";

const Query = z.object({
  from: timeParam.optional(),
  to: timeParam.optional(),
  format: z.enum(["json", ...TRACK_FORMATS]).optional(),
});
const DEFAULT_RANGE_MS = 3600 * 1000;

export const handler = define.handlers({
  async GET(ctx) {
    const icao24 = icao24Param(ctx);
    const query = parseQuery(ctx.url, Query);
    // One hour by default: before `to`, after `from` (up to now), or the last one.
    const to = query.to ??
      (query.from
        ? new Date(Math.min(Date.now(), query.from.getTime() + DEFAULT_RANGE_MS))
        : new Date());
    const from = query.from ?? new Date(to.getTime() - DEFAULT_RANGE_MS);
    if (from > to) throw badRequest("from", "must not be after to");
    if (to.getTime() - from.getTime() > MAX_TRACK_RANGE_MS) {
      throw badRequest(
        "from",
        `the range from..to must not exceed ${MAX_TRACK_RANGE_MS / 3600000} h`,
      );
    }
    const format = query.format ?? "json";
    if (format !== "json") {
      const response = await withDb(ctx, (sql) => trackExport(sql, icao24, { from, to, format }));
      if (response === null) {
        throw new HttpError(404, `icao24: no aircraft ${icao24} in the history`);
      }
      return response;
    }
    const trail = await withDb(ctx, (sql) => track(sql, icao24, { from, to }));
    if (trail === null) throw new HttpError(404, `icao24: no aircraft ${icao24} in the history`);
    const body: z.input<typeof TrackResponse> = {
      icao24,
      from: from.toISOString(),
      to: to.toISOString(),
      ...trail,
    };
    return Response.json(body, { headers: { "Cache-Control": "no-store" } });
  },
});
