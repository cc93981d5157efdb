/**
 * The web server as a library: hub + its source (bus or relay) + the app,
 * served with Deno.serve. `main.ts` runs it standalone; the single-process
 * stack (`deno task up`) runs it beside the producer and worker on a shared
 * bus and database.
 *
 * @module
 */
import { Registry } from "prom-client";
import type { Sql } from "postgres";
import type { Bus } from "../../lib/bus/types.ts";
import type { WebConfig } from "../../lib/config.ts";
import { createWebApp } from "./app.ts";
import { Hub } from "./hub.ts";
import { type HubSource, startBusSource, startRelaySource } from "./hub_sources.ts";

export interface StartWebOptions {
  config: WebConfig;
  /** The bus to read flights.state and flights.anomalies from; null in relay mode. */
  bus: Bus | null;
  /** The history database; null serves the live part only (history routes answer 503). */
  db: Sql | null;
  /**
   * Development: rebuild islands at start and show error details. Honoured
   * only on a loopback HOST: error details are for the developer, not for
   * whoever reaches 0.0.0.0.
   */
  dev?: boolean;
  /** Prebuilt islands only (Deno Deploy: no filesystem writes). */
  build?: "always" | "auto" | "never";
  registry?: Registry;
  log?: (line: string) => void;
}

export interface WebHandle {
  /** `http://host:port` it listens on. */
  readonly url: string;
  /** `development` only when asked for and HOST is a loopback address. */
  readonly mode: "development" | "production";
  readonly hub: Hub;
  readonly registry: Registry;
  /** Closes sockets with 1001, stops the source and the server. Idempotent. */
  stop(): Promise<void>;
}

/** Addresses only this machine can reach: the only ones development mode listens on. */
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

export async function startWeb(options: StartWebOptions): Promise<WebHandle> {
  const { config } = options;
  const log = options.log ?? console.log;
  const dev = (options.dev ?? false) && LOOPBACK_HOSTS.has(config.HOST);
  if (options.dev && !dev) {
    log(
      `web: production mode (no error details) because HOST=${config.HOST} is reachable from ` +
        "other machines; set HOST=127.0.0.1 for development mode",
    );
  }
  const registry = options.registry ?? new Registry();
  const relay = config.HUB_UPSTREAM_URL;
  const hub = new Hub({
    config,
    registry,
    source: { kind: relay ? "relay" : options.bus?.kind ?? "memory", ready: false },
  });
  let source: HubSource;
  if (relay) source = startRelaySource(hub, { upstreamUrl: relay });
  else if (options.bus) {
    source = await startBusSource(hub, options.bus, {
      anomalyWindowHours: config.ANOMALY_WINDOW_HOURS,
    });
  } else throw new TypeError("startWeb needs a bus or HUB_UPSTREAM_URL");
  hub.start();
  const handler = await createWebApp({
    config,
    hub,
    db: options.db,
    registry,
    adminToken: config.ADMIN_TOKEN ?? null,
    dev,
    // Asked-for development rebuilds the islands at every start even where it is not granted.
    build: options.build ?? (options.dev ? "always" : undefined),
    log,
    health: () => ({
      source: source.healthy()
        ? { ok: true, detail: relay ? `relaying ${relay}` : options.bus?.kind }
        : { ok: false, detail: relay ? "upstream hub unreachable" : "bus unreachable" },
    }),
  });
  const server = Deno.serve({
    port: config.PORT,
    hostname: config.HOST,
    onListen: () => {},
  }, handler);
  const host = config.HOST === "0.0.0.0" ? "localhost" : config.HOST;
  const url = `http://${host}:${server.addr.port}`;
  let stopping: Promise<void> | undefined;
  return {
    url,
    mode: dev ? "development" : "production",
    hub,
    registry,
    stop() {
      stopping ??= (async () => {
        await hub.stop();
        await source.stop();
        await server.shutdown();
      })();
      return stopping;
    },
  };
}
