/**
 * The framework's public types. They follow Fresh's names (`FreshContext`,
 * `Handlers`, `PageProps`, `AppProps`, `Manifest`) so route files read like
 * Fresh route files; see README.md for the mapping to Fresh v2.
 *
 * @module
 */
import type { ComponentType } from "preact";

/** HTTP methods a route can handle. */
export const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type Method = (typeof METHODS)[number];

/** `ctx.state` when an app does not declare its own. */
export type DefaultState = Record<string, unknown>;

/**
 * What a request turned out to be, known before middleware runs (Fresh 1's
 * `ctx.destination`): a route, a file from `static/`, an island bundle, or
 * nothing.
 */
export type Destination = "route" | "static" | "internal" | "notFound";

/** Per-request context, the second argument of every handler and middleware. */
export interface FreshContext<State = DefaultState, Data = unknown> {
  /** The request (also the first handler argument; Fresh v2 passes only `ctx`). */
  readonly req: Request;
  readonly url: URL;
  /** Dynamic segments of the matched route, URL-decoded: `{ icao24: "406d95" }`. */
  readonly params: Record<string, string>;
  /** App services plus whatever middleware adds; a fresh shallow copy per request. */
  state: State;
  /** Connection info from `Deno.serve`; undefined when the handler is called directly. */
  readonly info: Deno.ServeHandlerInfo | undefined;
  /** Pattern of the matched route (`/api/flights/:icao24`), null when no route matched. */
  readonly route: string | null;
  readonly destination: Destination;
  /** Development mode: error pages show messages, island props are checked. */
  readonly dev: boolean;
  /** Middleware: runs the rest of the chain (inner middleware, then the route). */
  next(): Promise<Response>;
  /** Renders the route's page component with `data` inside `_app`. */
  render(data?: Data, init?: ResponseInit): Promise<Response>;
  /** Renders `_404` (or the JSON 404 for API requests). */
  renderNotFound(): Promise<Response>;
}

/** Fresh v2 style: return `page(data)` from a handler instead of calling `ctx.render(data)`. */
export interface PageResponse<Data = unknown> {
  readonly __page: true;
  readonly data: Data;
  readonly init?: ResponseInit;
}

export type HandlerResult<Data> = Response | PageResponse<Data>;

/** A function handler answers every method. */
export type Handler<Data = unknown, State = DefaultState> = (
  req: Request,
  ctx: FreshContext<State, Data>,
) => HandlerResult<Data> | Promise<HandlerResult<Data>>;

/** Per-method handlers: `{ GET(req, ctx) {...} }`. HEAD falls back to GET. */
export type Handlers<Data = unknown, State = DefaultState> = {
  [M in Method]?: Handler<Data, State>;
};

/** `_middleware.ts` exports `handler`, one function or a list run in order. */
export type MiddlewareHandler<State = DefaultState> = (
  req: Request,
  ctx: FreshContext<State>,
) => Response | Promise<Response>;

/** Props of a page component (the default export of a route file). */
export interface PageProps<Data = unknown, State = DefaultState> {
  data: Data;
  url: URL;
  params: Record<string, string>;
  state: State;
  /** Pattern of the matched route, or null (404 page). */
  route: string | null;
}

/** Props of `_app.tsx`: render `<Component />` where the page goes. */
export interface AppProps<State = DefaultState> extends PageProps<unknown, State> {
  Component: ComponentType;
}

/** Props of `_error.tsx` and `_404.tsx`. */
export interface ErrorPageProps<State = DefaultState> extends PageProps<undefined, State> {
  error: unknown;
  /** HTTP status being answered (404, 500, ...). */
  status: number;
  /** Message safe to show: the error's message in development or for 4xx, else a generic one. */
  message: string;
}

// Route modules are typed loosely on purpose: each route declares its own
// State/Data, and a manifest holds them all.
// deno-lint-ignore no-explicit-any
type AnyHandler = Handler<any, any>;
// deno-lint-ignore no-explicit-any
type AnyHandlers = Handlers<any, any>;
// deno-lint-ignore no-explicit-any
type AnyComponent = ComponentType<any>;

/** A module under `routes/`. */
export interface RouteModule {
  /** A handler, per-method handlers, or (in `_middleware.ts`) one or more middleware. */
  handler?: AnyHandler | AnyHandlers | AnyHandler[];
  default?: AnyComponent;
}

/** A module under `islands/`: its default export is the component. */
export interface IslandModule {
  default: AnyComponent;
}

/**
 * The generated route manifest (`routes.gen.ts`, Fresh's `fresh.gen.ts`).
 * Keys are paths relative to `baseUrl`: `./routes/api/flights.ts`,
 * `./islands/Globe.tsx`. Tests build one by hand.
 */
export interface Manifest {
  routes: Record<string, RouteModule>;
  islands: Record<string, IslandModule>;
  /** `import.meta.url` of the manifest file: the project root for island sources. */
  baseUrl: string;
}

/** The request handler: give it to `Deno.serve`. */
export type ServeHandler = (req: Request, info?: Deno.ServeHandlerInfo) => Promise<Response>;
