/**
 * `/metrics` (Prometheus text) and `/healthz` (200 or 503 with a reason) on
 * a service's own port (the producer's and the worker's).
 *
 * @module
 */
import type { Registry } from "prom-client";

/** What `/healthz` reports. */
export interface Health {
  ok: boolean;
  reason?: string;
  /** Serving (200) but impaired: the body says `degraded` with the reason. */
  degraded?: boolean;
}

/** Options for {@link serveMetrics}. */
export interface MetricsServerOptions {
  /** Port; 0 picks a free one. */
  port: number;
  /** Default `0.0.0.0`. */
  hostname?: string;
  registry: Registry;
  health: () => Health | Promise<Health>;
  /** Called with the bound address (tests use port 0). */
  onListen?: (addr: Deno.NetAddr) => void;
}

export function serveMetrics(options: MetricsServerOptions): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({
    port: options.port,
    hostname: options.hostname ?? "0.0.0.0",
    onListen: options.onListen ?? (() => {}),
  }, async (request) => {
    const { pathname } = new URL(request.url);
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    if (pathname === "/metrics") {
      return new Response(await options.registry.metrics(), {
        headers: { "content-type": options.registry.contentType },
      });
    }
    if (pathname === "/healthz") {
      const health = await options.health();
      return Response.json(
        {
          status: health.ok ? (health.degraded ? "degraded" : "ok") : "unhealthy",
          reason: health.reason,
        },
        { status: health.ok ? 200 : 503, headers: { "cache-control": "no-store" } },
      );
    }
    return new Response("not found\n", { status: 404 });
  });
}
