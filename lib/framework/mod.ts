/**
 * A small web framework with Fresh 2's surface on Deno built-ins and
 * npm:preact: `new App().use(staticFiles()).fsRoutes()`, routes from a
 * generated manifest, `define.handlers({ GET(ctx) {...} })`, `define.page`,
 * middleware `(ctx) => ctx.next()`, `_app`/`_error`/`_404`/`_middleware`,
 * islands hydrated from `deno bundle` output, security headers.
 * See README.md (and how it maps to @fresh/core).
 *
 * Server side only; components and islands import `runtime.ts`.
 *
 * @module
 */
export * from "./types.ts";
export { allowedMethods, App, type AppOptions, staticFiles } from "./app.ts";
export { defaultErrorCode, errorResponse, HttpError, type HttpErrorOptions } from "./http_error.ts";
export { type CspOption, defaultCsp, SECURITY_HEADERS } from "./headers.ts";
export {
  buildIslands,
  type BuildManifest,
  type BuildOptions,
  ISLANDS_URL_PREFIX,
  type IslandSource,
  islandSources,
  readBuildManifest,
} from "./build.ts";
export { islandName, IslandRegistry, serialiseIslandProps } from "./islands.ts";
export { buildRouteTable, compareRoutes, matchRoute, patternOf } from "./router.ts";
export { CONTENT_TYPES, contentType } from "./static.ts";
export { generateManifest, type ManifestFiles, scanProject } from "./generate.ts";
export { Head, IS_BROWSER } from "./runtime.ts";
export { createDefine, type Define, page } from "./define.ts";
