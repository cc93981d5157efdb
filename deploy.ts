/**
 * Deno Deploy entry: the UI tier. Runs the web server in relay mode: the
 * hub mirrors another hub's `/ws` (HUB_UPSTREAM_URL) instead of reading
 * Kafka, islands come prebuilt from `_build/` (`deno task build` before
 * `deployctl deploy`), nothing is written to the filesystem, and
 * configuration comes from the environment only. With DATABASE_URL set it
 * serves the history API too.
 *
 * @module
 */
import { parseWebConfig, readEnv } from "./lib/config.ts";
import { connect } from "./lib/db/client.ts";
import { SkySentinelError } from "./lib/errors.ts";
import { startWeb } from "./services/web/mod.ts";
import { onShutdown } from "./services/shutdown.ts";

async function main(): Promise<number> {
  let config;
  try {
    config = parseWebConfig(readEnv("web"));
    if (!config.HUB_UPSTREAM_URL) {
      throw new SkySentinelError(
        "config_invalid",
        "Cannot start the Deno Deploy entry as HUB_UPSTREAM_URL is not set (the UI tier relays an upstream hub)",
      );
    }
  } catch (error) {
    if (error instanceof SkySentinelError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  // No migrations here: the UI tier only reads; the worker's side owns the schema.
  const sql = config.DATABASE_URL ? connect(config.DATABASE_URL, { max: 4 }) : null;
  const web = await startWeb({ config, bus: null, db: sql, build: "never" });
  console.error(`web (relay of ${config.HUB_UPSTREAM_URL}): listening on ${web.url}`);
  const { done } = onShutdown(async () => {
    await web.stop();
    await sql?.end({ timeout: 5 });
  });
  return await done;
}

if (import.meta.main) Deno.exit(await main());
