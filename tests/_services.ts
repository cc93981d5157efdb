/**
 * Helpers for tests that need the backing services started by `deno task services`
 * (scripts/services.sh): Kafka (KAFKA_BROKERS) and PostgreSQL (DATABASE_URL); and for those
 * that drive Debian's Chromium (CHROMIUM_PATH, default /usr/bin/chromium).
 *
 * Use the skip helpers as Deno.test's `ignore` option:
 *
 * ```ts
 * Deno.test({ name: "...", ignore: skipWithoutKafka(), fn: async () => { ... } });
 * ```
 *
 * Outside CI a test whose service is not configured is skipped (with a one-line reason);
 * in CI (CI=true) it always runs, so a missing service fails loudly instead of hiding.
 */

/** True when running under CI (`CI=true`). */
export const inCI: boolean = Deno.env.get("CI") === "true";

/** Kafka bootstrap brokers from KAFKA_BROKERS (comma separated), or undefined when unset. */
export function kafkaBrokers(): string[] | undefined {
  const raw = Deno.env.get("KAFKA_BROKERS");
  if (raw === undefined) return undefined;
  const brokers = raw.split(",").map((b) => b.trim()).filter((b) => b.length > 0);
  return brokers.length > 0 ? brokers : undefined;
}

/** PostgreSQL connection URL from DATABASE_URL, or undefined when unset. */
export function databaseUrl(): string | undefined {
  const url = Deno.env.get("DATABASE_URL")?.trim();
  return url ? url : undefined;
}

const reported = new Set<string>();

function skipUnless(configured: boolean, what: string, why: string): boolean {
  if (configured || inCI) return false;
  if (!reported.has(what)) {
    reported.add(what);
    console.warn(`[tests] skipping ${what} tests: ${why}`);
  }
  return true;
}

const START_SERVICES =
  `(run: eval "$(deno task -q services start)" or eval "$(bash scripts/services.sh start)")`;

/** `ignore` value for tests that need Kafka: skip when unconfigured, never in CI. */
export function skipWithoutKafka(): boolean {
  return skipUnless(
    kafkaBrokers() !== undefined,
    "Kafka",
    `KAFKA_BROKERS is not set ${START_SERVICES}`,
  );
}

/** `ignore` value for tests that need PostgreSQL: skip when unconfigured, never in CI. */
export function skipWithoutPostgres(): boolean {
  return skipUnless(
    databaseUrl() !== undefined,
    "PostgreSQL",
    `DATABASE_URL is not set ${START_SERVICES}`,
  );
}

/** The Chromium the browser tests drive: CHROMIUM_PATH, default Debian's /usr/bin/chromium. */
export const chromiumPath: string = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** `ignore` value for tests that need Chromium: skip when it is missing, never in CI. */
export function skipWithoutChromium(): boolean {
  let installed = false;
  try {
    installed = Deno.statSync(chromiumPath).isFile;
  } catch {
    // Not installed.
  }
  return skipUnless(
    installed,
    "browser",
    `no Chromium at ${chromiumPath} (apt-get install chromium)`,
  );
}
