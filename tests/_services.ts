/**
 * Helpers for tests that need the backing services started by `deno task services`
 * (scripts/services.sh): Kafka (KAFKA_BROKERS) and PostgreSQL (DATABASE_URL).
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

function skipUnless(configured: boolean, what: string, envVar: string): boolean {
  if (configured || inCI) return false;
  if (!reported.has(what)) {
    reported.add(what);
    console.warn(
      `[tests] skipping ${what} tests: ${envVar} is not set ` +
        `(run: eval "$(deno task -q services start)" or eval "$(bash scripts/services.sh start)")`,
    );
  }
  return true;
}

/** `ignore` value for tests that need Kafka: skip when unconfigured, never in CI. */
export function skipWithoutKafka(): boolean {
  return skipUnless(kafkaBrokers() !== undefined, "Kafka", "KAFKA_BROKERS");
}

/** `ignore` value for tests that need PostgreSQL: skip when unconfigured, never in CI. */
export function skipWithoutPostgres(): boolean {
  return skipUnless(databaseUrl() !== undefined, "PostgreSQL", "DATABASE_URL");
}
