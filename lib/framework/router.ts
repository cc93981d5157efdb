/**
 * File-system routing: manifest keys to URL patterns, precedence, matching.
 *
 * `./routes/index.tsx` → `/`, `./routes/api/flights.ts` → `/api/flights`,
 * `./routes/api/flights/[icao24].ts` → `/api/flights/:icao24`,
 * `./routes/files/[...path].ts` → `/files/:path*`, `(group)` folders add no
 * segment, `./routes/api/openapi.json.ts` → `/api/openapi.json`. Files and
 * folders starting with `_` are not routes (`_app`, `_error`, `_404`,
 * `_middleware` are special; others are private modules).
 *
 * @module
 */
import type { Manifest, RouteModule } from "./types.ts";

/** A route ready to match. */
export interface Route {
  /** Manifest key, e.g. `./routes/api/flights/[icao24].ts`. */
  file: string;
  /** URLPattern pathname, e.g. `/api/flights/:icao24`. */
  pattern: string;
  module: RouteModule;
  /** Precedence key: one rank per segment (0 static, 1 dynamic, 2 catch-all). */
  ranks: number[];
  matcher: URLPattern;
}

/** A `_middleware.ts`, applied to the routes under `prefix`. */
export interface MiddlewareEntry {
  file: string;
  /** `/` for `routes/_middleware.ts`, `/api/` for `routes/api/_middleware.ts`. */
  prefix: string;
  module: RouteModule;
}

/** Routes, middleware and special pages found in a manifest. */
export interface RouteTable {
  routes: Route[];
  middleware: MiddlewareEntry[];
  app?: RouteModule;
  error?: RouteModule;
  notFound?: RouteModule;
}

const ROUTE_FILE = /^\.\/routes\/(.+)\.(tsx|ts|jsx|js)$/;
const URLPATTERN_SPECIAL = /[\\:*?+(){}]/g;

/** Splits a manifest's routes into matchable routes, middleware and special pages. */
export function buildRouteTable(manifest: Manifest): RouteTable {
  const table: RouteTable = { routes: [], middleware: [] };
  const seen = new Map<string, string>();
  for (const [file, module] of Object.entries(manifest.routes)) {
    const m = ROUTE_FILE.exec(file);
    if (!m) throw new Error(`manifest route key ${file}: expected ./routes/<path>.(ts|tsx|js|jsx)`);
    const segments = m[1]!.split("/");
    const base = segments[segments.length - 1]!;
    const dirs = segments.slice(0, -1);
    if (base === "_middleware") {
      if (dirs.some((d) => d.includes("["))) {
        throw new Error(`${file}: middleware must sit in a folder without [params]`);
      }
      table.middleware.push({ file, prefix: prefixOf(dirs), module });
      continue;
    }
    if (dirs.length === 0 && base === "_app") table.app = module;
    else if (dirs.length === 0 && (base === "_error" || base === "_500")) table.error = module;
    else if (dirs.length === 0 && base === "_404") table.notFound = module;
    if ([...dirs, base].some((s) => s.startsWith("_"))) continue;
    const { pattern, ranks } = patternOf(dirs, base);
    const clash = seen.get(pattern);
    if (clash) throw new Error(`routes ${clash} and ${file} both answer ${pattern}`);
    seen.set(pattern, file);
    table.routes.push({
      file,
      pattern,
      module,
      ranks,
      matcher: new URLPattern({ pathname: pattern }),
    });
  }
  table.routes.sort(compareRoutes);
  // Outer folders first: routes/_middleware.ts runs before routes/api/_middleware.ts.
  table.middleware.sort((a, b) => a.prefix.length - b.prefix.length);
  return table;
}

/** The URLPattern pathname for a route file's folders and base name. */
export function patternOf(dirs: string[], base: string): { pattern: string; ranks: number[] } {
  const parts: string[] = [];
  const ranks: number[] = [];
  const all = base === "index" ? dirs : [...dirs, base];
  for (const segment of all) {
    if (/^\(.+\)$/.test(segment)) continue; // route group: no URL segment
    const rest = /^\[\.\.\.([A-Za-z_][A-Za-z0-9_]*)\]$/.exec(segment);
    const param = /^\[([A-Za-z_][A-Za-z0-9_]*)\]$/.exec(segment);
    if (rest) {
      parts.push(`:${rest[1]}*`);
      ranks.push(2);
    } else if (param) {
      parts.push(`:${param[1]}`);
      ranks.push(1);
    } else if (segment.includes("[") || segment.includes("]")) {
      throw new Error(`route segment ${segment}: use [name] or [...name] as the whole segment`);
    } else {
      parts.push(segment.replace(URLPATTERN_SPECIAL, "\\$&"));
      ranks.push(0);
    }
  }
  return { pattern: `/${parts.join("/")}`, ranks };
}

/** Static segments before dynamic ones before catch-alls, segment by segment. */
export function compareRoutes(a: Pick<Route, "ranks" | "pattern">, b: typeof a): number {
  const n = Math.min(a.ranks.length, b.ranks.length);
  for (let i = 0; i < n; i++) {
    const d = a.ranks[i]! - b.ranks[i]!;
    if (d !== 0) return d;
  }
  // Same shape so far: the longer, more specific pattern first (a catch-all
  // in the shorter one would swallow it), then alphabetical for stability.
  if (a.ranks.length !== b.ranks.length) return b.ranks.length - a.ranks.length;
  return a.pattern < b.pattern ? -1 : a.pattern > b.pattern ? 1 : 0;
}

/** The first route matching `pathname`, with decoded params, or null. */
export function matchRoute(
  routes: readonly Route[],
  pathname: string,
): { route: Route; params: Record<string, string> } | null {
  for (const route of routes) {
    const m = route.matcher.exec({ pathname });
    if (!m) continue;
    const params: Record<string, string> = {};
    for (const [key, value] of Object.entries(m.pathname.groups)) {
      if (value === undefined) continue;
      params[key] = safeDecode(value);
    }
    return { route, params };
  }
  return null;
}

function prefixOf(dirs: string[]): string {
  const kept = dirs.filter((d) => !/^\(.+\)$/.test(d));
  return kept.length === 0 ? "/" : `/${kept.join("/")}/`;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
