/**
 * Fixes kafkajs 2.2.4's negative timer at its source.
 *
 * `RequestQueue.scheduleCheckPendingRequests` (src/network/requestQueue/index.js)
 * computes `this.throttledUntil - Date.now()` and passes it to `setTimeout`
 * even when nothing is throttled: `throttledUntil` starts at -1, so the delay
 * is about minus the current unix time in ms. Node clamps it to 1 ms, and
 * Deno's Node layer (like Node 23+) prints a `TimeoutNegativeWarning` for it
 * on the first request of every connection. The replacement below is the same
 * method with the delay clamped at 0 (the behaviour Node gave it anyway), so
 * only the warning goes. Loaded for its side effect by kafka.ts; the module is
 * the one kafkajs itself requires (same file, same CommonJS cache entry). It also stops the
 * check from rescheduling itself while no request is pending (see below).
 *
 * @module
 */
import RequestQueue from "kafkajs/src/network/requestQueue/index.js";

/** kafkajs' pending-request poll when a queue is busy, ms (CHECK_PENDING_REQUESTS_INTERVAL). */
const CHECK_PENDING_REQUESTS_INTERVAL = 10;

interface QueueInternals {
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  pending: unknown[];
  checkPendingRequests(): void;
}

const proto = (RequestQueue as unknown as { prototype: Record<string, unknown> }).prototype;
if (typeof proto.scheduleCheckPendingRequests !== "function") {
  // A kafkajs version with another layout: leave it alone rather than guess.
  console.warn("[kafka] kafkajs RequestQueue changed; the negative-timeout fix is not applied");
} else {
  proto.scheduleCheckPendingRequests = function (this: QueueInternals): void {
    if (this.throttleCheckTimeoutId) return;
    // Nothing waiting, nothing to check: kafkajs schedules the check anyway, and the check
    // schedules the next one, so every connection ran a timer every millisecond for as long
    // as it lived (an idle connection: about 870 checks and 65 ms of CPU per second here,
    // issue #11). A request queued later schedules the check itself (RequestQueue#push).
    if (this.pending.length === 0) return;
    const throttled = this.throttledUntil - Date.now();
    const scheduleAt = throttled > 0 ? throttled : CHECK_PENDING_REQUESTS_INTERVAL;
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, Math.max(0, scheduleAt));
  };
}
