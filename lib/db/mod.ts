/**
 * Opening the database: PostgreSQL at a URL, or the embedded PGlite under
 * DATA_DIR when there is none, migrated on open.
 *
 * The embedded database takes one connection (see embedded.ts), so within a
 * process every {@link openDatabase} call for the same folder shares one
 * server and one client with `max: 1`: the worker's writer and the history
 * API each get a handle, queries queue on the one connection, and the last
 * `close()` shuts it down. Call `Database.close()`, never `sql.end()`, on a
 * shared handle.
 *
 * @module
 */
import { connect, redactUrl, type Sql } from "./client.ts";
import { migrate as runMigrations } from "./migrate.ts";
import type { Embedded } from "./embedded.ts";
import { SkySentinelError } from "../errors.ts";

export { connect, type ConnectOptions, type Notice, redactUrl, type Sql } from "./client.ts";
export {
  loadMigrations,
  migrate,
  type MigrateOptions,
  type MigrateResult,
  type Migration,
  MIGRATIONS_DIR,
  type MigrationSource,
} from "./migrate.ts";

/** An open database. */
export interface Database {
  /** The client. Shared in embedded mode: do not `end()` it, call {@link Database.close}. */
  sql: Sql;
  kind: "postgres" | "embedded";
  /** Where it is, password hidden: for logs. */
  url: string;
  /** Releases this handle (the last one of an embedded database shuts it down). Idempotent. */
  close(): Promise<void>;
}

/** Options for {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** PostgreSQL URL (DATABASE_URL). Unset or empty: the embedded database. */
  url?: string;
  /** Folder of the embedded database (DATA_DIR); it lives in `<dataDir>/pglite`. Default `.data`. */
  dataDir?: string;
  /** Apply pending migrations before returning. Default true. */
  migrate?: boolean;
  /** Pool size for PostgreSQL. Ignored by the embedded database, which takes one connection. */
  max?: number;
  /** Migration progress lines. Default: none. */
  log?: (line: string) => void;
}

/** Opens (and by default migrates) the database. */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<Database> {
  const url = options.url?.trim();
  if (url) return await openPostgres(url, options);
  return await serialised(() => openEmbedded(options));
}

async function openPostgres(url: string, options: OpenDatabaseOptions): Promise<Database> {
  const redacted = redactUrl(url);
  const sql = connect(url, { max: options.max });
  try {
    try {
      await sql`SELECT 1`;
    } catch (error) {
      throw new SkySentinelError(
        "upstream_unavailable",
        `cannot reach PostgreSQL at ${redacted}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    if (options.migrate ?? true) await runMigrations(sql, { log: options.log });
  } catch (error) {
    await sql.end({ timeout: 1 }).catch(() => {});
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    sql,
    kind: "postgres",
    url: redacted,
    close: () => closing ??= sql.end({ timeout: 5 }),
  };
}

interface SharedEmbedded {
  embedded: Embedded;
  sql: Sql;
  handles: number;
  migrated: boolean;
}

/** Embedded databases open in this process, by real path of their folder. */
const shared = new Map<string, SharedEmbedded>();

/** Opening and closing embedded databases one at a time keeps the sharing simple and race-free. */
let queue: Promise<unknown> = Promise.resolve();
function serialised<T>(fn: () => Promise<T>): Promise<T> {
  const run = queue.then(fn);
  queue = run.catch(() => {});
  return run;
}

async function openEmbedded(options: OpenDatabaseOptions): Promise<Database> {
  const base = options.dataDir ?? ".data";
  const dir = base.endsWith("/") ? `${base}pglite` : `${base}/pglite`;
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (error) {
    if (
      !(error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied)
    ) {
      throw error;
    }
    throw new SkySentinelError(
      "config_invalid",
      `Cannot open the embedded database in ${dir}: no permission to write there ` +
        "(set DATA_DIR to a folder the program may write, `.data` in the deno.json tasks, " +
        "or set DATABASE_URL)",
      { cause: error },
    );
  }
  const key = await Deno.realPath(dir);
  let entry = shared.get(key);
  if (!entry) {
    // Loaded on demand: PGlite is megabytes of WebAssembly that PostgreSQL users never need.
    const { startEmbedded } = await import("./embedded.ts");
    const embedded = await startEmbedded({ dataDir: dir });
    entry = {
      embedded,
      // max 1: the server takes one connection. No idle timeout or lifetime:
      // reconnecting gains nothing on a local socket and would race the
      // server freeing the old connection's slot.
      sql: connect(embedded.url, { max: 1, idleTimeoutS: 0, maxLifetimeS: null }),
      handles: 0,
      migrated: false,
    };
    shared.set(key, entry);
  }
  const current = entry;
  current.handles++;
  try {
    if ((options.migrate ?? true) && !current.migrated) {
      await runMigrations(current.sql, { log: options.log });
      current.migrated = true;
    }
  } catch (error) {
    await release(key, current);
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    sql: current.sql,
    kind: "embedded",
    url: current.embedded.url,
    close: () => closing ??= serialised(() => release(key, current)),
  };
}

async function release(key: string, entry: SharedEmbedded): Promise<void> {
  entry.handles--;
  if (entry.handles > 0) return;
  shared.delete(key);
  try {
    await entry.sql.end({ timeout: 5 });
  } finally {
    await entry.embedded.close();
  }
}
