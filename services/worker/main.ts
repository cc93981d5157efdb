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
import { Registry } from "prom-client";
import { serveMetrics } from "../metrics_http.ts";
import { onShutdown } from "../shutdown.ts";
import { startWorker, type WorkerHandle } from "./worker.ts";

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
  // /metrics and /healthz first: joining the group can take a session timeout after a crash,
  // and an operator should see "joining" meanwhile, not a refused connection.
  const registry = new Registry();
  let worker: WorkerHandle | undefined;
  const server = serveMetrics({
    port: config.WORKER_PORT,
    registry,
    name: "worker",
    health: () => worker?.health() ?? { ok: false, reason: "joining the consumer group" },
    onListen: (addr) =>
      log.info("metrics on", { url: `http://${addr.hostname}:${addr.port}/metrics` }),
  });
  try {
    worker = await startWorker({
      config,
      bus,
      db,
      runwaysCsv,
      log,
      registry,
      degradeOnStaleData: true,
    });
  } catch (error) {
    log.error(error instanceof Error ? error.message : String(error));
    await Promise.allSettled([bus.close(), db.close(), server.shutdown()]);
    return 1;
  }
  const running = worker;
  // Intake first (the batch in flight commits), then what it wrote to.
  const { done } = onShutdown([
    ["worker", () => running.stop()],
    ["database", () => db.close()],
    ["bus", () => bus.close()],
    ["metrics server", () => server.shutdown()],
  ], { deadlineMs: SHUTDOWN_DEADLINE_MS, log: (line) => log.info(line) });
  return await done;
}

if (import.meta.main) Deno.exit(await main());
