/**
 * A relay that fell behind catches up in one tick: upstream frames that
 * queued on its socket while it was busy share one tick of the relay's hub
 * (services/web/hub_sources.ts), so its clients get one delta of the
 * relay's own seq with the combined changes, and the seq/resync rules hold
 * (no gap, the client ends with the upstream's state). A real upstream hub
 * and a real relay over sockets; nothing asserts on timing.
 */
import assert from "node:assert/strict";
import { BINARY_SUBPROTOCOL } from "../contracts/ws.ts";
import {
  Clock,
  connect,
  landed,
  Replayer,
  requantise,
  serveHub,
  serveRelay,
  type TestClient,
  waitFor,
} from "./_hub_harness.ts";

/** Upstream frames sent while the relay cannot run. */
const BURST = 8;

Deno.test("relay: upstream frames that queued up while it was busy share one tick", async () => {
  const clock = new Clock();
  // The upstream ticks only when told to (its own ticks are a minute apart).
  const upstream = serveHub({
    now: clock.now,
    config: { WS_DELTA_INTERVAL_MS: 60_000 },
    heartbeatMs: 120_000,
  });
  // The relay's own ticks are a minute apart too: every delta its client gets is a forwarded one.
  const { relayed, relay } = serveRelay(upstream.url, {
    hub: {
      now: clock.now,
      config: { WS_DELTA_INTERVAL_MS: 60_000, WS_STALE_THRESHOLD_SECONDS: 3600 },
      heartbeatMs: 120_000,
    },
  });
  const replay = new Replayer(upstream.hub, clock);
  let client: TestClient | undefined;
  try {
    replay.play(0);
    upstream.hub.tick();
    await waitFor(() => relayed.hub.stats().ready, "the relay to sync");
    client = await connect(relayed.url, [BINARY_SUBPROTOCOL]);
    await client.next("snapshot");
    // One frame at a time: each is forwarded as its own tick.
    const first = client.deltas;
    replay.play(1);
    upstream.hub.tick();
    await waitFor(() => client!.deltas > first, "the relayed delta of snapshot 1");
    await waitFor(
      () => client!.sees(upstream.hub.snapshot().map(requantise)),
      "the relayed view at 1",
    );
    // A burst: the upstream ticks BURST times in one go (this process runs nothing else
    // meanwhile), so its frames are all waiting on the relay's socket when it reads them.
    const before = client.deltas;
    let flights = replay.play(2);
    for (let k = 2; k < 2 + BURST; k++) {
      if (k > 2) flights = replay.play(k);
      upstream.hub.tick();
    }
    assert.ok(landed(upstream.hub, flights), "the upstream committed the last snapshot");
    await waitFor(
      () => client!.sees(upstream.hub.snapshot().map(requantise)),
      "the relayed view after the burst",
    );
    // Quiet for a moment: any tick still to come would arrive.
    await new Promise((r) => setTimeout(r, 300));
    const forwarded = client.deltas - before;
    assert.ok(
      forwarded >= 1 && forwarded < BURST / 2,
      `${BURST} queued upstream frames took ${forwarded} relay ticks`,
    );
    assert.deepEqual(client.violations, []);
    assert.ok(client.sees(upstream.hub.snapshot().map(requantise)));
  } finally {
    await relay.stop();
    await client?.close();
    await relayed.close();
    await upstream.close();
  }
});
