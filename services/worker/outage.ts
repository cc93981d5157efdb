/**
 * The worker's view of PostgreSQL outages, kept apart from the batch
 * handler: whether the database is up, the once-per-outage log lines, the
 * `processing_db_up` gauge, a probe timer that notices the recovery when no
 * batch arrives, and the retry backoff of failed batches.
 *
 * @module
 */
import type { Gauge } from "prom-client";
import type { Logger } from "../../lib/log.ts";

/** How long a health or outage probe may take, ms. */
export const PROBE_TIMEOUT_MS = 2_000;

/** Options for {@link DatabaseOutage}. */
export interface DatabaseOutageOptions {
  /** Runs one cheap query (`SELECT 1`); rejects when the database does not answer. */
  ping(): Promise<unknown>;
  /** 1 while up, 0 during an outage. */
  gauge: Gauge;
  log: Logger;
  /** First retry delay after a failed batch, ms. Default 250. */
  initialMs?: number;
  /** Longest retry delay, ms. Default 30,000. */
  maxMs?: number;
  /** How often the database is probed during an outage, ms. Default 5,000. */
  probeIntervalMs?: number;
}

/** Database up/down state, its probe, and the backoff between batch retries. */
export class DatabaseOutage {
  #options: DatabaseOutageOptions;
  #initialMs: number;
  #maxMs: number;
  #probeIntervalMs: number;
  #up = true;
  #downSince = 0;
  #probeTimer?: ReturnType<typeof setTimeout>;
  #failures = 0;
  #stopped = false;

  constructor(options: DatabaseOutageOptions) {
    this.#options = options;
    this.#initialMs = options.initialMs ?? 250;
    this.#maxMs = options.maxMs ?? 30_000;
    this.#probeIntervalMs = options.probeIntervalMs ?? 5_000;
    options.gauge.set(1);
  }

  /** False from the first failed batch that found the database silent until it answers again. */
  get up(): boolean {
    return this.#up;
  }

  /** True when the database answers within {@link PROBE_TIMEOUT_MS}. */
  async probe(): Promise<boolean> {
    try {
      await withTimeout(this.#options.ping(), PROBE_TIMEOUT_MS);
      return true;
    } catch {
      return false;
    }
  }

  /** A batch committed (or a probe answered): the outage, if any, is over. */
  markUp(): void {
    if (this.#up) return;
    this.#up = true;
    this.#options.gauge.set(1);
    clearTimeout(this.#probeTimer);
    this.#options.log.info("PostgreSQL answers again; resuming", {
      down_s: Math.round((Date.now() - this.#downSince) / 1000),
    });
  }

  /** A batch failed and the database did not answer a probe: an outage starts (logged once). */
  markDown(error: unknown): void {
    if (!this.#up) return;
    this.#up = false;
    this.#downSince = Date.now();
    this.#options.gauge.set(0);
    this.#options.log.error(
      `PostgreSQL is unreachable: ${message(error)}; holding offsets and retrying ` +
        `with backoff up to ${this.#maxMs / 1000} s (logged once per outage)`,
    );
    // Without traffic no batch would notice the recovery: probe meanwhile.
    const tick = async () => {
      if (this.#up || this.#stopped) return;
      if (await this.probe()) this.markUp();
      else if (!this.#stopped) this.#probeTimer = setTimeout(tick, this.#probeIntervalMs);
    };
    this.#probeTimer = setTimeout(tick, this.#probeIntervalMs);
  }

  /** The wait before the next retry of a failed batch: doubles per failure up to `maxMs`. */
  nextDelayMs(): number {
    const delay = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#failures);
    this.#failures++;
    return delay;
  }

  /** A batch went through end to end: the next failure starts the backoff afresh. */
  succeeded(): void {
    this.#failures = 0;
  }

  /** Stops the probe timer. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#probeTimer);
  }
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Rejects after `ms` unless `promise` settles first. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
