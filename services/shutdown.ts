/**
 * Graceful shutdown for the service entry points: on SIGINT/SIGTERM run the
 * steps in order (stop intake, drain, commit, close), once, under a hard
 * deadline after which the process exits anyway.
 *
 * @module
 */

/** A named step: `["database", () => db.close()]`. */
export type ShutdownStep = readonly [name: string, run: () => unknown];

export interface ShutdownOptions {
  /** Exit after this many ms even if a step hangs (a broker that never answers). */
  deadlineMs?: number;
  log?: (line: string) => void;
}

export interface Shutdown {
  /** Runs the steps once (idempotent); resolves with the exit code: 0, or 1 when a step failed. */
  shutdown(why: string): Promise<number>;
  /** Resolves with the exit code once a shutdown, by signal or by call, has finished. */
  readonly done: Promise<number>;
}

/**
 * Installs SIGINT/SIGTERM listeners at once that run `steps`: one function, or named steps
 * run in order, each even when an earlier one failed (the exit code is then 1).
 */
export function onShutdown(
  steps: (() => Promise<void>) | readonly ShutdownStep[],
  options: ShutdownOptions = {},
): Shutdown {
  const deadlineMs = options.deadlineMs ?? 10_000;
  const log = options.log ?? ((line: string) => console.error(line));
  let running: Promise<number> | undefined;
  let finished: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => finished = resolve);
  const shutdown = (why: string) => {
    running ??= (async () => {
      log(`shutting down (${why})`);
      const deadline = setTimeout(() => {
        log(`shutdown took longer than ${deadlineMs} ms; exiting`);
        Deno.exit(1);
      }, deadlineMs);
      try {
        if (typeof steps === "function") {
          await steps();
          return 0;
        }
        let code = 0;
        for (const [name, run] of steps) {
          try {
            await run();
          } catch (error) {
            code = 1;
            log(
              `shutdown of the ${name} failed: ${error instanceof Error ? error.message : error}`,
            );
          }
        }
        return code;
      } catch (error) {
        log(`shutdown error: ${error instanceof Error ? error.message : error}`);
        return 1;
      } finally {
        clearTimeout(deadline);
      }
    })();
    running.then(finished);
    return running;
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, () => void shutdown(signal));
    } catch {
      // SIGTERM cannot be listened to on Windows; Ctrl+C still works.
    }
  }
  return { shutdown, done };
}
