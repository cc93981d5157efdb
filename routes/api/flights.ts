/**
 * `GET /api/flights?bbox&min_altitude_m&max_altitude_m&on_ground&callsign_prefix`:
 * the hub's current flights matching the filter, with the semantics of the
 * WebSocket `subscribe` (contracts/ws.ts `Subscription`).
 *
 * @module
 */
import { z } from "zod";
import type { FlightsResponse } from "../../contracts/api.ts";
import { Subscription } from "../../contracts/ws.ts";
import { define } from "../../services/web/define.ts";
import { badRequest, bboxParam, booleanParam, numberParam, parseQuery } from "./_params.ts";

const Query = z.object({
  bbox: bboxParam.optional(),
  min_altitude_m: numberParam.optional(),
  max_altitude_m: numberParam.optional(),
  on_ground: booleanParam.optional(),
  callsign_prefix: z.string().optional(),
});

/** The query string as a `Subscription`; 400 naming the parameter when it is not one. */
function subscriptionFromQuery(url: URL): Subscription {
  const query = parseQuery(url, Query);
  const candidate = Object.fromEntries(
    Object.entries(query).filter(([, value]) => value !== undefined),
  );
  const parsed = Subscription.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw badRequest(String(issue.path[0] ?? "query"), issue.message);
  }
  return parsed.data;
}

export const handler = define.handlers({
  GET(ctx) {
    const flights = ctx.state.hub.snapshot(subscriptionFromQuery(ctx.url));
    const body: z.input<typeof FlightsResponse> = {
      flights,
      count: flights.length,
      at: new Date().toISOString(),
    };
    return Response.json(body, { headers: { "Cache-Control": "no-store" } });
  },
});
