/**
 * The producer with receiver sources, end to end over real sockets: local
 * Beast, SBS and aircraft.json servers (tests/_receiver_feeds.ts) play data
 * DERIVED from real 1 s OpenSky tracks in fixtures/ at their real pace; the
 * Beast receiver drops the connection every 4 s, the SBS one sends garbage
 * between its lines, and the aircraft.json one flags an emergency (a field
 * the recording lacks: set here, so the test says "derived").
 * On the MemoryBus, and on real Kafka (skipped without it outside CI).
 */
import assert from "node:assert/strict";
import { DeadLetter, FlightStateEnvelope } from "../contracts/mod.ts";
import { openBus } from "../lib/bus/mod.ts";
import { MemoryBus } from "../lib/bus/memory.ts";
import type { Bus } from "../lib/bus/types.ts";
import { parseProducerConfig } from "../lib/config.ts";
import { haversineM } from "../lib/geo/sphere.ts";
import { silentLogger } from "../lib/log.ts";
import { startProducer } from "../services/producer/mod.ts";
import { serveMetrics } from "../services/metrics_http.ts";
import { freePort } from "../scripts/private_services.ts";
import { CapturingBus, FakeOpenSky, realReplies, waitFor } from "./_fake_opensky.ts";
import {
  aircraftJsonFor,
  beastChunks,
  derivedTrack,
  sbsChunks,
  startJsonServer,
  startTcpFeed,
} from "./_receiver_feeds.ts";
import { kafkaBrokers, skipWithoutKafka } from "./_services.ts";

const ezy = await derivedTrack(undefined, { limit: 12 });
const ryr = await derivedTrack("opensky_sv_RYR2RG_cruise-FL370_2022-02-02_1s.jsonl", { limit: 12 });
const edw = await derivedTrack("opensky_sv_EDW24_LSZH-taxi_2024-04-06_1s.jsonl", { limit: 1 });

function nearestTrackPointM(track: { position: { lat: number; lon: number } }[], p: {
  lat: number;
  lon: number;
}): number {
  return Math.min(...track.map((f) => haversineM(f.position, p)));
}

async function runWithFeeds(
  bus: Bus,
  topics?: { state: string; updates: string; deadletter: string },
) {
  const beast = startTcpFeed({ chunks: beastChunks(ezy), intervalMs: 1000, dropAfter: 4 });
  const garbage = new TextEncoder().encode("\u0000\u00ffNOT,AN,SBS,LINE\r\n");
  const sbs = startTcpFeed({ chunks: sbsChunks(ryr, Date.now()), intervalMs: 1000, garbage });
  const json = startJsonServer(() =>
    aircraftJsonFor(edw, Date.now(), () => ({ emergency: "nordo", squawk: "7600" }))
  );
  const sources = [
    `beast://127.0.0.1:${beast.port}`,
    `sbs://127.0.0.1:${sbs.port}`,
    `${json.url}/data/aircraft.json`,
  ];
  const config = parseProducerConfig({
    SOURCES: sources.join(","),
    RECEIVER_LAT: "43.629",
    RECEIVER_LON: "1.364",
  });
  assert.equal(config.mode, "live");
  const producer = await startProducer({
    config,
    bus,
    log: silentLogger,
    topics,
    backoff: { baseMs: 100, capMs: 400 },
  });
  return { producer, beast, sbs, json, sources };
}

Deno.test({
  name:
    "producer receivers: Beast (dropping), SBS (garbage) and aircraft.json at once, one flight each",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const bus = new CapturingBus(new MemoryBus());
    const { producer, beast, sbs, json, sources } = await runWithFeeds(bus);
    try {
      const flights = () =>
        bus.messages("flights.state").map((m) =>
          FlightStateEnvelope.parse(JSON.parse(m.value)).payload
        );
      await waitFor(
        () =>
          beast.sent >= ezy.length && sbs.sent >= ryr.length &&
          flights().some((f) => f.emergency === "nordo"),
        { timeoutMs: 40_000, what: "both tracks played" },
      );
      await new Promise((r) => setTimeout(r, 500)); // one more flush
      const all = flights();
      const byIcao = (icao: string) => all.filter((f) => f.icao24 === icao);
      const fromBeast = byIcao(ezy[0]!.icao24);
      const fromSbs = byIcao(ryr[0]!.icao24);
      const fromJson = byIcao(edw[0]!.icao24);
      // Beast: a fix after the first even/odd pair of each connection, all on the real track.
      assert.ok(fromBeast.length >= ezy.length - 4, `beast flights: ${fromBeast.length}`);
      for (const f of fromBeast) {
        assert.equal(f.source, "beast");
        assert.ok(nearestTrackPointM(ezy, f.position) < 10, JSON.stringify(f.position));
      }
      assert.equal(fromBeast.at(-1)!.callsign, "EZY158T");
      assert.ok(beast.connections >= 3, `beast connections: ${beast.connections}`);
      // SBS: every point, within SBS's 6-decimal rounding.
      assert.ok(fromSbs.length >= ryr.length - 1, `sbs flights: ${fromSbs.length}`);
      for (const f of fromSbs) {
        assert.equal(f.source, "sbs");
        assert.ok(nearestTrackPointM(ryr, f.position) < 1);
      }
      // aircraft.json: the emergency field, on-ground taxi data.
      const j = fromJson.at(-1)!;
      assert.equal(j.source, "aircraft_json");
      assert.equal(j.emergency, "nordo");
      assert.equal(j.squawk, "7600");
      // Positions never go back in time per aircraft.
      for (const list of [fromBeast, fromSbs]) {
        for (let i = 1; i < list.length; i++) {
          assert.ok(list[i]!.time_position_unix >= list[i - 1]!.time_position_unix);
        }
      }
      // Garbage was dead-lettered with its source.
      const dead = bus.messages("flights.deadletter").map((m) =>
        DeadLetter.parse(JSON.parse(m.value))
      );
      assert.ok(dead.some((d) => d.reason.startsWith(sources[1]!)), "SBS garbage dead-lettered");
      // Metrics and health per source.
      const text = await producer.metrics.registry.metrics();
      const value = (name: string, source: string) => {
        const m = new RegExp(
          `^${name}\\{source="${source.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}"\\} (\\S+)$`,
          "m",
        )
          .exec(text);
        return m ? Number(m[1]) : NaN;
      };
      assert.ok(value("producer_source_reconnects_total", sources[0]!) >= 2);
      assert.ok(value("producer_source_messages_total", sources[0]!) > ezy.length);
      assert.ok(value("producer_source_decode_errors_total", sources[1]!) >= ryr.length);
      assert.equal(value("producer_source_aircraft", sources[2]!), 1);
      assert.ok(value("producer_source_last_message_age_seconds", sources[2]!) < 30);
      const health = producer.health();
      assert.equal(health.ok, true, health.reason);
      assert.match(health.reason, /messages, 1 aircraft, 0 decode errors/);
    } finally {
      await producer.stop();
      await Promise.all([beast.close(), sbs.close(), json.close()]);
      await bus.close();
    }
  },
});

Deno.test({
  name: "producer receivers on real Kafka: a derived Beast track reaches flights.state",
  ignore: skipWithoutKafka(),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const suffix = crypto.randomUUID().slice(0, 8);
    const topics = {
      state: `test.receivers.${suffix}.state`,
      updates: `test.receivers.${suffix}.updates`,
      deadletter: `test.receivers.${suffix}.deadletter`,
    };
    const bus = await openBus({ brokers: kafkaBrokers()!, clientId: `receivers-${suffix}` });
    const { producer, beast, sbs, json } = await runWithFeeds(bus, topics);
    const seen: { lat: number; lon: number; source?: string }[] = [];
    const sub = await bus.subscribe({
      groupId: `receivers-test-${suffix}`,
      topics: [topics.state],
      fromBeginning: true,
      eachBatch: async (batch) => {
        for (const m of batch.messages) {
          const env = FlightStateEnvelope.parse(JSON.parse(new TextDecoder().decode(m.value)));
          if (env.payload.icao24 === ezy[0]!.icao24) {
            seen.push({ ...env.payload.position, source: env.payload.source });
          }
        }
        await Promise.resolve();
      },
    });
    try {
      await waitFor(() => seen.length >= 4, { timeoutMs: 60_000, what: "beast flights on Kafka" });
      for (const p of seen) {
        assert.equal(p.source, "beast");
        assert.ok(nearestTrackPointM(ezy, p) < 10);
      }
    } finally {
      await sub.stop();
      await producer.stop();
      await Promise.all([beast.close(), sbs.close(), json.close()]);
      await bus.close();
    }
  },
});

Deno.test({
  name: "producer receivers: record mode writes receiver flights in the replayable format",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "skysentinel-receivers-record-" });
    const sbs = startTcpFeed({ chunks: sbsChunks(ryr.slice(0, 6), Date.now()), intervalMs: 1000 });
    // A second kind of source in the same recording, with a declared emergency (derived).
    const json = startJsonServer(() =>
      aircraftJsonFor(edw, Date.now(), () => ({ emergency: "lifeguard" }))
    );
    const live = new CapturingBus(new MemoryBus());
    try {
      const producer = await startProducer({
        config: parseProducerConfig({
          SOURCES: `sbs://127.0.0.1:${sbs.port},${json.url}/data/aircraft.json`,
          OPENSKY_MODE: "record",
          RECORD_DIR: dir,
        }),
        bus: live,
        log: silentLogger,
      });
      assert.equal(producer.mode, "record");
      await waitFor(
        () =>
          live.messages("flights.state").filter((m) => m.key === ryr[0]!.icao24).length >= 6 &&
          live.messages("flights.state").some((m) => m.key === edw[0]!.icao24),
        { timeoutMs: 30_000 },
      );
      await producer.stop();
      const path = producer.recordingPath!;
      // Play the recording back like any OpenSky recording.
      const replayed = new CapturingBus(new MemoryBus());
      const replay = await startProducer({
        config: parseProducerConfig({
          OPENSKY_MODE: "replay",
          REPLAY_FILES: path,
          REPLAY_SPEED: "0",
          REPLAY_LOOP: "false",
          REPLAY_KEEP_TIMES: "true",
        }),
        bus: replayed,
        log: silentLogger,
        progress: false,
      });
      await replay.done;
      await replay.stop();
      const payloads = (bus: CapturingBus) =>
        bus.messages("flights.state").map((m) =>
          FlightStateEnvelope.parse(JSON.parse(m.value)).payload
        );
      assert.deepEqual(
        payloads(replayed).map((f) => f.position),
        payloads(live).map((f) => f.position),
      );
      // Both sources' aircraft, and the emergency a state vector has no column for.
      const back = payloads(replayed);
      assert.ok(back.some((f) => f.icao24 === ryr[0]!.icao24));
      const edwBack = back.filter((f) => f.icao24 === edw[0]!.icao24);
      assert.ok(edwBack.length > 0);
      assert.ok(edwBack.every((f) => f.emergency === "lifeguard" && f.source === "replay"));
      assert.ok(payloads(live).every((f) => f.source === "sbs" || f.source === "aircraft_json"));
      await replayed.close();
    } finally {
      await json.close();
      await sbs.close();
      await live.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "producer receivers: an ADS-B Exchange v2 source keeps its rate limit and waits out a 429",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    let calls = 0;
    const started = Date.now();
    const v2 = startJsonServer(
      () => ({
        ac: aircraftJsonFor(ryr.slice(0, 1), Date.now()).aircraft,
        now: Date.now(),
        total: 1,
      }),
      { status: () => (++calls === 2 ? 429 : 200) },
    );
    const bus = new CapturingBus(new MemoryBus());
    const label = `v2+${v2.url}/v2/point/47.4/8.5/50?rate=2`;
    const producer = await startProducer({
      config: parseProducerConfig({ SOURCES: label }),
      bus,
      log: silentLogger,
      backoff: { baseMs: 100, capMs: 400 },
    });
    try {
      await waitFor(() => v2.requests() >= 5, { timeoutMs: 30_000, what: "five v2 requests" });
      const elapsedS = (Date.now() - started) / 1000;
      // 2 per second at most, and the 429's Retry-After of 1 s on top.
      assert.ok(v2.requests() <= 2 * elapsedS + 1, `${v2.requests()} requests in ${elapsedS} s`);
      assert.ok(elapsedS >= 2.4, `the 429 was not waited out (${elapsedS} s)`);
      const f = FlightStateEnvelope.parse(JSON.parse(bus.messages("flights.state").at(-1)!.value));
      assert.equal(f.payload.source, "adsbx_v2");
      assert.equal(f.source.provider, "adsbx_v2");
      const text = await producer.metrics.registry.metrics();
      assert.match(text, /producer_source_reconnects_total\{source="v2\+http:[^"]+"\} 1/);
    } finally {
      await producer.stop();
      await v2.close();
      await bus.close();
    }
  },
});

Deno.test({
  name:
    "producer receivers: a Beast receiver that sends garbage between frames still decodes, garbage dead-lettered",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const garbage = Uint8Array.of(0x00, 0xff, 0x1a, 0x39, 0x42, 0x1a, 0x1a, 0x55);
    const beast = startTcpFeed({ chunks: beastChunks(ezy.slice(0, 6)), intervalMs: 1000, garbage });
    const bus = new CapturingBus(new MemoryBus());
    const label = `beast://127.0.0.1:${beast.port}`;
    const producer = await startProducer({
      config: parseProducerConfig({ SOURCES: label }),
      bus,
      log: silentLogger,
    });
    try {
      await waitFor(() => beast.sent >= 6 && bus.messages("flights.state").length >= 5, {
        timeoutMs: 30_000,
        what: "beast flights",
      });
      for (const m of bus.messages("flights.state")) {
        const f = FlightStateEnvelope.parse(JSON.parse(m.value)).payload;
        assert.ok(nearestTrackPointM(ezy, f.position) < 10);
      }
      await new Promise((r) => setTimeout(r, 400)); // the flush after the last chunk
      const dead = bus.messages("flights.deadletter").map((m) =>
        DeadLetter.parse(JSON.parse(m.value))
      );
      assert.ok(dead.length >= 6, `dead letters: ${dead.length}`);
      assert.ok(dead.every((d) => d.reason.startsWith(`${label}: Beast`)), dead[0]?.reason);
      assert.match(producer.health().reason, /[1-9]\d* decode errors/);
    } finally {
      await producer.stop();
      await beast.close();
      await bus.close();
    }
  },
});

Deno.test({
  name:
    "producer: SOURCES=opensky:,replay:,sbs:// runs all three at once, each flight saying its source",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // The real Swiss reply, its times moved to 8 s ago: beside receivers the polls join their
    // merger, which takes live positions only (at most 60 s old).
    const nowS = Math.floor(Date.now() / 1000);
    const [line] = await realReplies();
    const reply = JSON.parse(line!) as { time: number; states: unknown[][] };
    const shift = nowS - 8 - reply.time;
    for (const r of reply.states) {
      if (r[3] !== null) r[3] = (r[3] as number) + shift;
      r[4] = (r[4] as number) + shift;
    }
    const fake = await FakeOpenSky.start({
      replies: [JSON.stringify({ ...reply, time: nowS - 8 })],
    });
    const sbs = startTcpFeed({ chunks: sbsChunks(ryr.slice(0, 6), Date.now()), intervalMs: 500 });
    const bus = new CapturingBus(new MemoryBus());
    try {
      const config = parseProducerConfig({
        SOURCES: `opensky:,replay:fixtures/states_switzerland_2018-08-01T1130Z_30min_10s.jsonl,` +
          `sbs://127.0.0.1:${sbs.port}`,
        OPENSKY_API_URL: fake.apiUrl,
        OPENSKY_AUTH_URL: fake.authUrl,
        POLL_INTERVAL_SECONDS: "0.2",
        REPLAY_SPEED: "20",
      });
      assert.equal(config.mode, "replay");
      const producer = await startProducer({ config, bus, log: silentLogger, progress: false });
      const envelopes = () =>
        bus.messages("flights.state").map((m) => FlightStateEnvelope.parse(JSON.parse(m.value)));
      const sources = () => new Set(envelopes().map((e) => e.payload.source));
      await waitFor(() => sources().size === 3, { timeoutMs: 30_000, what: "three sources" });
      await producer.stop();
      assert.deepEqual([...sources()].sort(), ["opensky", "replay", "sbs"]);
      // The polls beside a replay are live ones; the replay says it is one.
      const modes = new Map(envelopes().map((e) => [e.payload.source, e.source.mode]));
      assert.deepEqual(Object.fromEntries(modes), {
        opensky: "live",
        replay: "replay",
        sbs: "live",
      });
    } finally {
      await sbs.close();
      await fake.close();
      await bus.close();
    }
  },
});

Deno.test({
  name:
    "producer: OpenSky polls merge with the receivers: no older position after a fresher one, gaps filled",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // Real rows, their times moved to 8 s ago (OpenSky's usual lag): RYR2RG (which the SBS
    // receiver also hears, at 1 s) and DLH3EM of the Swiss recording (which only OpenSky sees).
    const nowS = Math.floor(Date.now() / 1000);
    const row = async (file: string, index: number) => {
      const lines = (await Deno.readTextFile(`fixtures/${file}`)).split("\n");
      const r = JSON.parse(lines[index]!).states[0] as unknown[];
      r[3] = r[4] = nowS - 8;
      return r;
    };
    const ryrRow = await row("opensky_sv_RYR2RG_cruise-FL370_2022-02-02_1s.jsonl", 3);
    const dlhRow = await row("states_switzerland_2018-08-01T1130Z_30min_10s.jsonl", 0);
    const fake = await FakeOpenSky.start({
      replies: [JSON.stringify({ time: nowS - 8, states: [ryrRow, dlhRow] })],
    });
    const sbs = startTcpFeed({ chunks: sbsChunks(ryr.slice(0, 8), Date.now()), intervalMs: 500 });
    const bus = new CapturingBus(new MemoryBus());
    try {
      const producer = await startProducer({
        config: parseProducerConfig({
          SOURCES: `opensky:,sbs://127.0.0.1:${sbs.port}`,
          OPENSKY_API_URL: fake.apiUrl,
          OPENSKY_AUTH_URL: fake.authUrl,
          POLL_INTERVAL_SECONDS: "0.3",
        }),
        bus,
        log: silentLogger,
      });
      const flights = () =>
        bus.messages("flights.state").map((m) =>
          FlightStateEnvelope.parse(JSON.parse(m.value)).payload
        );
      await waitFor(() => sbs.sent >= 8 && fake.stateRequests.length >= 10, {
        timeoutMs: 30_000,
        what: "the SBS track and ten polls",
      });
      await new Promise((r) => setTimeout(r, 500)); // one more flush
      await producer.stop();
      const ryrFlights = flights().filter((f) => f.icao24 === ryr[0]!.icao24);
      const firstSbs = ryrFlights.findIndex((f) => f.source === "sbs");
      assert.ok(firstSbs >= 0);
      const after = ryrFlights.slice(firstSbs);
      assert.ok(after.length >= 7, `${after.length} SBS positions`);
      // Ten polls carried RYR2RG's 8 s old position; none went out after the receiver's.
      assert.deepEqual(new Set(after.map((f) => f.source)), new Set(["sbs"]));
      for (let i = 1; i < after.length; i++) {
        assert.ok(after[i]!.time_position_unix >= after[i - 1]!.time_position_unix);
      }
      // SBS MSG 3 has no geometric altitude: OpenSky's fills it (within the 15 s window).
      assert.ok(
        after.every((f) => f.geo_altitude_m === ryrRow[13]),
        String(after[0]!.geo_altitude_m),
      );
      // What only OpenSky sees goes out as before, once per change, not once per poll.
      const dlh = flights().filter((f) => f.icao24 === "3003ae");
      assert.ok(dlh.length >= 1 && dlh.length < fake.stateRequests.length);
      assert.ok(dlh.every((f) => f.source === "opensky" && f.callsign === "DLH3EM"));
    } finally {
      await sbs.close();
      await fake.close();
      await bus.close();
    }
  },
});

Deno.test({
  name:
    "producer /healthz: degraded (200) naming a silent receiver while another delivers, 503 when none does",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    let offsetMs = 0;
    const now = () => Date.now() + offsetMs;
    const sbs = startTcpFeed({ chunks: sbsChunks(ryr, Date.now()), intervalMs: 300 });
    let sbsOpen = true;
    // A Beast receiver that is not there: nothing listens on the port.
    const silent = `beast://127.0.0.1:${freePort()}`;
    const producer = await startProducer({
      config: parseProducerConfig({ SOURCES: `sbs://127.0.0.1:${sbs.port},${silent}` }),
      bus: new MemoryBus(),
      log: silentLogger,
      backoff: { baseMs: 100, capMs: 400 },
      now,
    });
    const server = serveMetrics({
      port: 0,
      hostname: "127.0.0.1",
      registry: producer.metrics.registry,
      health: () => producer.health(),
      name: "producer",
    });
    const healthz = async () => {
      const res = await fetch(`http://127.0.0.1:${server.addr.port}/healthz`);
      return { status: res.status, body: await res.json() };
    };
    try {
      await waitFor(() => sbs.sent >= 2, { what: "the SBS receiver delivering" });
      assert.equal((await healthz()).body.status, "ok", "the first minute counts as a start");
      offsetMs = 61_000; // a minute later: the SBS receiver keeps delivering, the Beast one never did
      await waitFor(() => producer.health().degraded === true, { what: "a degraded verdict" });
      const degraded = await healthz();
      assert.equal(degraded.status, 200);
      assert.equal(degraded.body.status, "degraded");
      assert.match(degraded.body.checks.producer.detail, new RegExp(`silent for 60 s: ${silent}`));
      await sbs.close();
      sbsOpen = false;
      offsetMs = 122_000; // and then no receiver at all
      const down = await healthz();
      assert.equal(down.status, 503);
      assert.match(down.body.checks.producer.detail, /no receiver source delivered for 60 s/);
    } finally {
      await producer.stop();
      await server.shutdown();
      if (sbsOpen) await sbs.close();
    }
  },
});
