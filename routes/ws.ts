/**
 * `GET /ws`: the WebSocket protocol of contracts/ws.ts, served by the hub
 * (which also answers 426 to a request without an upgrade, 403 to a foreign
 * Origin, 503 while stopping).
 *
 * @module
 */
import { define } from "../services/web/define.ts";

export const handler = define.handlers({
  GET(ctx) {
    return ctx.state.hub.handleUpgrade(ctx.req);
  },
});
