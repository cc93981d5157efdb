/**
 * Standalone worker: config -> runways -> bus -> database -> worker ->
 * metrics server -> shutdown. Everything else lives in worker.ts.
 *
 * Exit codes: 0 after a clean stop, 1 when a dependency cannot be reached
 * at start (the supervisor restarts it with its own backoff) or shutdown
 * failed, 2 for a configuration error.
 *
 * @module
 */
import { aloneNotice, configuredBrokers, openBus } from "../../lib/bus/mod.ts";
import { parseWorkerConfig, readEnv, type WorkerConfig } from "../../lib/config.ts";
import { openDatabase } from "../../lib/db/mod.ts";
import { SkySentinelError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { serveMetrics } from "../metrics_http.ts";
import { startWorker } from "./worker.ts";

/** After a stop signal, exit even if something hangs (a broker or database that never answers). */
const SHUTDOWN_DEADLINE_MS = 10_000;

async function main(): Promise<number> {
  const bootLog = createLogger({ name: "worker" });
  let config: WorkerConfig;
  try {
    config = parseWorkerConfig(readEnv("worker"));
  } catch (error) {
    if (error instanceof SkySentinelError) {
      bootLog.error(error.message);
      return 2;
    }
    throw error;
  }
  const log = createLogger({ level: config.LOG_LEVEL, name: "worker" });
  let runwaysCsv: string;
  try {
    runwaysCsv = await Deno.readTextFile(config.RUNWAYS_FILE);
  } catch (error) {
    log.error(`cannot read RUNWAYS_FILE ${config.RUNWAYS_FILE}: ${error}`);
    return 2;
  }
  const brokers = configuredBrokers(config);
  if (!brokers) log.warn(aloneNotice("worker"));
  let bus;
  try {
    bus = await openBus({ brokers, clientId: `${config.KAFKA_CLIENT_ID}-worker` });
  } catch (error) {
    log.error(error instanceof Error ? error.message : String(error), { brokers });
    return 1;
  }
  let db;
  try {
    db = await openDatabase({
      url: config.DATABASE_URL,
      dataDir: config.DATA_DIR,
      log: (line) => log.info(line),
    });
  } catch (error) {
    log.error(error instanceof Error ? error.message : String(error));
    await bus.close();
    // A DATA_DIR it may not write is a configuration error (2), an unreachable database not (1).
    return error instanceof SkySentinelError && error.code === "config_invalid" ? 2 : 1;
  }
  log.info("database", { kind: db.kind, url: db.url });
  let worker;
  try {
    worker = await startWorker({ config, bus, db, runwaysCsv, log, degradeOnStaleData: true });
  } catch (error) {
    log.error(error instanceof Error ? error.message : String(error));
    await Promise.allSettled([bus.close(), db.close()]);
    return 1;
  }
  const server = serveMetrics({
    port: config.WORKER_PORT,
    registry: worker.metrics.registry,
    health: () => worker.health(),
    onListen: (addr) =>
      log.info("metrics on", { url: `http://${addr.hostname}:${addr.port}/metrics` }),
  });

  let exitCode = 0;
  const { promise: stopped, resolve: stop } = Promise.withResolvers<string>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => stop(signal));
    } catch {
      // SIGTERM cannot be listened to on Windows; SIGINT (Ctrl+C) still works.
    }
  }
  const why = await stopped;
  log.info("shutting down", { why });
  const deadline = setTimeout(() => {
    log.error(`shutdown took longer than ${SHUTDOWN_DEADLINE_MS} ms; exiting`);
    Deno.exit(1);
  }, SHUTDOWN_DEADLINE_MS);
  // Intake first (the batch in flight commits), then what it wrote to.
  for (
    const [name, step] of [
      ["worker", () => worker.stop()],
      ["database", () => db.close()],
      ["bus", () => bus.close()],
      ["metrics server", () => server.shutdown()],
    ] as const
  ) {
    try {
      await step();
    } catch (error) {
      exitCode = 1;
      log.error(`shutdown of the ${name} failed: ${error}`);
    }
  }
  clearTimeout(deadline);
  return exitCode;
}

if (import.meta.main) Deno.exit(await main());
