/**
 * The framework's public types, named and shaped as Fresh 2's (`Context`,
 * `HandlerFn`, `HandlerByMethod`, `RouteHandler`, `Middleware`, `PageProps`,
 * `PageResponse`), so that route files move to @fresh/core by changing their
 * imports. `Manifest` is ours: Fresh 2 builds its route table in its Builder,
 * we generate `routes.gen.ts` (Deno Deploy needs no file-system scan).
 *
 * @module
 */
import type { ComponentType, FunctionComponent, VNode } from "preact";

/** HTTP methods a route can handle. */
export const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
export type Method = (typeof METHODS)[number];

/** `ctx.state` when an app does not declare its own. */
export type DefaultState = Record<string, unknown>;

/** Fresh 2's resolved config as routes see it (`ctx.config`). */
export interface ResolvedFreshConfig {
  /** `development`: error pages show messages, island props are checked. */
  readonly mode: "development" | "production";
  /** Always `""` here (no mount prefix). */
  readonly basePath: string;
}

/** Per-request context: the only argument of every handler and middleware. */
export interface Context<State = DefaultState> {
  readonly req: Request;
  readonly url: URL;
  /** Dynamic segments of the matched route, URL-decoded: `{ icao24: "406d95" }`. */
  readonly params: Record<string, string>;
  /** Empty per request; app middleware fills it (`app.use((ctx) => {...; return ctx.next()})`). */
  state: State;
  readonly config: ResolvedFreshConfig;
  /** Connection info from `Deno.serve`; undefined when the handler is called directly. */
  readonly info: Deno.ServeHandlerInfo | undefined;
  /** Pattern of the matched route (`/api/flights/:icao24`), null when no route matched. */
  readonly route: string | null;
  /** The error being answered, in error pages; else undefined. */
  error: unknown;
  /** Middleware: runs the rest of the chain (inner middleware, then the route). */
  next(): Promise<Response>;
  /** Renders `vnode` (default: the route's page component without data) inside `_app`. */
  render(vnode?: VNode | null, init?: ResponseInit): Promise<Response>;
  /** A redirect to a path on this site (or a URL), 302 unless told. */
  redirect(pathOrUrl: string, status?: number): Response;
}

/** Fresh 2 keeps `FreshContext` as another name of {@link Context}. */
export type FreshContext<State = DefaultState> = Context<State>;

/** What `page(data)` returns: the route's page component renders with `data`. */
export interface PageResponse<Data = unknown> {
  data: Data;
  headers?: HeadersInit;
  status?: number;
}

/** A handler function answers every method (or one, inside {@link HandlerByMethod}). */
export type HandlerFn<Data = unknown, State = DefaultState> = (
  ctx: Context<State>,
) => Response | PageResponse<Data> | Promise<Response | PageResponse<Data>>;

/** Per-method handlers: `{ GET(ctx) {...} }`. HEAD falls back to GET. */
export type HandlerByMethod<Data = unknown, State = DefaultState> = {
  [M in Method]?: HandlerFn<Data, State>;
};

/** What a route module's `handler` export may be. */
export type RouteHandler<Data = unknown, State = DefaultState> =
  | HandlerFn<Data, State>
  | HandlerByMethod<Data, State>;

/** `app.use(...)` and `_middleware.ts`: answer, or `return ctx.next()`. */
export type Middleware<State = DefaultState> = (
  ctx: Context<State>,
) => Response | Promise<Response>;

/**
 * Props of a page component (the default export of a route file), of
 * `_app.tsx` (render `<Component />` where the page goes) and of the error
 * pages (`error` is what was thrown: an `HttpError` for a 404).
 */
export interface PageProps<Data = unknown, State = DefaultState> {
  data: Data;
  req: Request;
  url: URL;
  params: Record<string, string>;
  state: State;
  config: ResolvedFreshConfig;
  info: Deno.ServeHandlerInfo | undefined;
  /** Pattern of the matched route, or null (404 page). */
  route: string | null;
  error: unknown;
  /** In `_app.tsx`: the page. */
  Component: FunctionComponent;
}

// Route modules are typed loosely on purpose: each route declares its own
// State/Data, and a manifest holds them all.
// deno-lint-ignore no-explicit-any
type AnyHandler = RouteHandler<any, any>;
// deno-lint-ignore no-explicit-any
type AnyMiddleware = Middleware<any>;
// deno-lint-ignore no-explicit-any
type AnyComponent = ComponentType<any>;

/** A module under `routes/`. */
export interface RouteModule {
  /** A route's handler(s); in `_middleware.ts`, one middleware or a list. */
  handler?: AnyHandler | AnyMiddleware | AnyMiddleware[];
  /** A page component; in `_middleware.ts`, the middleware (Fresh 2 accepts both exports). */
  default?: AnyComponent | AnyMiddleware | AnyMiddleware[];
}

/** A module under `islands/`: its default export is the component. */
export interface IslandModule {
  default: AnyComponent;
}

/**
 * The generated route manifest (`routes.gen.ts`). Keys are paths relative
 * to `baseUrl`: `./routes/api/flights.ts`, `./islands/Globe.tsx`. Tests
 * build one by hand.
 */
export interface Manifest {
  routes: Record<string, RouteModule>;
  islands: Record<string, IslandModule>;
  /** `import.meta.url` of the manifest file: the project root for island sources. */
  baseUrl: string;
}

/** The request handler: give it to `Deno.serve`. */
export type ServeHandler = (req: Request, info?: Deno.ServeHandlerInfo) => Promise<Response>;
