/**
 * Waiting: the one `sleep` of the code base (bus retries, replay pacing, the
 * worker's outage back-off).
 *
 * @module
 */

/** Options of {@link sleep}. */
export interface SleepOptions {
  /** Called every `heartbeatMs` while sleeping (a consumer group's heartbeat); errors ignored. */
  onHeartbeat?: () => Promise<unknown> | unknown;
  /** Period of `onHeartbeat`, ms. Default 3,000. */
  heartbeatMs?: number;
}

/** Resolves after `ms`, or at once when `signal` fires (never rejects). */
export function sleep(ms: number, signal?: AbortSignal, options: SleepOptions = {}): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  if (ms <= 0) return new Promise((resolve) => setTimeout(resolve, 0));
  const { onHeartbeat } = options;
  return new Promise((resolve) => {
    const beat = onHeartbeat
      ? setInterval(async () => {
        try {
          await onHeartbeat();
        } catch {
          // A missed heartbeat is the group's business; the sleep goes on.
        }
      }, options.heartbeatMs ?? 3_000)
      : undefined;
    const done = () => {
      clearTimeout(timer);
      clearInterval(beat);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
