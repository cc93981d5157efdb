/**
 * `GET /ws`: the WebSocket protocol of contracts/ws.ts, served by the hub.
 *
 * @module
 */
import { errorResponse, type Handlers } from "../lib/framework/mod.ts";
import type { AppState } from "../services/web/app.ts";

export const handler: Handlers<unknown, AppState> = {
  GET(req, ctx) {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return errorResponse(426, "/ws speaks WebSocket: send Upgrade: websocket", {
        headers: { Upgrade: "websocket", Connection: "Upgrade" },
      });
    }
    return ctx.state.hub.handleUpgrade(req);
  },
};
