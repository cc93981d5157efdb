/**
 * `skysentinel.v2.bin` codec (lib/hub/v2/): the golden frames in
 * contracts/examples/v2bin/ both ways (the encoder produces them from the
 * real recordings, the decoder reads them back), a 30-minute real recording
 * streamed as deltas and decoded to within the documented quantisation,
 * null transitions, wrap-arounds, seq gaps and bad frames.
 */
import assert from "node:assert/strict";
import type { Flight } from "../contracts/flight.ts";
import {
  ALTITUDE_UNIT_M,
  BinaryDecoder,
  BinaryTracker,
  composeFrame,
  dequantise,
  encodeGeneric,
  FRAME_DELTA,
  FRAME_SNAPSHOT,
  FrameError,
  quantise,
  scanFrame,
  timeBase,
  VERTICAL_RATE_UNIT_MPS,
} from "../lib/hub/v2/mod.ts";
import {
  type BadFrame,
  buildGoldenV2,
  GOLDEN_V2_SOURCES,
  type GoldenFile,
} from "../scripts/golden_v2.ts";
import { fixture, recordedFlights } from "./_recordings.ts";

const fromHex = (h: string) => new Uint8Array((h.match(/../g) ?? []).map((b) => parseInt(b, 16)));
const readJson = async <T>(name: string): Promise<T> =>
  JSON.parse(
    await Deno.readTextFile(new URL(`../contracts/examples/v2bin/${name}`, import.meta.url)),
  );

async function recordings() {
  return Object.fromEntries(
    await Promise.all(
      Object.entries(GOLDEN_V2_SOURCES).map(async (
        [k, f],
      ) => [k, await Deno.readTextFile(fixture(f))]),
    ),
  ) as Record<keyof typeof GOLDEN_V2_SOURCES, string>;
}

Deno.test("golden v2.bin frames on disk are what the encoder makes from the recordings", async () => {
  const { good, bad } = buildGoldenV2(await recordings());
  const onDisk = await readJson<GoldenFile>("frames.json");
  assert.equal(onDisk.frames.length, good.frames.length);
  for (const [i, frame] of good.frames.entries()) {
    assert.equal(onDisk.frames[i]!.hex, frame.hex, `${frame.name}: encoder drifted`);
  }
  assert.deepEqual(await readJson<BadFrame[]>("bad_frames.json"), bad);
});

Deno.test("golden v2.bin frames decode, in order, to the listed messages", async () => {
  const golden = await readJson<GoldenFile>("frames.json");
  assert.ok(golden.frames.length >= 5);
  const decoder = new BinaryDecoder();
  const kinds = new Set<string>();
  for (const frame of golden.frames) {
    const message = decoder.decode(fromHex(frame.hex));
    kinds.add(message.type);
    assert.deepEqual(JSON.parse(JSON.stringify(message)), frame.message, frame.name);
  }
  assert.deepEqual([...kinds].sort(), ["anomaly", "delta", "hello", "snapshot"]);
  // The tile crossing: TRA051 left the west segment and entered the east one in the same frame.
  const crossing = golden.frames[2]!.message as { upserts: Flight[]; removes: string[] };
  assert.ok(crossing.upserts.some((f) => f.callsign === "TRA051"));
  assert.ok(!crossing.removes.includes("484506"));
  assert.ok(decoder.flights.has(0x484506));
});

Deno.test("bad v2.bin frames are rejected with a FrameError that says what is wrong", async () => {
  const bad = await readJson<BadFrame[]>("bad_frames.json");
  assert.ok(bad.length >= 6);
  const golden = await readJson<GoldenFile>("frames.json");
  const frames = golden.frames.map((f) => fromHex(f.hex));
  for (const b of bad) {
    // Each after the golden snapshot (seq 41), so that deltas of seq 42 are read.
    const decoder = new BinaryDecoder();
    decoder.decode(frames[1]!);
    assert.throws(
      () => decoder.decode(fromHex(b.hex)),
      (e: unknown) => e instanceof FrameError && e.message.includes(b.error),
      b.name,
    );
  }
  // Every prefix of a real delta frame is refused, and the state is not touched.
  const delta = frames[2]!;
  for (let n = 0; n < delta.length; n++) {
    const decoder = new BinaryDecoder();
    decoder.decode(frames[1]!);
    const before = JSON.stringify(decoder.flightObjects());
    assert.throws(() => decoder.decode(delta.subarray(0, n)), FrameError, `prefix of ${n} bytes`);
    assert.equal(JSON.stringify(decoder.flightObjects()), before, `prefix of ${n} bytes`);
    assert.equal(decoder.seq, null, "after an error the decoder waits for a snapshot");
  }
});

Deno.test("a delta that does not follow the last seq is not applied", async () => {
  const golden = await readJson<GoldenFile>("frames.json");
  const frames = golden.frames.map((f) => fromHex(f.hex));
  const decoder = new BinaryDecoder();
  decoder.decode(frames[1]!); // snapshot 41
  const before = JSON.stringify(decoder.flightObjects());
  const skipped = decoder.decode(frames[3]!) as { seq: number; upserts: Flight[] }; // delta 43
  assert.equal(skipped.seq, 43);
  assert.equal(skipped.upserts.length, 0);
  assert.equal(decoder.seq, null);
  assert.equal(JSON.stringify(decoder.flightObjects()), before);
  // A later delta is not applied either until a snapshot.
  assert.equal((decoder.decode(frames[4]!) as { upserts: Flight[] }).upserts.length, 0);
  decoder.decode(frames[1]!);
  assert.equal(decoder.seq, 41);
});

Deno.test("30 minutes of the Switzerland recording as v2.bin deltas decode within the quantisation", async () => {
  const rows = await recordedFlights("states_switzerland_2018-08-01T1130Z_30min_10s.jsonl");
  const byTime = new Map<number, Flight[]>();
  for (const f of rows) {
    const t = Math.ceil(f.last_contact_unix / 10) * 10;
    byTime.set(t, [...(byTime.get(t) ?? []), f]);
  }
  const times = [...byTime.keys()].sort((a, b) => a - b);
  assert.ok(times.length > 100);
  const tracker = new BinaryTracker();
  const decoder = new BinaryDecoder();
  const truth = new Map<string, Flight>();
  let seq = 1;
  let checked = 0;
  for (const [k, t] of times.entries()) {
    const serverTimeMs = t * 1000 + 150;
    const base = timeBase(serverTimeMs);
    const upserts = byTime.get(t)!;
    for (const f of upserts) truth.set(f.icao24, f);
    // Aircraft not seen for 60 s leave, as the hub's stale sweep does.
    const removes = [...truth.values()].filter((f) => f.last_contact_unix < t - 60).map((f) =>
      f.icao24
    );
    for (const id of removes) truth.delete(id);
    const segment = tracker.advance(upserts, removes, base);
    const frame = k === 0
      ? composeFrame(FRAME_SNAPSHOT, { seq, serverTimeMs }, [tracker.snapshot(base)])
      : composeFrame(FRAME_DELTA, { seq, serverTimeMs }, segment ? [segment] : []);
    decoder.decode(frame);
    assert.equal(decoder.seq, seq);
    seq++;
    assert.equal(decoder.flights.size, truth.size, `at ${t}`);
    for (const f of truth.values()) {
      const got = dequantise(decoder.flights.get(parseInt(f.icao24, 16))!);
      assert.deepEqual(got, dequantise(quantise(f)));
      assert.ok(Math.abs(got.position.lat - f.position.lat) <= 0.5e-5 + 1e-9);
      assert.ok(Math.abs(got.position.lon - f.position.lon) <= 0.5e-5 + 1e-9);
      if (f.altitude_m !== null) {
        assert.ok(Math.abs(got.altitude_m! - f.altitude_m) <= ALTITUDE_UNIT_M / 2 + 0.01);
      }
      if (f.vertical_rate_mps !== null) {
        assert.ok(
          Math.abs(got.vertical_rate_mps! - f.vertical_rate_mps) <=
            VERTICAL_RATE_UNIT_MPS / 2 + 0.01,
        );
      }
      if (f.velocity_mps !== null) {
        assert.ok(Math.abs(got.velocity_mps! - f.velocity_mps) <= 0.05 + 1e-9);
      }
      assert.equal(got.last_contact_unix, f.last_contact_unix);
      assert.equal(got.time_position_unix, f.time_position_unix);
      assert.equal(got.callsign, f.callsign);
      assert.equal(got.squawk, f.squawk);
      checked++;
    }
  }
  assert.ok(checked > 5_000, `${checked} aircraft states checked`);
});

Deno.test("nulls, track and antimeridian wrap-around, tile moves and rare fields survive deltas", async () => {
  // Derived from one real RYR2RG state: the same aircraft with fields changed as they do in flight.
  const [real] = await recordedFlights("opensky_sv_RYR2RG_cruise-FL370_2022-02-02_1s.jsonl");
  assert.ok(real);
  const t = real.last_contact_unix;
  const steps: Partial<Flight & { source: string }>[] = [
    { heading_deg: 359.9, position: { lat: 10, lon: 179.99999 } },
    { heading_deg: 0.2, position: { lat: 10.001, lon: -179.99999 }, altitude_m: null },
    { altitude_m: 11277.6, velocity_mps: null, heading_deg: null, vertical_rate_mps: null },
    { velocity_mps: 215.95, heading_deg: 180, squawk: "7700", callsign: null, source: "sbs" },
    {
      callsign: "RYR2RG",
      squawk: null,
      on_ground: true,
      spi: true,
      category: 6,
      position_source: 2,
    },
    { origin_country: "Ireland", geo_altitude_m: null, position: { lat: -89.99999, lon: 180 } },
  ];
  const tracker = new BinaryTracker();
  const decoder = new BinaryDecoder();
  let state: Flight = { ...real, last_contact_unix: t, time_position_unix: t };
  let seq = 0;
  const base = timeBase((t + 1) * 1000);
  tracker.advance([state], [], base);
  decoder.decode(
    composeFrame(FRAME_SNAPSHOT, { seq: ++seq, serverTimeMs: (t + 1) * 1000 }, [
      tracker.snapshot(base),
    ]),
  );
  for (const [i, change] of steps.entries()) {
    state = {
      ...state,
      ...change,
      last_contact_unix: t + i + 1,
      time_position_unix: t + i + 0.5,
    } as Flight;
    const serverTimeMs = (t + i + 2) * 1000;
    const seg = tracker.advance([state], [], timeBase(serverTimeMs));
    assert.ok(seg);
    const message = decoder.decode(
      composeFrame(FRAME_DELTA, { seq: ++seq, serverTimeMs }, [seg]),
    ) as {
      upserts: Flight[];
    };
    assert.deepEqual(message.upserts, [dequantise(quantise(state))], `step ${i}`);
  }
  // Antimeridian: 180° is sent as -180°, the same meridian.
  assert.equal(decoder.flightObjects()[0]!.position.lon, -180);
  // A move to another tile: remove from one segment, full record in the other, same frame.
  const a = new BinaryTracker([state]);
  const b = new BinaryTracker();
  const d2 = new BinaryDecoder();
  const ms = (t + 20) * 1000;
  d2.decode(
    composeFrame(FRAME_SNAPSHOT, { seq: 1, serverTimeMs: ms }, [
      a.snapshot(timeBase(ms)),
      b.snapshot(timeBase(ms)),
    ]),
  );
  const moved = { ...state, last_contact_unix: t + 21 };
  const frame = composeFrame(FRAME_DELTA, { seq: 2, serverTimeMs: ms + 1000 }, [
    b.advance([moved], [], timeBase(ms + 1000))!,
    a.advance([], [state.icao24], timeBase(ms + 1000))!,
  ]);
  const m = d2.decode(frame) as { upserts: Flight[]; removes: string[] };
  assert.deepEqual(m.removes, []);
  assert.equal(m.upserts.length, 1);
  assert.equal(d2.flights.size, 1);
});

Deno.test("generic frames carry any message type, alert included, without a codec change", () => {
  const alert = { type: "alert", event: { id: "a1", rule_id: "r1", icao24: "4d2271" } };
  const frame = encodeGeneric(alert);
  assert.equal(frame[0], 0x00);
  assert.deepEqual(scanFrame(frame), { kind: "message", message: alert });
  assert.deepEqual(new BinaryDecoder().decode(frame), alert);
});
