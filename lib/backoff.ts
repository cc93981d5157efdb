/**
 * Reconnect delays: exponential backoff with jitter, one rule for every
 * client that reconnects (the browser's `/ws` connection in
 * lib/client/connection.ts, the relay's upstream in services/web/hub_sources.ts).
 * Jitter spreads the reconnects of many clients after a server restart, so
 * they do not all arrive in the same instant. Pure: the random source is a
 * parameter.
 *
 * @module
 */

export interface BackoffOptions {
  /** First retry delay, ms. Default 500. */
  initialMs?: number;
  /** Largest delay, ms. Default 30,000. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Fraction of random spread either side, 0..1. Default 0.25. */
  jitter?: number;
}

/** Delay before reconnect attempt `attempt` (0-based), ms; `random` in [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random = 0.5): number {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 30_000;
  const factor = options.factor ?? 2;
  const jitter = options.jitter ?? 0.25;
  const base = Math.min(max, initial * factor ** Math.max(0, attempt));
  return Math.round(Math.min(max, base * (1 - jitter + 2 * jitter * random)));
}

/** The attempt counter around {@link backoffDelay}: `next()` after a failure, `reset()` after a success. */
export class Backoff {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}, random: () => number = Math.random) {
    this.#options = options;
    this.#random = random;
  }

  /** Failed attempts since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt, ms; counts the attempt. */
  next(): number {
    return backoffDelay(this.#attempt++, this.#options, this.#random());
  }

  /** A working session: the next failure starts from the first delay again. */
  reset(): void {
    this.#attempt = 0;
  }
}
