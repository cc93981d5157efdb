/**
 * `createHandler`: the request handler built from a route manifest.
 *
 * Per request: work out the destination (an island bundle under
 * `/_islands/`, a route, a file in `static/`, or nothing), run the
 * `_middleware.ts` chain (outer folders first) whose innermost `next()` runs
 * the destination, turn errors into responses (JSON `{"error": {code,
 * message}}` for API routes, `_404`/`_error` pages for pages), add the
 * security headers, and drop the body of HEAD answers.
 *
 * Routes win over static files; a route module with a page component is a
 * page, one with only `handler` is an API route.
 *
 * @module
 */
import { type ComponentType } from "preact";
import {
  buildIslands,
  type BuildManifest,
  ISLANDS_URL_PREFIX,
  islandSources,
  readBuildManifest,
} from "./build.ts";
import { type CspOption, defaultCsp, withSecurityHeaders } from "./headers.ts";
import { errorResponse, HttpError } from "./http_error.ts";
import { IslandRegistry } from "./islands.ts";
import { type RenderContext, renderDocument } from "./render.ts";
import { buildRouteTable, matchRoute, type Route } from "./router.ts";
import { resolveStaticFile, serveFile, type StaticFile } from "./static.ts";
import {
  type DefaultState,
  type Destination,
  type ErrorPageProps,
  type FreshContext,
  type Handler,
  type Manifest,
  type Method,
  METHODS,
  type PageResponse,
  type RouteModule,
  type ServeHandler,
} from "./types.ts";

/** Options for {@link createHandler}. */
export interface HandlerOptions<State> {
  manifest: Manifest;
  /** App services; each request gets a shallow copy as `ctx.state`. */
  state?: State;
  /** Folder of static files: a URL, or a path relative to the manifest. Default `static/`. */
  staticDir?: URL | string;
  /** Build output (`manifest.json`, `islands/`), like `staticDir`. Default `_build/`. */
  buildDir?: URL | string;
  /** Development: error pages show messages, island props are checked. Default false. */
  dev?: boolean;
  /**
   * When to build the islands at start: `always`, `auto` (only when
   * `_build/manifest.json` is missing or lacks an island), `never` (serve
   * pages without island scripts when there is no build). Default: `always`
   * in dev, else `auto`.
   */
  build?: "always" | "auto" | "never";
  /** deno.json whose import map the island build uses. Default: `deno.json` next to the manifest. */
  denoConfig?: URL;
  /** Content-Security-Policy; `false` sends none. Default {@link defaultCsp}. */
  csp?: CspOption | false;
  /** Cache-Control of unhashed static files. Default `no-cache` in dev, else `public, max-age=300`. */
  staticCacheControl?: string;
  /** Called with every unexpected error (5xx). Default: console.error. */
  onError?: (error: unknown, req: Request) => void;
  /** Progress lines (island build). Default: console.log. */
  log?: (line: string) => void;
}

const IMMUTABLE = "public, max-age=31536000, immutable";
const HASHED_NAME = /-[A-Za-z0-9]{8,}\.(js|css|map)$/;

interface MiddlewareFn {
  prefix: string;
  fn: Handler;
}

/** Builds the request handler. Builds the islands first when needed (see `build`). */
export async function createHandler<State extends object = DefaultState>(
  options: HandlerOptions<State>,
): Promise<ServeHandler> {
  const { manifest } = options;
  const dev = options.dev ?? false;
  const table = buildRouteTable(manifest);
  const islands = new IslandRegistry(manifest);
  const staticRoot = filePath(dirUrl(new URL(options.staticDir ?? "static/", manifest.baseUrl)));
  const buildDir = dirUrl(new URL(options.buildDir ?? "_build/", manifest.baseUrl));
  const bundleRoot = filePath(new URL("islands/", buildDir));
  const log = options.log ?? ((line: string) => console.log(line));
  const onError = options.onError ??
    ((error: unknown, req: Request) => console.error(`[web] ${req.method} ${req.url}:`, error));
  const csp = options.csp === undefined ? defaultCsp : options.csp;
  const staticCache = options.staticCacheControl ?? (dev ? "no-cache" : "public, max-age=300");

  const build = await prepareBuild(manifest, islands, buildDir, {
    mode: options.build ?? (dev ? "always" : "auto"),
    config: options.denoConfig ?? new URL("./deno.json", manifest.baseUrl),
    log,
  });
  const bundleFiles = new Set(build?.files ?? []);
  const renderContext: RenderContext = {
    app: table.app?.default as RenderContext["app"],
    islands,
    build,
    dev,
  };
  const middleware: MiddlewareFn[] = table.middleware.flatMap((m) => {
    const fns = Array.isArray(m.module.handler) ? m.module.handler : [m.module.handler];
    return fns.map((fn) => {
      if (typeof fn !== "function") throw new Error(`${m.file}: export a handler function`);
      return { prefix: m.prefix, fn: fn as Handler };
    });
  });

  /** Renders a page component to a full HTML response. */
  const renderHtml = (
    // deno-lint-ignore no-explicit-any
    page: ComponentType<any>,
    props: Record<string, unknown> & { url: URL; params: Record<string, string> },
    init: ResponseInit = {},
  ): Response => {
    const html = renderDocument(page, props as never, renderContext);
    const headers = new Headers(init.headers);
    if (!headers.has("Content-Type")) headers.set("Content-Type", "text/html; charset=utf-8");
    return new Response(html, { ...init, headers });
  };

  /** The response for an error: JSON for API requests, `_404`/`_error` pages otherwise. */
  const errorFor = (error: unknown, ctx: FreshContext<State>, route: Route | null): Response => {
    const status = error instanceof HttpError ? error.status : 500;
    if (!(error instanceof HttpError)) onError(error, ctx.req);
    const message = error instanceof HttpError
      ? error.message
      : dev && error instanceof Error
      ? error.message
      : "internal server error";
    const headers = error instanceof HttpError ? error.headers : undefined;
    if (!wantsHtml(ctx.req, ctx.url, route)) {
      return errorResponse(status, message, {
        code: error instanceof HttpError ? error.code : undefined,
        headers,
      });
    }
    const page = status === 404 ? table.notFound?.default : table.error?.default;
    const fallback = () =>
      new Response(`${status} ${message}\n`, {
        status,
        headers: { "Content-Type": "text/plain; charset=utf-8", ...toRecord(headers) },
      });
    if (!page) return fallback();
    const props: ErrorPageProps<State> = {
      data: undefined,
      url: ctx.url,
      params: ctx.params,
      state: ctx.state,
      route: ctx.route,
      error,
      status,
      message,
    };
    try {
      return renderHtml(page, { ...props }, { status, headers });
    } catch (pageError) {
      onError(pageError, ctx.req);
      return fallback();
    }
  };

  const serveBundle = async (ctx: FreshContext<State>): Promise<Response> => {
    const name = ctx.url.pathname.slice(ISLANDS_URL_PREFIX.length);
    const isGet = ctx.req.method === "GET" || ctx.req.method === "HEAD";
    const found = bundleFiles.has(name) && isGet ? await resolveStaticFile(bundleRoot, name) : null;
    if (!found) return await ctx.renderNotFound();
    return await serveFile(ctx.req, found, {
      cacheControl: HASHED_NAME.test(name) ? IMMUTABLE : "no-cache",
    });
  };

  const runRoute = async (route: Route, ctx: FreshContext<State>): Promise<Response> => {
    const method = ctx.req.method as Method;
    const fn = pickHandler(route.module, method);
    if (fn === null) {
      throw new HttpError(405, `method ${ctx.req.method} not allowed on ${route.pattern}`, {
        headers: { Allow: allowedMethods(route.module).join(", ") },
      });
    }
    const result = fn === "page" ? await ctx.render() : await fn(ctx.req, ctx as FreshContext);
    if (result instanceof Response) return result;
    if (isPageResponse(result)) return await ctx.render(result.data, result.init);
    throw new Error(`${route.file}: the ${method} handler returned no Response`);
  };

  return async (req: Request, info?: Deno.ServeHandlerInfo): Promise<Response> => {
    const url = new URL(req.url);
    const isGet = req.method === "GET" || req.method === "HEAD";
    let destination: Destination = "notFound";
    let matched: ReturnType<typeof matchRoute> = null;
    let file: StaticFile | null = null;
    if (url.pathname.startsWith(ISLANDS_URL_PREFIX)) {
      destination = "internal";
    } else if ((matched = matchRoute(table.routes, url.pathname))) {
      destination = "route";
    } else if (isGet && (file = await resolveStaticFile(staticRoot, url.pathname))) {
      destination = "static";
    }
    const route = matched?.route ?? null;

    const applicable = middleware.filter((m) =>
      url.pathname.startsWith(m.prefix) || `${url.pathname}/` === m.prefix
    );
    let index = 0;
    const ctx: FreshContext<State> = {
      req,
      url,
      params: matched?.params ?? {},
      state: { ...(options.state ?? {}) } as State,
      info,
      route: route?.pattern ?? null,
      destination,
      dev,
      next: async () => {
        const m = applicable[index++];
        if (m) {
          const res = await m.fn(req, ctx as FreshContext);
          if (!(res instanceof Response)) throw new Error("middleware returned no Response");
          return res;
        }
        try {
          if (destination === "route") return await runRoute(route!, ctx);
          if (destination === "static") {
            return await serveFile(req, file!, { cacheControl: staticCache });
          }
          if (destination === "internal") return await serveBundle(ctx);
          return await ctx.renderNotFound();
        } catch (error) {
          return errorFor(error, ctx, route);
        }
      },
      render: (data?: unknown, init?: ResponseInit) => {
        const page = route?.module.default;
        if (!page) {
          return Promise.reject(new Error(`${route?.file ?? url.pathname} has no page component`));
        }
        const props = { data, url, params: ctx.params, state: ctx.state, route: ctx.route };
        return Promise.resolve(renderHtml(page, props, init));
      },
      renderNotFound: () =>
        Promise.resolve(errorFor(new HttpError(404, `no route for ${url.pathname}`), ctx, null)),
    };

    let response: Response;
    try {
      response = await ctx.next();
    } catch (error) {
      response = errorFor(error, ctx, route);
    }
    response = withSecurityHeaders(response, url, csp);
    if (req.method === "HEAD" && response.body !== null && response.status !== 101) {
      await response.body.cancel();
      response = new Response(null, response);
    }
    return response;
  };
}

/** The handler for `method`, `"page"` to render the page, or null (405). */
function pickHandler(module: RouteModule, method: Method): Handler | "page" | null {
  // Never look up arbitrary method names on the object (`constructor`, `toString`).
  if (!(METHODS as readonly string[]).includes(method)) return null;
  const handler = module.handler;
  if (typeof handler === "function") return handler as Handler;
  if (handler && !Array.isArray(handler)) {
    const handlers = handler as Partial<Record<Method, Handler>>;
    const fn = handlers[method] ?? (method === "HEAD" ? handlers.GET : undefined);
    if (fn) return fn;
    if (module.default && (method === "GET" || method === "HEAD") && !handlers.GET) return "page";
    return null;
  }
  if (module.default && (method === "GET" || method === "HEAD")) return "page";
  return null;
}

/** The `Allow` header's methods for a route. */
export function allowedMethods(module: RouteModule): Method[] {
  const handler = module.handler;
  if (typeof handler === "function") return [...METHODS];
  const allowed = new Set<Method>();
  if (handler && !Array.isArray(handler)) {
    for (const m of METHODS) if ((handler as Record<string, unknown>)[m]) allowed.add(m);
  }
  if (module.default || allowed.has("GET")) {
    allowed.add("GET");
    allowed.add("HEAD");
  }
  return METHODS.filter((m) => allowed.has(m));
}

/** Fresh v2 style page result: `return page({ flights })` from a handler. */
export function page<Data>(data: Data, init?: ResponseInit): PageResponse<Data> {
  return { __page: true, data, init };
}

function isPageResponse(value: unknown): value is PageResponse {
  return typeof value === "object" && value !== null && (value as PageResponse).__page === true;
}

/** Pages answer errors with HTML; API routes, `/api/...` and non-browser clients get JSON. */
function wantsHtml(req: Request, url: URL, route: Route | null): boolean {
  if (route) return route.module.default !== undefined;
  if (url.pathname === "/api" || url.pathname.startsWith("/api/")) return false;
  return (req.headers.get("Accept") ?? "").includes("text/html");
}

async function prepareBuild(
  manifest: Manifest,
  islands: IslandRegistry,
  buildDir: URL,
  options: { mode: "always" | "auto" | "never"; config: URL; log: (line: string) => void },
): Promise<BuildManifest | null> {
  if (islands.size === 0) return null;
  if (options.mode !== "always") {
    const existing = await readBuildManifest(buildDir);
    const missing = [...islands.files.keys()].filter((name) => !existing?.islands[name]);
    if (options.mode === "never" || (existing && missing.length === 0)) return existing;
    options.log(
      existing
        ? `[web] _build/ lacks islands ${missing.join(", ")}: rebuilding`
        : "[web] no _build/manifest.json: building islands",
    );
  }
  const started = performance.now();
  let build: BuildManifest;
  try {
    build = await buildIslands(islandSources(manifest), {
      outDir: buildDir,
      config: options.config,
    });
  } catch (error) {
    throw new Error(
      `cannot build the islands: ${(error as Error).message}\n` +
        "Run `deno task build` before starting, or start the server with --unstable-bundle " +
        "--allow-read=. --allow-write=_build so that it builds them itself.",
      { cause: error },
    );
  }
  options.log(
    `[web] built ${Object.keys(build.islands).length} island(s) in ${
      Math.round(performance.now() - started)
    } ms`,
  );
  return build;
}

function toRecord(headers: HeadersInit | undefined): Record<string, string> {
  return headers === undefined ? {} : Object.fromEntries(new Headers(headers));
}

function filePath(url: URL): string {
  return decodeURIComponent(url.pathname).replace(/\/$/, "");
}

function dirUrl(url: URL): URL {
  return url.pathname.endsWith("/") ? url : new URL(`${url.href}/`);
}
