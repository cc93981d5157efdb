/**
 * Keeps a known npm:postgres 3.4.9 defect from killing the process when
 * PostgreSQL drops a connection: a write queued with `setImmediate` runs
 * after the connection nulled its socket and throws
 * `TypeError: Cannot read properties of null (reading 'write')` from the
 * timer, where no caller can catch it (porsager/postgres#1154, #1208, fix
 * proposed in #1209; denoland/deno#34667). By then the connection has
 * already rejected its queries with CONNECTION_CLOSED, so the dropped write
 * is moot and the caller's own retry path takes over. Installed by
 * `connect()`, so every program using lib/db has it.
 *
 * Only that exact error is swallowed (logged once per process); everything
 * else stays fatal. Remove when the client library carries the fix.
 *
 * @module
 */

let installed = false;

/** Installs the guard once per process; later calls do nothing. */
export function guardPostgresSocketRace(warn: (line: string) => void = console.warn): void {
  if (installed) return;
  installed = true;
  let reported = false;
  globalThis.addEventListener("error", (event) => {
    if (!isSocketRace(event.error)) return;
    event.preventDefault();
    if (!reported) {
      reported = true;
      warn(
        "[postgres] ignored a write on a connection the server had closed " +
          "(postgres.js nextWrite race, porsager/postgres#1208)",
      );
    }
  });
}

/** The defect's signature: a TypeError from postgres.js' `nextWrite` on a null socket. */
export function isSocketRace(error: unknown): boolean {
  return error instanceof TypeError &&
    error.message === "Cannot read properties of null (reading 'write')" &&
    /nextWrite[^\n]*postgres[^\n]*connection\.js/.test(error.stack ?? "");
}
