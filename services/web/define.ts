/**
 * `define`: the typed helpers of every route (Fresh 2 projects keep this in
 * `utils.ts`): `define.handlers({ GET(ctx) {...} })` with `ctx.state` typed
 * as {@link AppState}, `define.page(...)`, `define.middleware(...)`.
 *
 * @module
 */
import { createDefine } from "../../lib/framework/mod.ts";
import type { AppState } from "./app.ts";

export const define = createDefine<AppState>();
