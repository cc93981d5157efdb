/**
 * A TCP source (Beast or SBS): connects, hands every chunk to the parser,
 * and on a refused connection, a dropped one or a stalled one (nothing for
 * {@link IDLE_TIMEOUT_MS}) reconnects with exponential backoff and jitter.
 *
 * @module
 */
import type { Logger } from "../../../lib/log.ts";
import type { SourceMetrics } from "./metrics.ts";

/** A connection that delivers nothing this long is treated as dead, ms. */
export const IDLE_TIMEOUT_MS = 60_000;

export interface Backoff {
  baseMs: number;
  capMs: number;
}

export interface TcpSourceOptions {
  label: string;
  host: string;
  port: number;
  log: Logger;
  metrics: SourceMetrics;
  backoff: Backoff;
  /** A fresh parser per connection: called with each chunk and its arrival time. */
  connection(): (chunk: Uint8Array, atMs: number) => void;
  now?: () => number;
  random?: () => number;
}

/** Runs until `signal` aborts. Never rejects. */
export async function runTcpSource(signal: AbortSignal, options: TcpSourceOptions): Promise<void> {
  const { label, log, metrics } = options;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  let failures = 0;
  while (!signal.aborted) {
    let conn: Deno.TcpConn | null = null;
    let gotData = false;
    try {
      conn = await abortable(Deno.connect({ hostname: options.host, port: options.port }), signal);
      metrics.connected.set({ source: label }, 1);
      log.info("source connected", { source: label });
      const feed = options.connection();
      const buf = new Uint8Array(64 * 1024);
      const c = conn;
      const onAbort = () => c.close();
      signal.addEventListener("abort", onAbort, { once: true });
      try {
        while (!signal.aborted) {
          const n = await withIdleTimeout(c.read(buf), IDLE_TIMEOUT_MS);
          if (n === null) break; // the receiver closed the connection
          if (n === 0) continue;
          gotData = true;
          failures = 0;
          feed(buf.slice(0, n), now());
        }
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
      if (!signal.aborted) log.warn("source closed the connection", { source: label });
    } catch (error) {
      if (signal.aborted) break;
      log.warn("source connection failed", { source: label, error: String(error) });
    } finally {
      metrics.connected.set({ source: label }, 0);
      try {
        conn?.close();
      } catch {
        // already closed
      }
    }
    if (signal.aborted) break;
    metrics.reconnects.inc({ source: label });
    if (!gotData) failures++;
    const delay = Math.min(
      options.backoff.capMs,
      options.backoff.baseMs * 2 ** Math.max(0, failures - 1),
    );
    await sleep(delay * (0.5 + random() / 2), signal);
  }
}

function abortable<T extends { close(): void }>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new DOMException("aborted", "AbortError"));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      reject(new DOMException("aborted", "AbortError"));
      p.then((c) => c.close(), () => {});
    };
    signal.addEventListener("abort", onAbort, { once: true });
    p.then((v) => {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) v.close();
      else resolve(v);
    }, (e) => {
      signal.removeEventListener("abort", onAbort);
      reject(e);
    });
  });
}

function withIdleTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no data for ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
