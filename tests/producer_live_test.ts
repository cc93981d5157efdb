/**
 * Live mode against a local fake OpenSky serving real recorded replies,
 * publishing to the MemoryBus. Intervals are tens of milliseconds; every
 * wait is bounded by `waitFor`.
 */
import assert from "node:assert/strict";
import { DeadLetter, FlightStateEnvelope, FlightUpdateEnvelope } from "../contracts/mod.ts";
import { MemoryBus } from "../lib/bus/memory.ts";
import { parseProducerConfig } from "../lib/config.ts";
import { createLogger } from "../lib/log.ts";
import { backoffDelayMs, nextTick } from "../services/producer/poller.ts";
import { serveMetrics } from "../services/metrics_http.ts";
import { type ProducerHandle, startProducer } from "../services/producer/mod.ts";
import {
  CapturingBus,
  FakeOpenSky,
  type FakeOpenSkyOptions,
  realReplies,
  replyWithMalformedRowsDerived,
  waitFor,
} from "./_fake_opensky.ts";

const BBOX = "45.82,5.96,47.81,10.49";

interface Harness {
  fake: FakeOpenSky;
  bus: CapturingBus;
  producer: ProducerHandle;
  logs: string[];
  [Symbol.asyncDispose](): Promise<void>;
}

async function harness(
  options: {
    fake?: FakeOpenSkyOptions;
    env?: Record<string, string>;
    credentials?: boolean;
  } = {},
): Promise<Harness> {
  const fake = await FakeOpenSky.start(options.fake);
  const bus = new CapturingBus(new MemoryBus());
  const logs: string[] = [];
  const config = parseProducerConfig({
    OPENSKY_MODE: "live",
    OPENSKY_API_URL: fake.apiUrl,
    OPENSKY_AUTH_URL: fake.authUrl,
    OPENSKY_BBOX: BBOX,
    POLL_INTERVAL_SECONDS: "0.02",
    OPENSKY_TIMEOUT_MS: "300",
    ...(options.credentials === false
      ? {}
      : { OPENSKY_CLIENT_ID: "sky", OPENSKY_CLIENT_SECRET: "s3cr3t-value" }),
    ...options.env,
  });
  const producer = await startProducer({
    config,
    bus,
    log: createLogger({ level: "debug", name: "producer", write: (line) => logs.push(line) }),
    backoff: { baseMs: 40, capMs: 160 },
    random: () => 0, // the lower bound of the jitter: waits are exactly half the backoff
  });
  return {
    fake,
    bus,
    producer,
    logs,
    async [Symbol.asyncDispose]() {
      await producer.stop();
      await bus.close();
      await fake.close();
    },
  };
}

const okPolls = (h: Harness) =>
  h.producer.metrics.value(h.producer.metrics.polls, { status: "ok" });

async function waitForOkPolls(h: Harness, n: number): Promise<void> {
  await waitFor(async () => (await okPolls(h)) >= n, { what: `${n} successful polls` });
}

Deno.test("live: each poll is one bus.send of valid flight_state + flight_update keyed by icao24", async () => {
  await using h = await harness();
  await waitForOkPolls(h, 3);
  await h.producer.stop();
  const replies = await realReplies();
  const sends = h.bus.sends.filter((s) => s.some((t) => t.topic === h.producer.topics.state));
  assert.ok(sends.length >= 3);
  for (const [i, send] of sends.entries()) {
    assert.deepEqual(send.map((t) => t.topic), [
      h.producer.topics.state,
      h.producer.topics.updates,
    ]);
    const rows = JSON.parse(replies[i]!).states as unknown[][];
    const [state, updates] = send;
    assert.equal(state!.messages.length, rows.length);
    assert.equal(updates!.messages.length, rows.length);
    for (const [j, m] of state!.messages.entries()) {
      const env = FlightStateEnvelope.parse(JSON.parse(m.value as string));
      assert.equal(m.key, String(rows[j]![0]).toLowerCase());
      assert.equal(env.payload.icao24, m.key);
      assert.deepEqual(env.source, {
        provider: "opensky",
        mode: "live",
        bbox: [45.82, 5.96, 47.81, 10.49],
        poll_interval_s: 0.02,
      });
      FlightUpdateEnvelope.parse(JSON.parse(updates!.messages[j]!.value as string));
    }
  }
  const q = h.fake.stateRequests[0]!.query;
  assert.deepEqual(q, {
    lamin: "45.82",
    lomin: "5.96",
    lamax: "47.81",
    lomax: "10.49",
    extended: "1",
  });
  const m = h.producer.metrics;
  assert.equal(
    await m.value(m.published, { topic: h.producer.topics.state }),
    h.bus.messages(h.producer.topics.state).length,
  );
  assert.ok((await m.value(m.creditsRemaining)) < 4000);
  assert.ok((await m.value(m.currentFlights)) > 0);
});

Deno.test("live: OAuth2 token is fetched with client credentials and renewed before expires_in", async () => {
  // Tokens of 1 s: the fake answers 401 to an expired one, so a late renewal would show.
  await using h = await harness({ fake: { tokenLifetimeS: 1 } });
  await waitFor(() => h.fake.tokenRequests.length >= 2, { what: "a renewed token" });
  await waitForOkPolls(h, (await okPolls(h)) + 3);
  await h.producer.stop();
  assert.deepEqual(h.fake.tokenRequests[0], {
    grantType: "client_credentials",
    clientId: "sky",
    ok: true,
  });
  const polls = h.fake.stateRequests;
  assert.ok(polls.every((r) => r.authorization?.startsWith("Bearer token-")));
  assert.deepEqual(
    polls.filter((r) => r.status === 401),
    [],
    "no poll went out with an expired token",
  );
  assert.ok(new Set(polls.map((r) => r.authorization)).size >= 2);
  assert.ok(!h.logs.some((l) => l.includes("s3cr3t-value")), "the client secret is never logged");
});

Deno.test("live: a 401 fetches a new token once and retries the poll once", async () => {
  await using h = await harness({ fake: { script: [{ kind: "unauthorized" }] } });
  await waitForOkPolls(h, 2);
  await h.producer.stop();
  const [first, retry] = h.fake.stateRequests;
  assert.equal(first!.status, 401);
  assert.equal(retry!.status, 200);
  assert.notEqual(first!.authorization, retry!.authorization);
  assert.equal(h.fake.tokenRequests.length, 2);
  const m = h.producer.metrics;
  assert.equal(await m.value(m.apiErrors, { type: "auth" }), 0);
});

Deno.test("live: a second 401 after the retry counts as an auth error; polling goes on", async () => {
  await using h = await harness({
    fake: { script: [{ kind: "unauthorized" }, { kind: "unauthorized" }] },
  });
  await waitForOkPolls(h, 1);
  await h.producer.stop();
  const m = h.producer.metrics;
  assert.equal(await m.value(m.apiErrors, { type: "auth" }), 1);
  assert.equal(await m.value(m.polls, { status: "error" }), 1);
  assert.deepEqual(h.fake.stateRequests.slice(0, 3).map((r) => r.status), [401, 401, 200]);
});

Deno.test("live: without credentials polls are anonymous and the limits are logged", async () => {
  await using h = await harness({ credentials: false });
  await waitForOkPolls(h, 2);
  await h.producer.stop();
  assert.equal(h.fake.tokenRequests.length, 0);
  assert.ok(h.fake.stateRequests.every((r) => r.authorization === null));
  const line = h.logs.find((l) => l.includes("anonymously"));
  assert.ok(line, "a log line about anonymous mode");
  assert.match(line, /400 credits per UTC day/);
  assert.match(line, /10 s time resolution/);
  // POLL_INTERVAL_SECONDS=0.02 cannot fit 400 credits a day: say which interval would.
  assert.ok(
    h.logs.some((l) => /exhaust the daily OpenSky budget.*POLL_INTERVAL_SECONDS=216/.test(l)),
  );
});

Deno.test("live: 429 waits X-Rate-Limit-Retry-After-Seconds, then polling continues", async () => {
  await using h = await harness({
    fake: {
      script: [{
        kind: "status",
        status: 429,
        headers: { "x-rate-limit-retry-after-seconds": "0.3", "x-rate-limit-remaining": "0" },
      }],
    },
  });
  await waitForOkPolls(h, 2);
  await h.producer.stop();
  const [limited, next] = h.fake.stateRequests;
  assert.equal(limited!.status, 429);
  assert.equal(next!.status, 200);
  assert.ok(next!.atMs - limited!.atMs >= 300, `waited only ${next!.atMs - limited!.atMs} ms`);
  const m = h.producer.metrics;
  assert.equal(await m.value(m.polls, { status: "rate_limited" }), 1);
  assert.equal(await m.value(m.apiErrors, { type: "rate_limited" }), 1);
  assert.ok(h.logs.some((l) => l.includes("429")));
});

Deno.test("live: 5xx backs off exponentially, then recovers", async () => {
  await using h = await harness({
    fake: {
      script: [
        { kind: "status", status: 500 },
        { kind: "status", status: 503 },
        { kind: "status", status: 502 },
      ],
    },
  });
  await waitForOkPolls(h, 1);
  await h.producer.stop();
  const r = h.fake.stateRequests;
  assert.deepEqual(r.slice(0, 4).map((x) => x.status), [500, 503, 502, 200]);
  // random() = 0: waits of at least 20, 40, 80 ms (half of 40, 80, 160).
  assert.ok(r[1]!.atMs - r[0]!.atMs >= 20);
  assert.ok(r[2]!.atMs - r[1]!.atMs >= 40);
  assert.ok(r[3]!.atMs - r[2]!.atMs >= 80);
  const m = h.producer.metrics;
  assert.equal(await m.value(m.apiErrors, { type: "http_5xx" }), 3);
  assert.equal(await m.value(m.polls, { status: "error" }), 3);
  assert.ok(h.logs.some((l) => l.includes("recovered")));
});

Deno.test("live: a request slower than OPENSKY_TIMEOUT_MS times out and polling goes on", async () => {
  await using h = await harness({ fake: { script: [{ kind: "slow", ms: 5_000 }] } });
  await waitForOkPolls(h, 1);
  await h.producer.stop();
  const m = h.producer.metrics;
  assert.equal(await m.value(m.apiErrors, { type: "timeout" }), 1);
  assert.ok(h.logs.some((l) => /did not answer within 300 ms/.test(l)));
});

Deno.test("live: rows broken on purpose go to the dead-letter topic with reasons; the rest are published", async () => {
  const [first] = await realReplies();
  const derived = replyWithMalformedRowsDerived(first!);
  await using h = await harness({ fake: { script: [{ kind: "reply", body: derived.body }] } });
  await waitForOkPolls(h, 1);
  await h.producer.stop();
  const firstSend = h.bus.sends.find((s) => s.some((t) => t.topic === h.producer.topics.state))!;
  assert.equal(firstSend[0]!.messages.length, derived.intact);
  const dead = h.bus.messages(h.producer.topics.deadletter).map((m) =>
    DeadLetter.parse(JSON.parse(m.value))
  );
  assert.equal(dead.length, derived.broken);
  assert.ok(dead.every((d) => d.source === "producer" && d.topic === null));
  assert.match(dead[0]!.reason, /row 0: state vector/);
  assert.match(dead[1]!.reason, /row 1: state vector: no position/);
  assert.equal(dead[1]!.key, derived.brokenIcao24[1]);
  assert.equal(JSON.parse(dead[3]!.raw), "not a state vector");
  const m = h.producer.metrics;
  assert.equal(await m.value(m.deadletter), derived.broken);
});

Deno.test("live: a reply that is not JSON is counted, logged and dead-lettered; polling goes on", async () => {
  await using h = await harness({
    fake: { script: [{ kind: "reply", body: "<html><body>502 Bad Gateway</body></html>" }] },
  });
  await waitForOkPolls(h, 2);
  await h.producer.stop();
  const m = h.producer.metrics;
  assert.equal(await m.value(m.apiErrors, { type: "bad_json" }), 1);
  assert.ok(h.logs.some((l) => l.includes("not JSON")));
  const dead = h.bus.messages(h.producer.topics.deadletter).map((x) =>
    DeadLetter.parse(JSON.parse(x.value))
  );
  assert.equal(dead.length, 1);
  assert.match(dead[0]!.raw, /Bad Gateway/);
});

Deno.test("live: /metrics and /healthz; stop() is idempotent and ends `done`", async () => {
  await using h = await harness();
  await waitForOkPolls(h, 1);
  let port = 0;
  const server = serveMetrics({
    port: 0,
    hostname: "127.0.0.1",
    registry: h.producer.metrics.registry,
    health: () => h.producer.health(),
    onListen: (addr) => port = addr.port,
  });
  try {
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (
      const name of [
        "producer_polls_total",
        "producer_poll_latency_seconds_bucket",
        "producer_flights_published_total",
        "producer_api_errors_total",
        "producer_deadletter_total",
        "producer_credits_remaining",
        "producer_current_flights",
      ]
    ) assert.ok(metrics.includes(name), name);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).status, "ok");
    await Promise.all([h.producer.stop(), h.producer.stop()]);
    await h.producer.done;
    const down = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(down.status, 503);
    await down.body?.cancel();
    const polls = h.fake.stateRequests.length;
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(h.fake.stateRequests.length, polls, "no poll after stop");
  } finally {
    await server.shutdown();
  }
});

Deno.test("poller: fixed-rate grid skips missed ticks; backoff doubles up to the cap", () => {
  const grid = { startMs: 0, intervalMs: 100 };
  assert.equal(nextTick(0, { ...grid, earliestMs: 5 }), 1); // fast poll: next tick
  assert.equal(nextTick(1, { ...grid, earliestMs: 250 }), 3); // overran: skip tick 2, no overlap
  assert.equal(nextTick(3, { ...grid, earliestMs: 300 }), 4);
  assert.equal(nextTick(4, { ...grid, earliestMs: 1000 }), 10); // after a backoff, back on the grid
  const b = { baseMs: 1000, capMs: 8000 };
  assert.equal(backoffDelayMs(1, { ...b, random: () => 0 }), 500);
  assert.equal(backoffDelayMs(2, { ...b, random: () => 0 }), 1000);
  assert.equal(backoffDelayMs(3, { ...b, random: () => 1 }), 4000);
  assert.equal(backoffDelayMs(10, { ...b, random: () => 1 }), 8000);
  assert.equal(backoffDelayMs(10, { ...b, random: () => 0 }), 4000);
});
