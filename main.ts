/**
 * The web server: config -> bus -> database -> hub + app -> Deno.serve.
 * Serves `/` (the globe), `/ws`, `/api/...`, `/metrics`, `/healthz` on PORT.
 * With HUB_UPSTREAM_URL it relays another hub instead of reading Kafka.
 *
 * @module
 */
import { aloneNotice, configuredBrokers, openBus } from "./lib/bus/mod.ts";
import { parseWebConfig, readEnv, redactConfig } from "./lib/config.ts";
import { openDatabase } from "./lib/db/mod.ts";
import { SkySentinelError } from "./lib/errors.ts";
import { startWeb } from "./services/web/mod.ts";
import { onShutdown } from "./services/shutdown.ts";

async function main(): Promise<number> {
  let config;
  try {
    config = parseWebConfig(readEnv("web"));
  } catch (error) {
    if (error instanceof SkySentinelError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  console.error(`web: starting with ${JSON.stringify(redactConfig(config))}`);
  const relay = Boolean(config.HUB_UPSTREAM_URL);
  const brokers = configuredBrokers(config);
  if (!relay && !brokers) console.error(`web: ${aloneNotice("web")}`);
  const bus = relay ? null : await openBus({ brokers, clientId: `${config.KAFKA_CLIENT_ID}-web` });
  let db = null;
  try {
    if (config.DATABASE_URL || !relay) {
      // No migrations: the worker (or `deno task migrate`) owns the schema.
      db = await openDatabase({
        url: config.DATABASE_URL,
        dataDir: config.DATA_DIR,
        migrate: false,
      });
    }
  } catch (error) {
    await bus?.close();
    if (error instanceof SkySentinelError) {
      console.error(`web: ${error.message}`);
      return error.code === "config_invalid" ? 2 : 1;
    }
    throw error;
  }
  // Not dev (no error details for visitors), but the islands are rebuilt at every start so that a
  // _build/ left by an older checkout is never served.
  const web = await startWeb({ config, bus, db: db?.sql ?? null, dev: false, build: "always" });
  console.error(`web: listening on ${web.url}`);
  const { done } = onShutdown(async () => {
    await web.stop();
    await bus?.close();
    await db?.close();
  });
  return await done;
}

if (import.meta.main) Deno.exit(await main());
