/**
 * Standalone producer: config -> bus -> mode runner -> metrics server ->
 * shutdown. Everything else lives in mod.ts and lib/.
 *
 * Usage: `main.ts [--replay] [FILE...]`. The environment configures it
 * (lib/config.ts); `--replay` forces replay mode, FILEs (recordings or
 * scenarios) replace REPLAY_FILES. Without REPLAY_FILES, replay plays the
 * bundled demo scenario.
 *
 * @module
 */
import { aloneNotice, configuredBrokers, openBus } from "../../lib/bus/mod.ts";
import { DEMO_SCENARIO, type Env, parseProducerConfig, readEnv } from "../../lib/config.ts";
import { SkySentinelError } from "../../lib/errors.ts";
import { createLogger } from "../../lib/log.ts";
import { serveMetrics } from "../metrics_http.ts";
import { startProducer } from "./mod.ts";

/** After a stop signal, exit even if something hangs (a broker that never answers). */
const SHUTDOWN_DEADLINE_MS = 10_000;

/** The environment with the command line applied. */
function withArgs(env: Env, args: readonly string[]): Env {
  const files = args.filter((a) => !a.startsWith("--"));
  const unknown = args.filter((a) => a.startsWith("--") && a !== "--replay");
  if (unknown.length > 0) {
    throw new SkySentinelError(
      "config_invalid",
      `Unknown option ${unknown.join(", ")}; usage: main.ts [--replay] [FILE...]`,
    );
  }
  const out: Record<string, string | undefined> = { ...env };
  if (files.length > 0) out.REPLAY_FILES = files.join(",");
  if (files.length > 0 || args.includes("--replay")) out.OPENSKY_MODE = "replay";
  // SOURCES says what to run instead of the demo.
  if (!out.SOURCES) out.REPLAY_FILES ??= DEMO_SCENARIO;
  return out;
}

async function main(): Promise<number> {
  const bootLog = createLogger({ name: "producer" });
  let config;
  try {
    config = parseProducerConfig(withArgs(readEnv("producer"), Deno.args));
  } catch (error) {
    if (error instanceof SkySentinelError) {
      bootLog.error(error.message);
      return 2;
    }
    throw error;
  }
  const log = createLogger({ level: config.LOG_LEVEL, name: "producer" });
  const brokers = configuredBrokers(config);
  if (!brokers) log.warn(aloneNotice("producer"));
  let bus;
  try {
    bus = await openBus({ brokers, clientId: `${config.KAFKA_CLIENT_ID}-producer` });
  } catch (error) {
    // Exit rather than retry: the supervisor (systemd, compose, k8s) restarts with its own backoff.
    log.error(error instanceof Error ? error.message : String(error), { brokers });
    return 1;
  }
  let producer;
  try {
    producer = await startProducer({ config, bus, log });
  } catch (error) {
    log.error(error instanceof Error ? error.message : String(error));
    await bus.close();
    return error instanceof SkySentinelError && error.code === "config_invalid" ? 2 : 1;
  }
  const server = serveMetrics({
    port: config.PRODUCER_PORT,
    registry: producer.metrics.registry,
    health: () => producer.health(),
    onListen: (addr) =>
      log.info("metrics on", { url: `http://${addr.hostname}:${addr.port}/metrics` }),
  });

  let exitCode = 0;
  let shuttingDown: Promise<void> | null = null;
  const shutdown = (why: string) => {
    shuttingDown ??= (async () => {
      log.info("shutting down", { why });
      const deadline = setTimeout(() => {
        log.error(`shutdown took longer than ${SHUTDOWN_DEADLINE_MS} ms; exiting`);
        Deno.exit(1);
      }, SHUTDOWN_DEADLINE_MS);
      try {
        await producer.stop();
        await bus.close();
        await server.shutdown();
      } catch (error) {
        exitCode = 1;
        log.error("shutdown error", { error: String(error) });
      } finally {
        clearTimeout(deadline);
      }
    })();
    return shuttingDown;
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => void shutdown(signal));
    } catch {
      // SIGTERM cannot be listened to on Windows; SIGINT (Ctrl+C) still works.
    }
  }
  // A replay without loop ends by itself.
  await producer.done;
  await shutdown("finished");
  return exitCode;
}

if (import.meta.main) Deno.exit(await main());
