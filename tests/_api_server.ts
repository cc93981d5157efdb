/**
 * The real web app (createWebApp + Deno.serve on 127.0.0.1) over a test database, with a hub
 * that holds nothing: what the HTTP API tests talk to.
 *
 * @module
 */
import { Registry } from "prom-client";
import type { Sql } from "../lib/db/mod.ts";
import { createWebApp, type WebAppOptions } from "../services/web/app.ts";

/** A running API server. */
export interface ApiServer {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  origin: string;
  shutdown(): Promise<void>;
}

/** Serves the web app on `sql`; `options` override the defaults (no build, no logs). */
export async function serveApi(
  sql: Sql,
  options: Partial<WebAppOptions> = {},
): Promise<ApiServer> {
  const handler = await createWebApp({
    config: { WS_STALE_THRESHOLD_SECONDS: 60 },
    hub: {
      handleUpgrade: () => new Response(null, { status: 501 }),
      snapshot: () => [],
      stats: () => ({ ready: true }),
    },
    db: sql,
    registry: new Registry(),
    build: "never",
    log: () => {},
    ...options,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  return { origin: `http://127.0.0.1:${server.addr.port}`, shutdown: () => server.shutdown() };
}
