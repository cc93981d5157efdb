/**
 * A client closed for rate limiting learns why (issue #14): it floods pings far past the
 * limit (50 messages/s, burst 20); it must receive an `error` frame with code
 * `rate_limited` and then a clean close 1008 (its close event says 1008, not 1006 from a
 * TCP reset), and a well-behaved client on the same hub is unaffected.
 */
import assert from "node:assert/strict";
import { connect, serveHub } from "./_hub_harness.ts";

Deno.test({
  name: "faults: a flooding client gets error rate_limited, then close 1008 (not a reset)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const served = serveHub();
    try {
      const calm = await connect(served.url);
      const flood = await connect(served.url);
      await flood.next("snapshot");
      for (let i = 0; i < 2_000; i++) flood.send({ type: "ping", id: i });
      const closed = await flood.closed;
      const errors = flood.received.filter((m) => m.type === "error");
      assert.ok(
        errors.some((m) => m.type === "error" && m.code === "rate_limited"),
        `an error frame rate_limited before the close (got ${errors.length} errors)`,
      );
      assert.equal(closed.code, 1008, `close code ${closed.code} (${closed.reason})`);
      calm.send({ type: "ping", id: 1 });
      assert.equal((await calm.next("pong")).type, "pong");
      calm.socket.close();
      await calm.closed;
    } finally {
      await served.close();
    }
  },
});
