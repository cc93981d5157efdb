/**
 * `GET /api/openapi.json`: the OpenAPI 3.1 description of the HTTP API.
 *
 * @module
 */
import type { Handlers } from "../../lib/framework/mod.ts";
import type { AppState } from "../../services/web/app.ts";
import { openApiDocument } from "../../services/web/openapi.ts";

export const handler: Handlers<unknown, AppState> = {
  GET() {
    return Response.json(openApiDocument(), {
      headers: { "Cache-Control": "public, max-age=300" },
    });
  },
};
