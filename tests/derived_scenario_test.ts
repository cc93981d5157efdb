/**
 * The derived world_load scenario: 20,000 distinct aircraft, each updated
 * every second, with positions that are real tracks moved rigidly (distances
 * between consecutive reports equal the recorded ones), played by the
 * producer's replay like any scenario.
 */
import assert from "node:assert/strict";
import { FlightStateEnvelope } from "../contracts/mod.ts";
import { MemoryBus } from "../lib/bus/memory.ts";
import { parseProducerConfig } from "../lib/config.ts";
import { haversineM } from "../lib/geo/mod.ts";

const haversineKm = (a: { lat: number; lon: number }, b: { lat: number; lon: number }) =>
  haversineM(a, b) / 1000;
import { silentLogger } from "../lib/log.ts";
import { parseScenario } from "../lib/replay/scenario.ts";
import { DERIVED_STEP_FLIGHTS, loadDerivedFleet } from "../services/producer/derived.ts";
import { startProducer } from "../services/producer/mod.ts";
import { resolveReplaySources } from "../services/producer/replay.ts";
import { CapturingBus, waitFor } from "./_fake_opensky.ts";
import { flightToStateVector, stateVectorToFlight } from "../lib/opensky/state_vector.ts";
import { buildPollMessages } from "../lib/opensky/envelope.ts";

const WORLD = new URL("../fixtures/scenarios/world_load.json", import.meta.url).pathname;
const RYR =
  new URL("../fixtures/opensky_sv_RYR2RG_cruise-FL370_2022-02-02_1s.jsonl", import.meta.url)
    .pathname;

async function worldFleet() {
  const [source] = await resolveReplaySources([WORLD]);
  assert.ok(source?.derived, "world_load.json holds a derived fleet");
  return { source, fleet: await loadDerivedFleet(source.derived) };
}

Deno.test("world_load: 20,000 distinct derived aircraft, every one reported each second", async () => {
  const { source, fleet } = await worldFleet();
  assert.match(source.label, /copies_for_load/);
  assert.equal(fleet.size, 20_000);
  const t0 = 1_700_000_000;
  const a = fleet.flightsAt(t0);
  const b = fleet.flightsAt(t0 + 1);
  assert.equal(a.length, 20_000);
  assert.equal(new Set(a.map((f) => f.icao24)).size, 20_000);
  assert.deepEqual(a.map((f) => f.icao24), b.map((f) => f.icao24));
  assert.ok(
    a.every((f) => f.last_contact_unix === t0) && b.every((f) => f.last_contact_unix === t0 + 1),
  );
  assert.ok(a.every((f) => fleet.indexOf(f.icao24) >= 0), "addresses are in the derived block");
  // Airborne copies move each second.
  const moved = a.filter((f, i) => !f.on_ground && haversineKm(f.position, b[i]!.position) > 0.01);
  assert.ok(moved.length > 15_000, `only ${moved.length} of 20,000 moved in one second`);
  // Spread where traffic is: at least four continents' worth of 30-degree cells hold traffic.
  const cells = new Set(
    a.map((f) => `${Math.floor(f.position.lat / 30)},${Math.floor(f.position.lon / 30)}`),
  );
  assert.ok(cells.size >= 20, `copies in only ${cells.size} 30-degree cells`);
});

Deno.test("world_load: a copy's steps are the real track's steps (rigid move), altitudes as recorded", async () => {
  const { fleet } = await worldFleet();
  const recorded = (await Deno.readTextFile(RYR)).trim().split("\n").map((line) => {
    const r = stateVectorToFlight(JSON.parse(line).states[0]);
    assert.ok(r.ok);
    return r.flight;
  });
  // Copy 0 follows the first track (RYR2RG); find its phase by matching altitude and speed runs.
  const index = [...Array(fleet.size).keys()].find((i) => fleet.trackOf(i) === "RYR2RG")!;
  const t0 = 1_700_000_000;
  const icao = (0xf00000 + index).toString(16);
  const seq = Array.from(
    { length: 30 },
    (_, k) => fleet.flightsAt(t0 + k).find((f) => f.icao24 === icao)!,
  );
  const steps = seq.slice(1).map((f, k) => haversineKm(seq[k]!.position, f.position));
  // The recorded steps of the same rows: locate the row by its velocity/altitude sequence.
  const speeds = seq.map((f) => `${f.velocity_mps}|${f.altitude_m}|${f.vertical_rate_mps}`);
  const start = recorded.findIndex((_, j) =>
    speeds.every((s, k) => {
      const r = recorded[(j + k) % recorded.length]!;
      return s === `${r.velocity_mps}|${r.altitude_m}|${r.vertical_rate_mps}`;
    })
  );
  assert.ok(start >= 0, "the copy's speeds and altitudes are a run of the recording");
  for (let k = 0; k < steps.length; k++) {
    const a = recorded[(start + k) % recorded.length]!;
    const b = recorded[(start + k + 1) % recorded.length]!;
    if ((start + k + 1) % recorded.length === 0) continue; // the wrap back to the track's start
    const real = haversineKm(a.position, b.position);
    assert.ok(
      Math.abs(steps[k]! - real) < 0.02 + real * 0.02,
      `step ${k}: ${steps[k]} km vs ${real} km`,
    );
  }
});

Deno.test("world_load: the producer's replay plays it, 20,000 flight states per second", async () => {
  const { scenario } = parseScenario(await Deno.readTextFile(WORLD), { path: WORLD });
  assert.match(scenario.description ?? "", /DERIVED/);
  const bus = new CapturingBus(new MemoryBus());
  const config = parseProducerConfig({
    OPENSKY_MODE: "replay",
    REPLAY_FILES: WORLD,
    // Real time: at speed 0 the replay yields to timers only every 64 steps of 20,000 rows.
    REPLAY_SPEED: "1",
    REPLAY_LOOP: "false",
  });
  const producer = await startProducer({ config, bus, log: silentLogger, progress: false });
  // A second of 20,000 reports comes in parts of DERIVED_STEP_FLIGHTS (one send each).
  const parts = 20_000 / DERIVED_STEP_FLIGHTS;
  try {
    await waitFor(() => bus.sends.length >= 2 * parts, {
      timeoutMs: 45_000,
      what: "two seconds of replay steps",
    });
  } finally {
    await producer.stop();
    await bus.close();
  }
  const sends = bus.sends.slice(0, 2 * parts).map((batch) =>
    batch.find((t) => t.topic === "flights.state")!.messages
  );
  assert.ok(sends.every((m) => m.length === DERIVED_STEP_FLIGHTS));
  const steps = [sends.slice(0, parts).flat(), sends.slice(parts).flat()].map((messages) =>
    messages.map((m) => FlightStateEnvelope.parse(JSON.parse(String(m.value))))
  );
  for (const step of steps) {
    assert.equal(step.length, 20_000);
    assert.equal(new Set(step.map((e) => e.payload.icao24)).size, 20_000);
    assert.equal(new Set(step.map((e) => e.payload.last_contact_unix)).size, 1, "one second");
  }
  const [first, second] = steps.map((s) => s[0]!.payload.last_contact_unix);
  assert.equal(second! - first!, 1, "one second of data time between steps");
  assert.equal(steps[0]![0]!.source.mode, "replay");
  assert.equal(steps[0]![0]!.source.poll_interval_s, 1);
  // Shifted to now like a recording's, and marked as a replay.
  assert.ok(Math.abs(first! - Date.now() / 1000) < 60, `last contact ${first} is not now`);
  assert.ok(steps[0]!.every((e) => e.payload.source === "replay"));
  // The fleet's flights are published without validating them again: byte for byte what the
  // validating path (each flight as an OpenSky state vector through buildPollMessages) makes.
  for (const [p, messages] of sends.slice(0, parts).entries()) {
    const envelopes = steps[0]!.slice(p * DERIVED_STEP_FLIGHTS, (p + 1) * DERIVED_STEP_FLIGHTS);
    const head = { source: envelopes[0]!.source, producedAt: envelopes[0]!.produced_at };
    const rebuilt = buildPollMessages({
      time: first!,
      states: envelopes.map((e) => flightToStateVector(e.payload)) as never,
    }, head).batch[0]!.messages;
    assert.equal(rebuilt.length, messages.length);
    for (let i = 0; i < messages.length; i++) {
      assert.equal(String(messages[i]!.value), rebuilt[i]!.value);
      assert.equal(messages[i]!.key, rebuilt[i]!.key);
    }
  }
});

Deno.test("world_load_10s: the same 20,000 derived aircraft at OpenSky's 10 s cadence", async () => {
  const path = new URL("../fixtures/scenarios/world_load_10s.json", import.meta.url).pathname;
  const [slow] = await resolveReplaySources([path]);
  assert.ok(slow?.derived, "world_load_10s.json holds a derived fleet");
  assert.match(slow.label, /copies_for_load/);
  const fleet10 = await loadDerivedFleet(slow.derived);
  const { fleet } = await worldFleet();
  assert.equal(fleet10.intervalS, 10);
  const t0 = 1_700_000_000;
  // 2,000 reports a second; over 10 s every aircraft once, as the 1 s fleet places it then.
  const seen = new Map<string, number>();
  for (let s = t0; s < t0 + 10; s++) {
    const due = fleet10.flightsAt(s);
    assert.equal(due.length, 2_000);
    const same = new Map(fleet.flightsAt(s).map((f) => [f.icao24, f]));
    for (const f of due) {
      assert.deepEqual(f, same.get(f.icao24));
      seen.set(f.icao24, (seen.get(f.icao24) ?? 0) + 1);
    }
  }
  assert.equal(seen.size, 20_000);
  assert.ok([...seen.values()].every((n) => n === 1));
});
