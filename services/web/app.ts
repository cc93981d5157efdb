/**
 * The web app, in Fresh 2's shape: `new App().use(state).use(httpMetrics)
 * .use(staticFiles()).fsRoutes()` with the routes of `routes.gen.ts` and the
 * app's services in `ctx.state`. `main.ts` creates the hub, database and
 * registry, then:
 *
 * ```ts
 * const handler = await createWebApp({ config, hub, db: db?.sql ?? null, registry });
 * Deno.serve({ port: config.PORT, hostname: config.HOST }, handler);
 * ```
 *
 * @module
 */
import { Counter, Histogram, type Registry } from "prom-client";
import type { Flight } from "../../contracts/flight.ts";
import type { Subscription } from "../../contracts/ws.ts";
import type { WebConfig } from "../../lib/config.ts";
import type { Sql } from "../../lib/db/mod.ts";
import {
  App,
  type Context,
  ISLANDS_URL_PREFIX,
  type Manifest,
  type ServeHandler,
  staticFiles,
} from "../../lib/framework/mod.ts";
import routes from "../../routes.gen.ts";

/** What the routes need from the WebSocket hub (services/web/hub.ts `Hub` has it). */
export interface HubPort {
  /** Upgrades a `/ws` request (or answers 403/426/...). */
  handleUpgrade(req: Request): Response;
  /** The current flights matching `filter`. */
  snapshot(filter?: Subscription): Flight[];
  stats(): HubStatsPort;
}

/** The part of the hub's stats that `/healthz` reads. */
export interface HubStatsPort {
  /** Started, not stopped, and the source is caught up. */
  ready: boolean;
  source?: { kind: string; ready: boolean; detail?: string };
  clients?: number;
  flights?: number;
}

/** One line of `/healthz`. */
export interface HealthCheck {
  ok: boolean;
  /** Why not ok, or a short status. */
  detail?: string;
}

/** The result of `health()`. */
export interface HealthReport {
  /** True when every check is ok: the server can serve. */
  ok: boolean;
  checks: Record<string, HealthCheck>;
}

/** `ctx.state` of every route. */
export interface AppState {
  hub: HubPort;
  /** The history database, or null when none is configured (history routes answer 503). */
  db: Sql | null;
  registry: Registry;
  health(): Promise<HealthReport>;
  /** Recorded by {@link httpMetrics}. */
  http: HttpMetrics;
  /** Seconds a position counts as current: the time-travel window of `/api/snapshot`. */
  staleSeconds: number;
  /** ADMIN_TOKEN: bearer token of the alert-rule writes; null disables them (403). */
  adminToken: string | null;
  /** What the globe page passes to its island. */
  globe: GlobePageConfig;
}

/** Settings of the globe page, passed to the Globe island as props. */
export interface GlobePageConfig {
  /** How far back the anomaly feed starts, hours (ANOMALY_WINDOW_HOURS). */
  anomalyWindowHours: number;
  /** Expose `globalThis.__skysentinel` for browser tests and benchmarks (dev and tests only). */
  testHook: boolean;
}

/** Options for {@link createWebApp}. */
export interface WebAppOptions {
  config:
    & Pick<WebConfig, "WS_STALE_THRESHOLD_SECONDS">
    & Partial<Pick<WebConfig, "ANOMALY_WINDOW_HOURS">>;
  hub: HubPort;
  db: Sql | null;
  registry: Registry;
  /** ADMIN_TOKEN for `/api/alerts` writes. Default none: writes answer 403. */
  adminToken?: string | null;
  /** Extra health checks (the bus, ...), merged into `/healthz`. */
  health?: () => Record<string, HealthCheck> | Promise<Record<string, HealthCheck>>;
  /** Development: build islands at start, show error messages, expose the globe's test hook. Default false. */
  dev?: boolean;
  /** Expose the globe's test hook without dev mode (browser tests). Default: `dev`. */
  testHook?: boolean;
  /** See `AppOptions.build` in lib/framework. Default: `always` in dev, else `auto`. */
  build?: "always" | "auto" | "never";
  /** Timeout of the database check in `/healthz`, ms. Default 2,000. */
  dbCheckTimeoutMs?: number;
  /** Another route manifest (tests). Default: routes.gen.ts. */
  manifest?: Manifest;
  /** Unexpected errors (5xx). Default: console.error. */
  onError?: (error: unknown, req: Request) => void;
  /** Progress lines. Default: console.log. */
  log?: (line: string) => void;
}

/** Creates the request handler of the web server (builds islands first when needed). */
export async function createWebApp(options: WebAppOptions): Promise<ServeHandler> {
  const { hub, db, registry } = options;
  const timeoutMs = options.dbCheckTimeoutMs ?? 2_000;
  const health = async (): Promise<HealthReport> => {
    const stats = hub.stats();
    const checks: Record<string, HealthCheck> = {
      hub: stats.ready
        ? { ok: true, detail: `${stats.flights ?? 0} flights, ${stats.clients ?? 0} clients` }
        : { ok: false, detail: stats.source?.detail ?? "hub source not ready" },
      database: db === null
        ? { ok: true, detail: "not configured" }
        : await pingDatabase(db, timeoutMs),
    };
    if (options.health) Object.assign(checks, await options.health());
    return { ok: Object.values(checks).every((c) => c.ok), checks };
  };
  const state: AppState = {
    hub,
    db,
    registry,
    health,
    http: new HttpMetrics(registry),
    staleSeconds: options.config.WS_STALE_THRESHOLD_SECONDS,
    adminToken: options.adminToken ?? null,
    globe: {
      anomalyWindowHours: options.config.ANOMALY_WINDOW_HOURS ?? 24,
      testHook: options.testHook ?? options.dev ?? false,
    },
  };
  const app = new App<AppState>({
    manifest: options.manifest ?? routes,
    mode: options.dev ? "development" : "production",
    build: options.build,
    onError: options.onError,
    log: options.log,
  })
    .use((ctx) => {
      Object.assign(ctx.state, state);
      return ctx.next();
    })
    .use(httpMetrics)
    .use(staticFiles())
    .fsRoutes();
  const handler = app.handler();
  await app.ready();
  return handler;
}

/**
 * Every request: HTTP metrics by route pattern, never by raw path, so the
 * label set stays small. Requests no route matched are `/_islands` (island
 * bundles), `static` (a file from static/) or `unmatched` (404).
 */
export async function httpMetrics(ctx: Context<AppState>): Promise<Response> {
  const started = performance.now();
  let status = 500;
  try {
    const response = await ctx.next();
    status = response.status;
    return response;
  } finally {
    const route = ctx.route ??
      (ctx.url.pathname.startsWith(ISLANDS_URL_PREFIX)
        ? "/_islands"
        : status === 404 || status === 405
        ? "unmatched"
        : "static");
    ctx.state.http.observe(route, ctx.req.method, status, (performance.now() - started) / 1000);
  }
}

/** `SELECT 1` within `timeoutMs`. */
export async function pingDatabase(sql: Sql, timeoutMs: number): Promise<HealthCheck> {
  const query = sql`SELECT 1`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<HealthCheck>((resolve) => {
    timer = setTimeout(() => {
      query.cancel();
      resolve({ ok: false, detail: `no answer to SELECT 1 within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  try {
    return await Promise.race([query.then((): HealthCheck => ({ ok: true })), timeout]);
  } catch (error) {
    return { ok: false, detail: `unreachable: ${(error as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** `http_requests_total` and `http_request_duration_seconds`. */
export class HttpMetrics {
  readonly #requests: Counter<"route" | "method" | "status">;
  readonly #duration: Histogram<"route" | "method">;

  constructor(registry: Registry) {
    // Reused when a second app shares the registry (tests, restarts in one process).
    this.#requests = (registry.getSingleMetric("http_requests_total") as
      | Counter<"route" | "method" | "status">
      | undefined) ??
      new Counter({
        name: "http_requests_total",
        help: "HTTP requests answered, by route pattern, method and status.",
        labelNames: ["route", "method", "status"],
        registers: [registry],
      });
    this.#duration = (registry.getSingleMetric("http_request_duration_seconds") as
      | Histogram<"route" | "method">
      | undefined) ??
      new Histogram({
        name: "http_request_duration_seconds",
        help: "Time to the response head, seconds, by route pattern and method.",
        labelNames: ["route", "method"],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
        registers: [registry],
      });
  }

  /** Records one request. `route` is a pattern or a fixed name, never a raw path. */
  observe(route: string, method: string, status: number, seconds: number): void {
    const m = KNOWN_METHODS.has(method) ? method : "OTHER";
    this.#requests.inc({ route, method: m, status: String(status) });
    this.#duration.observe({ route, method: m }, seconds);
  }
}
