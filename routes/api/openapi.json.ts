/**
 * `GET /api/openapi.json`: the OpenAPI 3.1 description of the HTTP API.
 *
 * @module
 */
import { define } from "../../services/web/define.ts";
import { openApiDocument } from "../../services/web/openapi.ts";

export const handler = define.handlers({
  GET() {
    return Response.json(openApiDocument(), {
      headers: { "Cache-Control": "public, max-age=300" },
    });
  },
});
