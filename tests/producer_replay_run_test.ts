/**
 * Replay and record modes end to end on the MemoryBus: determinism, time
 * shifting, looping, scenarios, bad recording lines, and the record -> replay
 * round trip against the fake OpenSky.
 */
import assert from "node:assert/strict";
import { DeadLetter, FlightStateEnvelope, FlightUpdateEnvelope } from "../contracts/mod.ts";
import { MemoryBus } from "../lib/bus/memory.ts";
import { parseProducerConfig } from "../lib/config.ts";
import { silentLogger } from "../lib/log.ts";
import { startProducer } from "../services/producer/mod.ts";
import { CapturingBus, FakeOpenSky, realReplies, waitFor } from "./_fake_opensky.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url).pathname;
const SWISS = `${FIXTURES}states_switzerland_2018-08-01T1130Z_30min_10s.jsonl`;
const EZY = `${FIXTURES}opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl`;
const FIXED_NOW = Date.parse("2026-03-18T09:30:00.000Z");

async function replay(
  env: Record<string, string>,
  options: { now?: () => number } = {},
): Promise<CapturingBus> {
  const bus = new CapturingBus(new MemoryBus());
  const config = parseProducerConfig({
    OPENSKY_MODE: "replay",
    REPLAY_SPEED: "0",
    REPLAY_LOOP: "false",
    ...env,
  });
  const producer = await startProducer({
    config,
    bus,
    log: silentLogger,
    progress: false,
    now: options.now,
  });
  await producer.done;
  assert.equal(producer.health().ok, true, "a finished replay stays healthy");
  await producer.stop();
  await bus.close();
  return bus;
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Hash over every published key and value, topic by topic, in order. */
async function hashOf(bus: CapturingBus): Promise<string> {
  const parts: string[] = [];
  for (const batch of bus.sends) {
    for (const t of batch) for (const m of t.messages) parts.push(`${t.topic}|${m.key}|${m.value}`);
  }
  return await sha256(parts.join("\n"));
}

Deno.test("replay: deterministic — same files and options, same messages (keep times, speed 0)", async () => {
  const env = { REPLAY_FILES: SWISS, REPLAY_KEEP_TIMES: "true" };
  const a = await replay(env, { now: () => FIXED_NOW });
  const b = await replay(env, { now: () => FIXED_NOW });
  assert.equal(await hashOf(a), await hashOf(b));
  const state = a.messages("flights.state");
  assert.equal(state.length, 7107); // every state vector of the recording
  assert.equal(a.messages("flights.updates").length, 7107);
  assert.equal(a.sends.length, 180); // one send per snapshot
  // Payload times are the recorded ones.
  const first = FlightStateEnvelope.parse(JSON.parse(state[0]!.value));
  assert.equal(first.payload.time_position_unix, 1533123000);
  assert.equal(first.source.mode, "replay");
  assert.equal(first.source.poll_interval_s, 10);
});

Deno.test("replay: time shifting makes the data start at the replay start", async () => {
  const bus = await replay({ REPLAY_FILES: SWISS }, { now: () => FIXED_NOW });
  const updates = bus.messages("flights.updates").map((m) =>
    FlightUpdateEnvelope.parse(JSON.parse(m.value))
  );
  const first = updates[0]!.payload;
  const last = updates.at(-1)!.payload;
  assert.equal(first.time_position_unix, FIXED_NOW / 1000);
  // The recorded spacing is kept: the last snapshot is 1790 s after the first.
  assert.equal(last.last_contact_unix, FIXED_NOW / 1000 + 1790);
});

Deno.test("replay: loop plays again with later times", async () => {
  const bus = new CapturingBus(new MemoryBus());
  const config = parseProducerConfig({
    OPENSKY_MODE: "replay",
    REPLAY_FILES: SWISS,
    REPLAY_SPEED: "0",
    REPLAY_LOOP: "true",
  });
  const producer = await startProducer({
    config,
    bus,
    log: silentLogger,
    progress: false,
    now: () => FIXED_NOW,
  });
  await waitFor(() => bus.sends.length >= 200, { what: "a second pass" });
  await producer.stop();
  await bus.close();
  const times = bus.messages("flights.updates")
    .map((m) => FlightUpdateEnvelope.parse(JSON.parse(m.value)).payload.last_contact_unix);
  // Pass 2 starts one interval after pass 1 ended: 1790 + 10 s after the start.
  const pass2 = bus.sends[180]![0]!.messages[0]!;
  assert.equal(
    FlightStateEnvelope.parse(JSON.parse(pass2.value as string)).payload.last_contact_unix,
    FIXED_NOW / 1000 + 1800,
  );
  for (let i = 1; i < times.length; i++) {
    assert.ok(times[i]! >= times[i - 1]! - 10, "times keep increasing across passes");
  }
});

Deno.test("replay: a scenario merges its recordings; a bad line goes to the dead-letter topic", async () => {
  const dir = await Deno.makeTempDir({ prefix: "producer_scenario_" });
  try {
    // Derived data: the first 30 s of the EZY158T recording with one line broken.
    const lines = (await Deno.readTextFile(EZY)).split("\n").slice(0, 30);
    lines[5] = lines[5]!.slice(0, 40);
    await Deno.writeTextFile(
      `${dir}/ezy158t_first30s_one_line_cut_derived.jsonl`,
      lines.join("\n"),
    );
    await Deno.writeTextFile(
      `${dir}/scenario.json`,
      JSON.stringify({
        name: "two",
        recordings: [
          { file: SWISS, label: "swiss", duration_s: 60 },
          { file: "ezy158t_first30s_one_line_cut_derived.jsonl", label: "ezy", offset_s: 15 },
        ],
      }),
    );
    const bus = await replay({ REPLAY_FILES: `${dir}/scenario.json` });
    const dead = bus.messages("flights.deadletter").map((m) =>
      DeadLetter.parse(JSON.parse(m.value))
    );
    assert.equal(dead.length, 1);
    assert.match(dead[0]!.reason, /^ezy line 6: not JSON/);
    const keys = bus.messages("flights.updates").map((m) => m.key);
    assert.equal(keys.filter((k) => k === "406d95").length, 29);
    // EZY158T (offset 15 s) appears between the Swiss snapshots at 10 s and 20 s.
    const sendsWithEzy = bus.sends.map((s) => s[0]?.messages.some((m) => m.key === "406d95"));
    assert.equal(sendsWithEzy.indexOf(true), 2); // sends: 0 s, 10 s, then 15 s
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("record: polls like live, writes a .jsonl.gz that replay mode plays back identically", async () => {
  const dir = await Deno.makeTempDir({ prefix: "producer_record_mode_" });
  const fake = await FakeOpenSky.start();
  try {
    const liveBus = new CapturingBus(new MemoryBus());
    const config = parseProducerConfig({
      OPENSKY_MODE: "record",
      OPENSKY_API_URL: fake.apiUrl,
      OPENSKY_AUTH_URL: fake.authUrl,
      POLL_INTERVAL_SECONDS: "0.02",
      RECORD_DIR: dir,
    });
    const recorder = await startProducer({ config, bus: liveBus, log: silentLogger });
    await waitFor(() => liveBus.sends.length >= 5, { what: "5 recorded polls" });
    await recorder.stop();
    await liveBus.close();
    const path = recorder.recordingPath!;
    assert.match(path, /opensky_states_\d{4}-\d\d-\d\dT\d{6}Z\.jsonl\.gz$/);
    const live = liveBus.messages("flights.updates").map((m) =>
      FlightUpdateEnvelope.parse(JSON.parse(m.value))
    );
    assert.equal(live[0]!.source.mode, "record");

    const replayed = await replay({ REPLAY_FILES: path, REPLAY_KEEP_TIMES: "true" });
    const back = replayed.messages("flights.updates").map((m) =>
      FlightUpdateEnvelope.parse(JSON.parse(m.value))
    );
    // Identical but for what a replay says about itself: the position now comes from a file
    // (`source: "replay"`), where the recorded poll came from OpenSky (README, "Record and replay").
    assert.ok(live.every((e) => e.payload.source === "opensky"));
    assert.ok(back.every((e) => e.payload.source === "replay"));
    const sourceless = (e: FlightUpdateEnvelope) => ({ ...e.payload, source: undefined });
    assert.deepEqual(back.map(sourceless), live.map(sourceless));
    // And the recording holds exactly the real replies served.
    const served = (await realReplies()).slice(0, liveBus.sends.length);
    assert.equal(back.length, served.reduce((n, l) => n + JSON.parse(l).states.length, 0));
  } finally {
    await fake.close();
    await Deno.remove(dir, { recursive: true });
  }
});
