/**
 * Polled HTTP sources: readsb / dump1090-fa aircraft.json every second and
 * ADS-B Exchange v2 APIs at their rate limit (default one request per
 * second; a 429 waits for Retry-After). A failed poll backs off
 * exponentially up to the cap; a success returns to the interval.
 *
 * @module
 */
import type { Logger } from "../../../lib/log.ts";
import type { SourceMetrics } from "./metrics.ts";
import { type Backoff, sleep } from "./tcp.ts";

/** One HTTP request's timeout, ms. */
export const HTTP_TIMEOUT_MS = 5_000;

export interface HttpSourceOptions {
  label: string;
  url: string;
  /** Least time between two requests' starts, ms (the rate limit). */
  intervalMs: number;
  log: Logger;
  metrics: SourceMetrics;
  backoff: Backoff;
  /** Handles a parsed JSON body received at `atMs`; throws when the document is unusable. */
  handle(body: unknown, atMs: number, raw: string): void;
  /** Called with a body that is not JSON or that `handle` refused. */
  reject(reason: string, raw: string): void;
  fetch?: typeof fetch;
  now?: () => number;
}

/** Runs until `signal` aborts. Never rejects. */
export async function runHttpSource(
  signal: AbortSignal,
  options: HttpSourceOptions,
): Promise<void> {
  const { label, log, metrics } = options;
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  let failures = 0;
  while (!signal.aborted) {
    const started = now();
    let waitMs = options.intervalMs;
    try {
      const res = await doFetch(options.url, {
        signal: AbortSignal.any([signal, AbortSignal.timeout(HTTP_TIMEOUT_MS)]),
        headers: { accept: "application/json" },
      });
      const text = await res.text();
      if (res.status === 429) {
        const retry = Number(res.headers.get("retry-after"));
        waitMs = Number.isFinite(retry) && retry > 0 ? retry * 1000 : options.backoff.baseMs;
        throw new Error("429 rate limited");
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      metrics.message(label);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        metrics.decodeError(label);
        options.reject(`${label}: reply is not JSON`, text.slice(0, 4096));
        throw new Error("reply is not JSON");
      }
      try {
        options.handle(body, now(), text);
      } catch (error) {
        metrics.decodeError(label);
        options.reject(`${label}: ${(error as Error).message}`, text.slice(0, 4096));
        throw error;
      }
      metrics.connected.set({ source: label }, 1);
      failures = 0;
    } catch (error) {
      if (signal.aborted) break;
      metrics.connected.set({ source: label }, 0);
      metrics.reconnects.inc({ source: label });
      failures++;
      waitMs = Math.max(
        waitMs,
        Math.min(options.backoff.capMs, options.backoff.baseMs * 2 ** (failures - 1)),
      );
      log.warn("source poll failed", { source: label, error: String(error), retry_ms: waitMs });
    }
    // Rate limit: measured from the start of the request.
    await sleep(Math.max(0, started + waitMs - now()), signal);
  }
  metrics.connected.set({ source: label }, 0);
}
