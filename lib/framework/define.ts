/**
 * Fresh v2's `createDefine<State>()`: identity helpers that give route files
 * their types without annotations.
 *
 * ```ts
 * const define = createDefine<AppState>();
 * export const handler = define.handlers({ GET(_req, ctx) { ... } });
 * ```
 *
 * @module
 */
import type { VNode } from "preact";
import type { Handler, Handlers, MiddlewareHandler, PageProps } from "./types.ts";

/** The helpers {@link createDefine} returns. */
export interface Define<State> {
  handlers<Data = unknown>(handlers: Handlers<Data, State>): Handlers<Data, State>;
  handler<Data = unknown>(handler: Handler<Data, State>): Handler<Data, State>;
  page<Data = unknown>(
    page: (props: PageProps<Data, State>) => VNode | null,
  ): (props: PageProps<Data, State>) => VNode | null;
  middleware(middleware: MiddlewareHandler<State>): MiddlewareHandler<State>;
}

/** Typed identity helpers for routes of an app whose `ctx.state` is `State`. */
export function createDefine<State>(): Define<State> {
  return {
    handlers: (handlers) => handlers,
    handler: (handler) => handler,
    page: (page) => page,
    middleware: (middleware) => middleware,
  };
}
