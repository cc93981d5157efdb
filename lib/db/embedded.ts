/**
 * Embedded PostgreSQL for the single-process stack: PGlite (PostgreSQL
 * compiled to WebAssembly) with its data in a folder, served over the wire
 * protocol by pglite-socket so npm:postgres and the same SQL run on it.
 *
 * PGlite is ONE PostgreSQL session. Facts checked with PGlite 0.5.14 and
 * pglite-socket 0.2.17 (tests/db_test.ts checks the first and the lock):
 * - The server accepts one client connection (`maxConnections` 1). A second
 *   one is closed straight away without a protocol error, and postgres.js
 *   then retries forever: a query on a second client hangs. So one process
 *   owns the database and all its components share one client with `max: 1`
 *   (`openDatabase` in mod.ts does that).
 * - Raising `maxConnections` multiplexes connections onto the one session
 *   message by message: concurrent extended-protocol queries then break
 *   (`portal "" does not exist`), so it is not an option.
 * - Nothing stops a second process from opening the same folder and
 *   corrupting it, so {@link startEmbedded} holds an exclusive lock on
 *   `<dataDir>.lock` while it runs.
 * - `close()` must stop the server before closing PGlite (a client still
 *   attached would touch a closed database); PGlite's close checkpoints, so
 *   the folder is consistent afterwards.
 *
 * @module
 */
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { SkySentinelError } from "../errors.ts";

/** Options for {@link startEmbedded}. */
export interface EmbeddedOptions {
  /** Folder for the database files; created if missing, reused if it holds a database. */
  dataDir: string;
  /** TCP port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1: the embedded database is for this machine only. */
  host?: string;
}

/** A running embedded database. */
export interface Embedded {
  /** `postgres://postgres@host:port/postgres` (no password: PGlite does not check one). */
  url: string;
  /** The data folder. */
  dataDir: string;
  /** Stops the server and closes PGlite (flushing its files). Idempotent. */
  close(): Promise<void>;
}

/** Starts PGlite on `dataDir` and serves it on `host:port`. */
export async function startEmbedded(options: EmbeddedOptions): Promise<Embedded> {
  const dataDir = options.dataDir.replace(/(.)\/+$/, "$1");
  const host = options.host ?? "127.0.0.1";
  await Deno.mkdir(dataDir, { recursive: true });
  const lock = await lockDataDir(dataDir);

  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    db = await PGlite.create({ dataDir });
    server = new PGLiteSocketServer({ db, host, port: options.port ?? 0, maxConnections: 1 });
    await server.start();
  } catch (error) {
    await db?.close().catch(() => {});
    lock.close();
    throw new SkySentinelError(
      "upstream_unavailable",
      `cannot start the embedded database in ${dataDir}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  const port = Number(server.getServerConn().split(":").pop());
  const url = `postgres://postgres@${host.includes(":") ? `[${host}]` : host}:${port}/postgres`;

  let closing: Promise<void> | undefined;
  const started = { db, server };
  return {
    url,
    dataDir,
    close() {
      closing ??= (async () => {
        try {
          await started.server.stop();
          // stop() detaches clients without waiting for their clean-up; let it
          // run before the database goes away.
          await new Promise((resolve) => setTimeout(resolve, 0));
          await started.db.close();
        } finally {
          lock.close();
        }
      })();
      return closing;
    },
  };
}

/**
 * Takes an exclusive lock on `<dataDir>.lock` (released when the file is
 * closed or the process dies) and records who holds it, for the error the
 * next process gets.
 */
async function lockDataDir(dataDir: string): Promise<Deno.FsFile> {
  const path = `${dataDir}.lock`;
  const file = await Deno.open(path, { read: true, write: true, create: true });
  if (!(await file.tryLock(true))) {
    file.close();
    const holder = (await Deno.readTextFile(path).catch(() => "")).trim();
    throw new SkySentinelError(
      "upstream_unavailable",
      `the embedded database in ${dataDir} is in use by another process` +
        `${holder ? ` (${holder})` : ""}; stop it, or point DATABASE_URL at a PostgreSQL server`,
    );
  }
  await file.truncate(0);
  await file.write(new TextEncoder().encode(`pid ${Deno.pid}\n`));
  return file;
}
