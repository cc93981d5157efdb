/**
 * Standalone alert delivery (`deno task alerts`): consumes `flights.alerts`
 * and sends webhooks and ntfy notifications (delivery.ts). It reads the
 * worker's settings (KAFKA_BROKERS, DATABASE_URL, ALERTS_ALLOW_PRIVATE_TARGETS,
 * ALERTS_PUBLIC_URL). Its task grants `--allow-net` without a list: webhook
 * targets are whatever hosts users configure, which no list can name; the
 * private-network refusal in webhook.ts is the guard instead.
 *
 * `/metrics` (deliveries, tries, latency: metrics.ts) and `/healthz` on
 * ALERTS_PORT (default 9103).
 *
 * Exit codes: 0 after a clean stop, 1 when Kafka or PostgreSQL cannot be
 * reached at start, 2 for a configuration error.
 *
 * @module
 */
import { openBus } from "../../lib/bus/mod.ts";
import { parseWorkerConfig, readEnv, type WorkerConfig } from "../../lib/config.ts";
import { openDatabase } from "../../lib/db/mod.ts";
import { SkySentinelError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { Registry } from "prom-client";
import { serveMetrics } from "../metrics_http.ts";
import { startAlertDelivery } from "./delivery.ts";
import { AlertDeliveryMetrics } from "./metrics.ts";

async function main(): Promise<number> {
  let config: WorkerConfig;
  try {
    config = parseWorkerConfig(readEnv("worker"));
  } catch (error) {
    if (error instanceof SkySentinelError) {
      createLogger({ name: "alerts" }).error(error.message);
      return 2;
    }
    throw error;
  }
  const log = createLogger({ level: config.LOG_LEVEL, name: "alerts" });
  const brokers = config.KAFKA_BROKERS.length > 0 ? config.KAFKA_BROKERS : undefined;
  if (!brokers || !config.DATABASE_URL) {
    log.error(
      "KAFKA_BROKERS and DATABASE_URL must be set (in the single-process stack, `deno task up`, " +
        "delivery runs inside it)",
    );
    return 2;
  }
  let bus, db;
  try {
    bus = await openBus({ brokers, clientId: `${config.KAFKA_CLIENT_ID}-alerts` });
    db = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
  } catch (error) {
    log.error(error instanceof Error ? error.message : String(error));
    await bus?.close();
    return 1;
  }
  const registry = new Registry();
  let ready: (() => boolean) | null = null;
  const server = serveMetrics({
    port: config.ALERTS_PORT,
    registry,
    name: "alerts",
    health: () => {
      if (!bus.healthy()) return { ok: false, reason: "bus unhealthy" };
      if (!ready?.()) return { ok: false, reason: "joining the consumer group" };
      return { ok: true, reason: "ok" };
    },
    onListen: (addr) =>
      log.info("metrics on", { url: `http://${addr.hostname}:${addr.port}/metrics` }),
  });
  let delivery;
  try {
    delivery = await startAlertDelivery({
      bus,
      sql: db.sql,
      log,
      metrics: new AlertDeliveryMetrics(registry),
      delivery: {
        allowPrivate: config.ALERTS_ALLOW_PRIVATE_TARGETS,
        publicUrl: config.ALERTS_PUBLIC_URL,
      },
    });
  } catch (error) {
    log.error(error instanceof Error ? error.message : String(error));
    await Promise.allSettled([bus.close(), db.close(), server.shutdown()]);
    return 1;
  }
  const running = delivery;
  ready = () => running.subscription.ready;
  log.info("delivering alerts", { private_targets: config.ALERTS_ALLOW_PRIVATE_TARGETS });
  const { promise: stopped, resolve: stop } = Promise.withResolvers<string>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => stop(signal));
    } catch {
      // SIGTERM cannot be listened to on Windows.
    }
  }
  log.info("shutting down", { why: await stopped });
  let code = 0;
  const steps = [
    () => running.stop(),
    () => db.close(),
    () => bus.close(),
    () => server.shutdown(),
  ];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      code = 1;
      log.error(`shutdown failed: ${error}`);
    }
  }
  return code;
}

if (import.meta.main) Deno.exit(await main());
