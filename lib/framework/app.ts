/**
 * `App`: Fresh 2's entry, `new App<State>().use(staticFiles()).use(mw).fsRoutes()`,
 * then `app.handler()` for `Deno.serve`.
 *
 * Per request: match the route first (so that `ctx.route` and `ctx.params`
 * are known to every middleware), run the app middleware in `use` order,
 * then the matched route's `_middleware.ts` chain (outer folders first) and
 * its handler or page; no route is a 404. Errors become responses (JSON
 * `{"error": {code, message}}` for API routes, `_404`/`_error` pages for
 * pages), every response gets the security headers, HEAD drops the body.
 *
 * Where we differ from @fresh/core, all in the entry module (routes are
 * unchanged): the routes come from the generated manifest given to the
 * constructor (Fresh's Builder makes its own), the island build is ours
 * (`await app.ready()` surfaces its errors at start), and the options below.
 *
 * @module
 */
import { type ComponentType, type VNode } from "preact";
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
import { buildRouteTable, matchRoute, type Route, type RouteTable } from "./router.ts";
import { resolveStaticFile, serveFile } from "./static.ts";
import {
  type Context,
  type DefaultState,
  type HandlerFn,
  type Manifest,
  type Method,
  METHODS,
  type Middleware,
  type PageProps,
  type PageResponse,
  type ResolvedFreshConfig,
  type RouteModule,
  type ServeHandler,
} from "./types.ts";

/** Options of {@link App}. */
export interface AppOptions {
  /** The route manifest that {@link App.fsRoutes} mounts (`routes.gen.ts`). */
  manifest?: Manifest;
  /** Fresh 2's `mode`. Default `production`. */
  mode?: "development" | "production";
  /** Folder of static files: a URL, or a path relative to the manifest. Default `static/`. */
  staticDir?: URL | string;
  /** Build output (`manifest.json`, `islands/`), like `staticDir`. Default `_build/`. */
  buildDir?: URL | string;
  /**
   * When to build the islands: `always`, `auto` (only when
   * `_build/manifest.json` is missing or lacks an island), `never` (serve
   * pages without island scripts when there is no build). Default: `always`
   * in development, else `auto`.
   */
  build?: "always" | "auto" | "never";
  /** deno.json whose import map the island build uses. Default: `deno.json` next to the manifest. */
  denoConfig?: URL;
  /** Content-Security-Policy; `false` sends none. Default {@link defaultCsp}. */
  csp?: CspOption | false;
  /** Cache-Control of unhashed static files. Default `no-cache` in development, else `public, max-age=300`. */
  staticCacheControl?: string;
  /** Called with every unexpected error (5xx). Default: console.error. */
  onError?: (error: unknown, req: Request) => void;
  /** Progress lines (island build). Default: console.log. */
  log?: (line: string) => void;
}

const IMMUTABLE = "public, max-age=31536000, immutable";
const HASHED_NAME = /-[A-Za-z0-9]{8,}\.(js|css|map)$/;
const EMPTY_MANIFEST: Manifest = { routes: {}, islands: {}, baseUrl: "file:///" };

/** What `staticFiles()` needs from the app serving the request. */
interface StaticServer {
  serve(ctx: Context<unknown>): Promise<Response | null>;
}
const STATIC_SERVERS = new WeakMap<Context<unknown>, StaticServer>();

interface FolderMiddleware {
  prefix: string;
  fn: Middleware<unknown>;
}

/** Fresh 2's app builder. */
export class App<State = DefaultState> {
  readonly config: ResolvedFreshConfig;
  readonly #options: AppOptions;
  readonly #manifest: Manifest;
  readonly #middleware: Middleware<State>[] = [];
  #table: RouteTable | null = null;
  #folderMiddleware: FolderMiddleware[] = [];
  #ready: Promise<BuildManifest | null> | null = null;

  constructor(options: AppOptions = {}) {
    this.#options = options;
    this.#manifest = options.manifest ?? EMPTY_MANIFEST;
    this.config = Object.freeze({ mode: options.mode ?? "production", basePath: "" });
  }

  /** Adds middleware, run in `use` order before the routes. */
  use(...middleware: Middleware<State>[]): this {
    for (const fn of middleware) {
      if (typeof fn !== "function") throw new TypeError("app.use: expected middleware functions");
    }
    this.#middleware.push(...middleware);
    return this;
  }

  /** Mounts the routes of the manifest (`routes/`: pages, API routes, `_middleware`, `_app`, ...). */
  fsRoutes(): this {
    const table = buildRouteTable(this.#manifest);
    this.#table = table;
    this.#folderMiddleware = table.middleware.flatMap((m) => {
      const exported = m.module.handler ?? m.module.default;
      const fns = Array.isArray(exported) ? exported : [exported];
      return fns.map((fn) => {
        if (typeof fn !== "function") throw new Error(`${m.file}: export a middleware function`);
        return { prefix: m.prefix, fn: fn as Middleware<unknown> };
      });
    });
    return this;
  }

  /**
   * Builds the islands when needed (see `build`), once. The handler waits
   * for it too; call it at start so that a build error stops the program.
   */
  async ready(): Promise<void> {
    await this.#build();
  }

  #build(): Promise<BuildManifest | null> {
    const dev = this.config.mode === "development";
    this.#ready ??= prepareBuild(this.#manifest, new IslandRegistry(this.#manifest), {
      buildDir: this.#buildDir(),
      mode: this.#options.build ?? (dev ? "always" : "auto"),
      config: this.#options.denoConfig ?? new URL("./deno.json", this.#manifest.baseUrl),
      log: this.#options.log ?? ((line: string) => console.log(line)),
    });
    return this.#ready;
  }

  #buildDir(): URL {
    return dirUrl(new URL(this.#options.buildDir ?? "_build/", this.#manifest.baseUrl));
  }

  /** The request handler for `Deno.serve`. */
  handler(): ServeHandler {
    const options = this.#options;
    const manifest = this.#manifest;
    const config = this.config;
    const dev = config.mode === "development";
    const table: RouteTable = this.#table ?? { routes: [], middleware: [] };
    const folderMiddleware = this.#folderMiddleware;
    const appMiddleware = [...this.#middleware] as Middleware<unknown>[];
    const islands = new IslandRegistry(manifest);
    const staticRoot = filePath(dirUrl(new URL(options.staticDir ?? "static/", manifest.baseUrl)));
    const bundleRoot = filePath(new URL("islands/", this.#buildDir()));
    const onError = options.onError ??
      ((error: unknown, req: Request) => console.error(`[web] ${req.method} ${req.url}:`, error));
    const csp = options.csp === undefined ? defaultCsp : options.csp;
    const staticCache = options.staticCacheControl ?? (dev ? "no-cache" : "public, max-age=300");
    const built = this.#build();
    let renderContext: RenderContext | null = null;
    let bundleFiles = new Set<string>();
    const ready = built.then((build) => {
      bundleFiles = new Set(build?.files ?? []);
      renderContext = {
        app: table.app?.default as RenderContext["app"],
        islands,
        build,
        dev,
      };
    });
    // A failed build is reported by `ready()`; requests then answer 500.
    ready.catch(() => {});

    const propsOf = (ctx: Context<unknown>, data: unknown) => ({
      data,
      req: ctx.req,
      url: ctx.url,
      params: ctx.params,
      state: ctx.state,
      config,
      info: ctx.info,
      route: ctx.route,
      error: ctx.error,
    });

    const renderHtml = (
      // deno-lint-ignore no-explicit-any
      page: ComponentType<any>,
      props: Omit<PageProps<unknown, unknown>, "Component">,
      init: ResponseInit = {},
    ): Response => {
      const html = renderDocument(page, props, renderContext!);
      const headers = new Headers(init.headers);
      if (!headers.has("Content-Type")) headers.set("Content-Type", "text/html; charset=utf-8");
      return new Response(html, { ...init, headers });
    };

    /** The response for an error: JSON for API requests, `_404`/`_error` pages otherwise. */
    const errorFor = (error: unknown, ctx: Context<unknown>, route: Route | null): Response => {
      const status = error instanceof HttpError ? error.status : 500;
      if (!(error instanceof HttpError)) onError(error, ctx.req);
      const message = error instanceof HttpError
        ? error.message
        : dev && error instanceof Error
        ? error.message
        : "internal server error";
      const headers = error instanceof HttpError ? error.headers : undefined;
      const fallback = () =>
        new Response(`${status} ${message}\n`, {
          status,
          headers: { "Content-Type": "text/plain; charset=utf-8", ...toRecord(headers) },
        });
      if (!wantsHtml(ctx.req, ctx.url, route)) {
        return errorResponse(status, message, {
          code: error instanceof HttpError ? error.code : undefined,
          headers,
        });
      }
      const page = status === 404 ? table.notFound?.default : table.error?.default;
      if (!page || renderContext === null) return fallback();
      ctx.error = error;
      try {
        return renderHtml(page as ComponentType, propsOf(ctx, undefined), { status, headers });
      } catch (pageError) {
        onError(pageError, ctx.req);
        return fallback();
      }
    };

    const staticServer: StaticServer = {
      async serve(ctx) {
        const isGet = ctx.req.method === "GET" || ctx.req.method === "HEAD";
        if (!isGet) return null;
        const path = ctx.url.pathname;
        if (path.startsWith(ISLANDS_URL_PREFIX)) {
          const name = path.slice(ISLANDS_URL_PREFIX.length);
          const found = bundleFiles.has(name) ? await resolveStaticFile(bundleRoot, name) : null;
          if (!found) return null;
          return await serveFile(ctx.req, found, {
            cacheControl: HASHED_NAME.test(name) ? IMMUTABLE : "no-cache",
          });
        }
        const file = await resolveStaticFile(staticRoot, path);
        return file ? await serveFile(ctx.req, file, { cacheControl: staticCache }) : null;
      },
    };

    const runRoute = async (route: Route, ctx: Context<unknown>): Promise<Response> => {
      const method = ctx.req.method as Method;
      const fn = pickHandler(route.module, method);
      if (fn === null) {
        throw new HttpError(405, `method ${ctx.req.method} not allowed on ${route.pattern}`, {
          headers: { Allow: allowedMethods(route.module).join(", ") },
        });
      }
      if (fn === "page") return await ctx.render();
      const result = await fn(ctx);
      if (result instanceof Response) return result;
      if (isPageResponse(result)) {
        const page = route.module.default;
        if (typeof page !== "function") {
          throw new Error(`${route.file}: page(data) returned, but there is no page component`);
        }
        return renderHtml(page as ComponentType, propsOf(ctx, result.data), {
          status: result.status,
          headers: result.headers,
        });
      }
      throw new Error(`${route.file}: the ${method} handler returned no Response`);
    };

    return async (req: Request, info?: Deno.ServeHandlerInfo): Promise<Response> => {
      const url = new URL(req.url);
      const matched = matchRoute(table.routes, url.pathname);
      const route = matched?.route ?? null;
      const chain: Middleware<unknown>[] = [
        ...appMiddleware,
        ...(route
          ? folderMiddleware.filter((m) =>
            route.pattern.startsWith(m.prefix) ||
            `${route.pattern}/` === m.prefix
          ).map((m) => m.fn)
          : []),
      ];
      let index = 0;
      const ctx: Context<unknown> = {
        req,
        url,
        params: matched?.params ?? {},
        state: {},
        config,
        info,
        route: route?.pattern ?? null,
        error: undefined,
        next: async () => {
          const fn = chain[index++];
          try {
            if (fn) {
              const res = await fn(ctx);
              if (!(res instanceof Response)) throw new Error("middleware returned no Response");
              return res;
            }
            if (route) return await runRoute(route, ctx);
            throw new HttpError(404, `no route for ${url.pathname}`);
          } catch (error) {
            return errorFor(error, ctx, route);
          }
        },
        render: (vnode?: VNode | null, init?: ResponseInit) => {
          if (vnode) return Promise.resolve(renderHtml(() => vnode, propsOf(ctx, undefined), init));
          const page = route?.module.default;
          if (typeof page !== "function") {
            return Promise.reject(
              new Error(`${route?.file ?? url.pathname} has no page component`),
            );
          }
          return Promise.resolve(renderHtml(page as ComponentType, propsOf(ctx, undefined), init));
        },
        redirect: (pathOrUrl: string, status = 302) =>
          new Response(null, {
            status,
            headers: { Location: new URL(pathOrUrl, url).href },
          }),
      };
      STATIC_SERVERS.set(ctx, staticServer);

      let response: Response;
      try {
        await ready;
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
}

/**
 * Fresh 2's `staticFiles()`: serves files under `static/` and the island
 * bundles (`/_islands/...`, hashed names immutable), else `ctx.next()`.
 */
export function staticFiles<State = DefaultState>(): Middleware<State> {
  return async (ctx) => {
    const server = STATIC_SERVERS.get(ctx as Context<unknown>);
    const res = server ? await server.serve(ctx as Context<unknown>) : null;
    return res ?? await ctx.next();
  };
}

/** The handler for `method`, `"page"` to render the page, or null (405). */
function pickHandler(
  module: RouteModule,
  method: Method,
): HandlerFn<unknown, unknown> | "page" | null {
  // Never look up arbitrary method names on the object (`constructor`, `toString`).
  if (!(METHODS as readonly string[]).includes(method)) return null;
  const handler = module.handler;
  const hasPage = typeof module.default === "function";
  if (typeof handler === "function") return handler as HandlerFn<unknown, unknown>;
  if (handler && !Array.isArray(handler)) {
    const handlers = handler as Partial<Record<Method, HandlerFn<unknown, unknown>>>;
    const fn = handlers[method] ?? (method === "HEAD" ? handlers.GET : undefined);
    if (fn) return fn;
    if (hasPage && (method === "GET" || method === "HEAD") && !handlers.GET) return "page";
    return null;
  }
  if (hasPage && (method === "GET" || method === "HEAD")) return "page";
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
  if (typeof module.default === "function" || allowed.has("GET")) {
    allowed.add("GET");
    allowed.add("HEAD");
  }
  return METHODS.filter((m) => allowed.has(m));
}

/** A handler's non-Response object answer is page data (Fresh 2: `page(data)` or `{ data }`). */
function isPageResponse(value: unknown): value is PageResponse {
  return typeof value === "object" && value !== null && "data" in value;
}

/** Pages answer errors with HTML; API routes, `/api/...` and non-browser clients get JSON. */
function wantsHtml(req: Request, url: URL, route: Route | null): boolean {
  if (route) return typeof route.module.default === "function";
  if (url.pathname === "/api" || url.pathname.startsWith("/api/")) return false;
  return (req.headers.get("Accept") ?? "").includes("text/html");
}

async function prepareBuild(
  manifest: Manifest,
  islands: IslandRegistry,
  options: {
    buildDir: URL;
    mode: "always" | "auto" | "never";
    config: URL;
    log: (line: string) => void;
  },
): Promise<BuildManifest | null> {
  const { buildDir } = options;
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
