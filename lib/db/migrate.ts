/**
 * The migration runner. Migrations are `NNNN_name.sql` files applied in
 * numeric order; each one runs in its own transaction together with its row
 * in `schema_migrations`, so it is applied completely or not at all.
 *
 * Safe to run twice (applied files are skipped) and from several processes
 * at once: a session advisory lock serialises whole runs, so the second
 * process waits and then finds everything applied. An applied file whose
 * content changed is refused before anything runs: fix forward with a new
 * file instead.
 *
 * A file may hold several statements, plpgsql bodies included: it is sent as
 * one simple-protocol query. It must not contain transaction control
 * (BEGIN/COMMIT) or statements that cannot run in a transaction
 * (`CREATE INDEX CONCURRENTLY`).
 *
 * @module
 */
import type { Sql } from "./client.ts";
import { SkySentinelError } from "../errors.ts";

/** The repository's `migrations/` folder (works from a checkout and from `deno compile --include migrations`). */
export const MIGRATIONS_DIR: URL = new URL("../../migrations/", import.meta.url);

/** One migration, read and checksummed. */
export interface Migration {
  /** The number in the file name. */
  version: number;
  /** File name, e.g. `0001_initial.sql`. */
  file: string;
  /** SQL text. */
  sql: string;
  /** SHA-256 (hex) of the text with line endings normalised to LF. */
  checksum: string;
}

/** A migration given as text, for contexts without a readable folder (bundles, Deno Deploy). */
export interface MigrationSource {
  /** File name in `NNNN_name.sql` form. */
  file: string;
  sql: string;
}

/** Options for {@link migrate}. */
export interface MigrateOptions {
  /** Folder of `NNNN_name.sql` files: a `file:` URL or a path. Default {@link MIGRATIONS_DIR}. */
  dir?: URL | string;
  /** The migrations themselves, instead of reading `dir`. */
  migrations?: readonly MigrationSource[];
  /** Progress lines (one per applied file). Default: none. */
  log?: (line: string) => void;
}

/** What a run did, as file names in order. */
export interface MigrateResult {
  applied: string[];
  skipped: string[];
}

const FILE_NAME = /^(\d{4,})_[a-z0-9_]+\.sql$/;

/** Identifies the migration run among advisory locks (any constant works; a readable one helps in pg_locks). */
const LOCK_SQL = "hashtext('skysentinel.schema_migrations')";

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** Applies the pending migrations to `sql`'s database. */
export async function migrate(sql: Sql, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = options.migrations
    ? await Promise.all(options.migrations.map((m) => prepare(m.file, m.sql)))
    : await loadMigrations(options.dir ?? MIGRATIONS_DIR);
  checkUnique(migrations);
  migrations.sort((a, b) => a.version - b.version);
  const log = options.log ?? (() => {});

  // One connection for the whole run: the session lock belongs to it.
  const conn = await sql.reserve();
  try {
    await conn.unsafe(`SELECT pg_advisory_lock(${LOCK_SQL})`);
    try {
      return await applyPending(conn, migrations, log);
    } finally {
      // A dead connection has dropped the lock already; do not hide the real error.
      await conn.unsafe(`SELECT pg_advisory_unlock(${LOCK_SQL})`).catch(() => {});
    }
  } finally {
    conn.release();
  }
}

async function applyPending(
  conn: Sql,
  migrations: Migration[],
  log: (line: string) => void,
): Promise<MigrateResult> {
  await conn.unsafe(CREATE_TABLE);
  const rows = await conn<{ version: number; name: string; checksum: string }[]>`
    SELECT version, name, checksum FROM schema_migrations ORDER BY version`;
  const applied = new Map(rows.map((r) => [r.version, r]));

  for (const m of migrations) {
    const row = applied.get(m.version);
    if (row && row.checksum !== m.checksum) {
      throw new SkySentinelError(
        "config_invalid",
        `migration ${m.file} changed after it was applied (as ${row.name}): ` +
          `checksum ${m.checksum.slice(0, 12)}, recorded ${row.checksum.slice(0, 12)}. ` +
          `Restore the file and put the change in a new migration.`,
      );
    }
  }
  const known = new Set(migrations.map((m) => m.version));
  for (const r of rows) {
    if (!known.has(r.version)) {
      // The database is ahead of this build (a newer release migrated it); keep going.
      log(`note: applied migration ${r.name} is not among this build's files`);
    }
  }

  const result: MigrateResult = { applied: [], skipped: [] };
  for (const m of migrations) {
    if (applied.has(m.version)) {
      result.skipped.push(m.file);
      continue;
    }
    await applyOne(conn, m);
    log(`applied ${m.file}`);
    result.applied.push(m.file);
  }
  return result;
}

async function applyOne(conn: Sql, m: Migration): Promise<void> {
  await conn.unsafe("BEGIN");
  try {
    await conn.unsafe(m.sql);
    await conn`INSERT INTO schema_migrations (version, name, checksum)
      VALUES (${m.version}, ${m.file}, ${m.checksum})`;
    await conn.unsafe("COMMIT");
  } catch (error) {
    await conn.unsafe("ROLLBACK").catch(() => {});
    throw new Error(`migration ${m.file} failed${where(m.sql, error)}: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/** ` at line N` when the server said where in the file it failed. */
function where(text: string, error: unknown): string {
  const position = Number((error as { position?: unknown })?.position);
  if (!Number.isInteger(position) || position < 1) return "";
  return ` at line ${text.slice(0, position - 1).split("\n").length}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reads every `*.sql` file of `dir` (a `file:` URL or a path), checks its
 * name and returns them in version order.
 */
export async function loadMigrations(dir: URL | string = MIGRATIONS_DIR): Promise<Migration[]> {
  if (dir instanceof URL && dir.protocol !== "file:") {
    throw new TypeError(
      `cannot list migrations at ${dir.href}: pass them with the \`migrations\` option instead`,
    );
  }
  const base = dir instanceof URL && !dir.pathname.endsWith("/") ? new URL(`${dir.href}/`) : dir;
  const names: string[] = [];
  for await (const entry of Deno.readDir(base)) {
    if (entry.isFile && entry.name.endsWith(".sql")) names.push(entry.name);
  }
  const migrations = await Promise.all(names.map(async (name) => {
    const path = base instanceof URL ? new URL(name, base) : `${base.replace(/\/+$/, "")}/${name}`;
    return prepare(name, await Deno.readTextFile(path));
  }));
  checkUnique(migrations);
  return migrations.sort((a, b) => a.version - b.version);
}

async function prepare(file: string, text: string): Promise<Migration> {
  const match = FILE_NAME.exec(file);
  if (!match?.[1]) {
    throw new SkySentinelError(
      "config_invalid",
      `migration file ${file}: the name must be NNNN_name.sql (digits, underscore, lower-case name)`,
    );
  }
  const normalised = text.replaceAll("\r\n", "\n");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(normalised));
  const checksum = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  return { version: Number(match[1]), file, sql: text, checksum };
}

function checkUnique(migrations: readonly Migration[]): void {
  const seen = new Map<number, string>();
  for (const m of migrations) {
    const other = seen.get(m.version);
    if (other !== undefined) {
      throw new SkySentinelError(
        "config_invalid",
        `migrations ${other} and ${m.file} have the same number ${m.version}`,
      );
    }
    seen.set(m.version, m.file);
  }
}
