/**
 * `GET /api/flights/:icao24`: the aircraft's latest stored state and its
 * current (or last) session. 404 when the database never saw it.
 *
 * @module
 */
import { z } from "zod";
import type { FlightDetailResponse } from "../../../contracts/api.ts";
import { HttpError } from "../../../lib/framework/mod.ts";
import { define } from "../../../services/web/define.ts";
import { flightDetail } from "../../../services/web/history.ts";
import { icao24Param, parseQuery, withDb } from "../_params.ts";

const NoQuery = z.object({});

export const handler = define.handlers({
  async GET(ctx) {
    const icao24 = icao24Param(ctx);
    parseQuery(ctx.url, NoQuery);
    const detail = await withDb(ctx, (sql) => flightDetail(sql, icao24));
    if (detail === null) throw new HttpError(404, `icao24: no aircraft ${icao24} in the history`);
    const body: z.input<typeof FlightDetailResponse> = { icao24, ...detail };
    return Response.json(body, { headers: { "Cache-Control": "no-store" } });
  },
});
