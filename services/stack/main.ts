/**
 * `deno task up`: the whole system in one process. With KAFKA_BROKERS and
 * DATABASE_URL unset it runs on the in-memory bus and the embedded
 * PostgreSQL under DATA_DIR (migrations applied); with them set, on Kafka
 * and PostgreSQL. The producer replays the demo scenario of real
 * recordings as if live, or polls OpenSky when credentials are set.
 *
 * Order matters: the worker and the hub subscribe before the producer
 * publishes, and shutdown runs the other way round (stop intake first).
 *
 * @module
 */
import { Registry } from "prom-client";
import { configuredBrokers, MemoryBus, openBus } from "../../lib/bus/mod.ts";
import type { Bus } from "../../lib/bus/types.ts";
import {
  DEMO_SCENARIO,
  describeIntake,
  type Env,
  parseStackConfig,
  readEnv,
  redactConfig,
} from "../../lib/config.ts";
import { openDatabase } from "../../lib/db/mod.ts";
import { SkySentinelError } from "../../lib/errors.ts";
import { ProducerMetrics, startProducer } from "../producer/mod.ts";
import { startWorker } from "../worker/worker.ts";
import { startAlertDelivery } from "../alerts/delivery.ts";
import { AlertDeliveryMetrics } from "../alerts/metrics.ts";
import { createLogger } from "../../lib/log.ts";
import { startWeb } from "../web/mod.ts";
import { onShutdown } from "../shutdown.ts";

function log(line: string) {
  console.error(`${new Date().toISOString()} stack: ${line}`);
}

async function main(): Promise<number> {
  const started = performance.now();
  let config;
  try {
    const env: Env = { ...readEnv("stack") };
    config = parseStackConfig({ ...(env.SOURCES ? {} : { REPLAY_FILES: DEMO_SCENARIO }), ...env });
  } catch (error) {
    if (error instanceof SkySentinelError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  log(`configuration ${JSON.stringify(redactConfig(config))}`);
  const brokers = configuredBrokers(config);
  const memory = brokers ? undefined : new MemoryBus();
  const clientId = config.KAFKA_CLIENT_ID;
  const buses: Bus[] = [];
  const bus = async (name: string) => {
    const b = await openBus({ brokers, clientId: `${clientId}-${name}`, memory });
    buses.push(b);
    return b;
  };

  let db;
  try {
    db = await openDatabase({
      url: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      log: (line) => log(line),
    });
  } catch (error) {
    await memory?.close();
    // A DATA_DIR the stack may not write, an unreachable DATABASE_URL: one line, no stack trace.
    if (error instanceof SkySentinelError) {
      console.error(`stack: ${error.message}`);
      return error.code === "config_invalid" ? 2 : 1;
    }
    throw error;
  }
  log(`database: ${db.kind} ${db.url}`);
  const registry = new Registry();
  const runwaysCsv = await Deno.readTextFile(config.RUNWAYS_FILE);
  // Every topic up front: the memory bus refuses unknown topics once any were declared.
  await (await bus("admin")).ensureTopics();
  const worker = await startWorker({
    config,
    bus: await bus("worker"),
    db,
    runwaysCsv,
    registry,
    degradeOnStaleData: true,
  });
  const web = await startWeb({ config, bus: await bus("web"), db: db.sql, registry, dev: true });
  // Webhooks reach only the hosts of this task's --allow-net; `deno task alerts` reaches any.
  const alerts = await startAlertDelivery({
    bus: await bus("alerts"),
    sql: db.sql,
    log: createLogger({ level: config.LOG_LEVEL, name: "alerts" }),
    metrics: new AlertDeliveryMetrics(registry),
    delivery: {
      allowPrivate: config.ALERTS_ALLOW_PRIVATE_TARGETS,
      publicUrl: config.ALERTS_PUBLIC_URL,
    },
  });
  const producer = await startProducer({
    config,
    bus: await bus("producer"),
    metrics: new ProducerMetrics({ registry }),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  log(
    `${describeIntake(config)} on ` +
      `${brokers ? `Kafka ${brokers.join(",")}` : "the in-memory bus"}; ready in ${seconds} s`,
  );
  console.log(`SkySentinel is up: ${web.url}`);

  const { done } = onShutdown(async () => {
    await producer.stop();
    await web.stop();
    await worker.stop();
    await alerts.stop();
    await Promise.all(buses.map((b) => b.close()));
    await memory?.close();
    await db.close();
  }, { log });
  // A replay without loop ends by itself; keep serving until a signal.
  producer.done.then(() => log("producer finished"));
  return await done;
}

if (import.meta.main) Deno.exit(await main());
