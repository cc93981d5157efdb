/**
 * Fresh 2's `createDefine<State>()`: identity helpers that give route files
 * their types without annotations, and `page(data)`.
 *
 * ```ts
 * export const define = createDefine<AppState>();
 * export const handler = define.handlers({ GET(ctx) { return Response.json(ctx.state.x) } });
 * export default define.page(function Home({ data }) { ... });
 * ```
 *
 * @module
 */
import type { VNode } from "preact";
import type { Middleware, PageProps, PageResponse, RouteHandler } from "./types.ts";

/** The helpers {@link createDefine} returns. */
export interface Define<State> {
  handlers<Data = unknown, H extends RouteHandler<Data, State> = RouteHandler<Data, State>>(
    handlers: H,
  ): H;
  page<Data = unknown>(
    page: (props: PageProps<Data, State>) => VNode | null,
  ): (props: PageProps<Data, State>) => VNode | null;
  middleware<M extends Middleware<State> | Middleware<State>[]>(middleware: M): M;
}

/** Typed identity helpers for routes of an app whose `ctx.state` is `State`. */
export function createDefine<State>(): Define<State> {
  return {
    handlers: (handlers) => handlers,
    page: (page) => page,
    middleware: (middleware) => middleware,
  };
}

/** A handler's answer that renders the route's page with `data`: `return page({ flights })`. */
export function page<Data>(
  data: Data,
  options: { headers?: HeadersInit; status?: number } = {},
): PageResponse<Data> {
  return { data, headers: options.headers, status: options.status };
}
