/**
 * `deno task migrate`: applies pending migrations to DATABASE_URL, or to the
 * embedded database under DATA_DIR (default `.data`) when it is unset, and
 * prints what it applied. Exit code 0 when the schema is up to date, 1 when
 * it could not be brought there.
 *
 * The embedded database must not be running in another process (the stack
 * started by `deno task up` migrates it itself on start).
 *
 * @module
 */
import { migrate, openDatabase } from "../lib/db/mod.ts";

async function main(): Promise<number> {
  const url = Deno.env.get("DATABASE_URL")?.trim() || undefined;
  const dataDir = Deno.env.get("DATA_DIR")?.trim() || ".data";
  try {
    const db = await openDatabase({ url, dataDir, migrate: false });
    try {
      console.log(`migrating ${db.kind} database ${db.url}`);
      const result = await migrate(db.sql, { log: (line) => console.log(line) });
      console.log(
        `${result.applied.length} applied, ${result.skipped.length} already applied`,
      );
    } finally {
      await db.close();
    }
    return 0;
  } catch (error) {
    console.error(`migrate: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main());
