/**
 * `GET /ws`: the WebSocket protocol of contracts/ws.ts, served by the hub.
 *
 * @module
 */
import { errorResponse } from "../lib/framework/mod.ts";
import { define } from "../services/web/define.ts";

export const handler = define.handlers({
  GET(ctx) {
    if (ctx.req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(426, "/ws speaks WebSocket: send Upgrade: websocket", {
        headers: { Upgrade: "websocket", Connection: "Upgrade" },
      });
    }
    return ctx.state.hub.handleUpgrade(ctx.req);
  },
});
