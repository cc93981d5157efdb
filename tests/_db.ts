/**
 * Throw-away databases for tests, so tests never see each other's rows.
 *
 * - {@link freshPostgres}: a new database `test_<unix s>_<random>` on the
 *   server at DATABASE_URL (or, without it, in a PostgreSQL container when a
 *   Docker engine is there), dropped on close; ones a killed run left behind
 *   are dropped a day later. Use with `ignore: skipWithoutPostgres()`.
 * - {@link freshEmbedded}: the embedded PGlite in a new temp folder, removed on close.
 *
 * Neither migrates unless asked (`{ migrate: true }`).
 *
 * @module
 */
import type { Flight } from "../contracts/flight.ts";
import { connect, migrate, openDatabase, type Sql } from "../lib/db/mod.ts";
import { databaseUrl } from "./_services.ts";

/** A database of one's own. */
export interface TestDatabase {
  sql: Sql;
  /** Connection URL (the embedded one takes no second client). */
  url: string;
  /** Closes the client and destroys the database. Idempotent. */
  close(): Promise<void>;
}

/** Options for the helpers. */
export interface FreshOptions {
  /** Apply `migrations/` before returning. Default false. */
  migrate?: boolean;
}

/** A new, empty database on the test PostgreSQL server. */
export async function freshPostgres(options: FreshOptions = {}): Promise<TestDatabase> {
  const server = await serverUrl();
  const created = Math.floor(Date.now() / 1000);
  const name = `test_${created}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`;
  await withAdmin(server, async (admin) => {
    await dropStale(admin, created);
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  });
  const url = withDatabase(server, name);
  const sql = connect(url, { max: 4 });
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      await sql.end({ timeout: 5 });
      await withAdmin(server, (a) => a.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    })();
  try {
    if (options.migrate) await migrate(sql);
  } catch (error) {
    await close();
    throw error;
  }
  return { sql, url, close };
}

/** A new embedded database in a temp folder. */
export async function freshEmbedded(
  options: FreshOptions = {},
): Promise<TestDatabase & { dataDir: string }> {
  const dataDir = await Deno.makeTempDir({ prefix: "skysentinel_pglite_" });
  const db = await openDatabase({ dataDir, migrate: options.migrate ?? false }).catch(
    async (error) => {
      await Deno.remove(dataDir, { recursive: true });
      throw error;
    },
  );
  let closing: Promise<void> | undefined;
  return {
    sql: db.sql,
    url: db.url,
    dataDir,
    close: () =>
      closing ??= (async () => {
        await db.close();
        await Deno.remove(dataDir, { recursive: true });
      })(),
  };
}

/** One container per test process; testcontainers' reaper removes it when the process ends. */
let container: Promise<string> | undefined;

async function serverUrl(): Promise<string> {
  const url = databaseUrl();
  if (url) return url;
  if (await dockerAvailable()) {
    container ??= (async () => {
      // Imported on demand: testcontainers is heavy and useless without Docker.
      const { PostgreSqlContainer } = await import("@testcontainers/postgresql");
      return (await new PostgreSqlContainer("postgres:15-alpine").start()).getConnectionUri();
    })();
    return await container;
  }
  throw new Error("no PostgreSQL for tests: set DATABASE_URL (deno task services) or run Docker");
}

async function dockerAvailable(): Promise<boolean> {
  try {
    return (await Deno.stat("/var/run/docker.sock")).isSocket === true;
  } catch {
    return false;
  }
}

/** Drops databases of killed test runs (named `test_<unix s>_<hex>`, over a day old). */
async function dropStale(admin: Sql, now: number): Promise<void> {
  const rows = await admin<{ datname: string }[]>`
    SELECT datname FROM pg_database WHERE datname ~ '^test_[0-9]{10}_[0-9a-f]{12}$'`;
  for (const { datname } of rows) {
    if (Number(datname.split("_")[1]) < now - 86_400) {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => {});
    }
  }
}

async function withAdmin<T>(url: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const admin = connect(url, { max: 1 });
  try {
    return await fn(admin);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.href;
}

/**
 * The flights_history columns of a flight as measured, with no smoothing:
 * the raw values fill the smoothed columns too. For fixtures and baselines
 * that write history rows without the worker.
 */
export function measuredColumns(f: Flight) {
  return {
    callsign: f.callsign,
    on_ground: f.on_ground,
    squawk: f.squawk,
    raw_lat: f.position.lat,
    raw_lon: f.position.lon,
    raw_altitude_m: f.altitude_m,
    raw_velocity_mps: f.velocity_mps,
    raw_heading_deg: f.heading_deg,
    raw_vertical_rate_mps: f.vertical_rate_mps,
    lat: f.position.lat,
    lon: f.position.lon,
    altitude_m: f.altitude_m,
    velocity_mps: f.velocity_mps,
    heading_deg: f.heading_deg,
    vertical_rate_mps: f.vertical_rate_mps,
    // The rest of the flight object (migration 0002 stores it in columns, not as jsonb).
    geo_altitude_m: f.geo_altitude_m,
    last_contact: new Date(f.last_contact_unix * 1000),
    position_source: f.position_source,
    category: f.category,
    spi: f.spi,
    origin_country: f.origin_country,
    source: (f as { source?: string }).source ?? null,
  };
}
