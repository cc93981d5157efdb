/**
 * The worker's hand-written check of `flight_update` envelopes and of flights alone
 * (contracts/flight_check.ts) against zod, the schema of record: same verdict and same value on every update built from
 * the real recordings, on a list of bad inputs, and on seeded random mutations of real
 * updates; and decodeMessage with the check gives zod's reasons for bad input.
 */
import assert from "node:assert/strict";
import { checkFlight, checkFlightUpdateEnvelope } from "../contracts/flight_check.ts";
import { Flight, FlightUpdateEnvelope } from "../contracts/flight.ts";
import { decodeMessage } from "../lib/bus/deadletter.ts";
import type { BusMessage } from "../lib/bus/types.ts";
import { buildPollMessages } from "../lib/opensky/envelope.ts";
import { readRecording } from "../lib/replay/recording.ts";
import { seededRandom } from "./_prng.ts";

const RECORDINGS = [
  "fixtures/states_switzerland_2018-08-01T1130Z_30min_10s.jsonl",
  "fixtures/opensky_sv_EDW24_LSZH-taxi_2024-04-06_1s.jsonl",
  "fixtures/opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl",
  "fixtures/opensky_sv_RYR2RG_cruise-FL370_2022-02-02_1s.jsonl",
  "fixtures/event_holding_TRA051_belevingsvlucht_EHAM-EHLE_2018-05-30_1s.jsonl",
];

/** The `flight_update` envelopes the producer builds from a recording, as parsed JSON. */
async function updatesOf(path: string, every = 1): Promise<unknown[]> {
  const out: unknown[] = [];
  const file = await Deno.open(new URL(`../${path}`, import.meta.url));
  let n = 0;
  for await (const item of readRecording(file.readable)) {
    if (item.kind !== "snapshot" || n++ % every !== 0) continue;
    const built = buildPollMessages(item.reply, {
      source: { provider: "opensky", mode: "replay", bbox: null, poll_interval_s: 10 },
      producedAt: new Date(item.reply.time * 1000).toISOString(),
      topics: { state: "state", updates: "updates" },
    });
    for (const m of built.batch.find((t) => t.topic === "updates")?.messages ?? []) {
      out.push(JSON.parse(m.value as string));
    }
  }
  return out;
}

/** Same verdict, and on success the same value, from both. */
function assertAgree(json: unknown, what: string): boolean {
  const fast = checkFlightUpdateEnvelope(json);
  const zod = FlightUpdateEnvelope.safeParse(json);
  assert.equal(
    fast !== undefined,
    zod.success,
    `${what}: check and zod disagree on ${JSON.stringify(json)?.slice(0, 400)}${
      zod.success ? "" : ` (zod: ${zod.error.issues[0]?.message})`
    }`,
  );
  if (zod.success) assert.deepEqual(fast, zod.data, `${what}: values differ`);
  // The flight alone (the worker's warm-up checks rows read back that way).
  if (typeof json === "object" && json !== null && "payload" in json) {
    const payload = (json as { payload: unknown }).payload;
    const flight = checkFlight(payload);
    const zodFlight = Flight.safeParse(payload);
    assert.equal(flight !== undefined, zodFlight.success, `${what}: the flight's verdicts differ`);
    if (zodFlight.success) assert.deepEqual(flight, zodFlight.data, `${what}: flights differ`);
  }
  return zod.success;
}

// Values a mutation puts in a field: other types, edges of the bounds, near-misses.
const PALETTE: unknown[] = [
  null,
  true,
  false,
  0,
  -0,
  1,
  -1,
  0.5,
  2,
  3,
  4,
  8,
  20,
  21,
  90,
  90.0001,
  -90,
  -90.0001,
  180,
  -180.5,
  359.9,
  360,
  360.1,
  -0.001,
  1e300,
  -1e300,
  2 ** 53,
  "",
  "x",
  "4b1901",
  "4B1901",
  "4b190",
  "4b19011",
  "7777",
  "7778",
  "777",
  "0000 ",
  "ABCDEFGHI",
  "ABCDEFGH",
  [],
  [1, 2, 3, 4],
  [1, 2, 3],
  [1, 2, 3, "4"],
  {},
  { lat: 1, lon: 2 },
  { lat: 91, lon: 0 },
  "opensky",
  "sbs",
  "bogus",
  "general",
  "downed",
  "live",
  "replay",
  "record",
  "flight_update",
  "flight_state",
  "2018-08-01T11:30:00.000Z",
  "2018-08-01T11:30:00Z",
  "2018-02-30T11:30:00Z",
  "2018-08-01T11:30:00+01:00",
  "2018-08-01 11:30:00Z",
  "2018-08-01T24:00:00Z",
];
const DELETE = Symbol("delete");

/** Paths of every field of an envelope (objects and arrays inside included). */
function paths(value: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...paths(v, [...at, i])));
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...at, k]));
  }
  return out;
}

function mutate(json: unknown, random: () => number): unknown {
  const copy = structuredClone(json) as Record<string, unknown>;
  const extra = ["source", "emergency", "extra"];
  for (let k = 1 + Math.floor(random() * 2); k > 0; k--) {
    // The paths of the copy as it is now (an earlier mutation may have changed its shape).
    const all = paths(copy).filter((p) => p.length > 0);
    if (all.length === 0) break;
    const path = all[Math.floor(random() * all.length)]!;
    let parent = copy as Record<string | number, unknown>;
    for (const segment of path.slice(0, -1)) parent = parent[segment] as typeof parent;
    // Sometimes a key the flight may or may not have, next to the chosen one.
    const key = random() < 0.15 ? extra[Math.floor(random() * extra.length)]! : path.at(-1)!;
    const pick = random() < 0.1 ? DELETE : PALETTE[Math.floor(random() * PALETTE.length)];
    if (pick === DELETE) delete parent[key];
    else parent[key] = structuredClone(pick);
  }
  return copy;
}

Deno.test("the hand-written check agrees with zod on every update of the real recordings", async () => {
  let n = 0;
  for (const path of RECORDINGS) {
    for (const json of await updatesOf(path)) {
      assert.ok(assertAgree(json, path), `${path}: a real update was rejected`);
      n++;
    }
  }
  assert.ok(n > 10_000, `only ${n} updates`);
});

Deno.test("the hand-written check agrees with zod on bad inputs", async () => {
  const [good] = await updatesOf(RECORDINGS[1]!);
  const base = good as Record<string, Record<string, unknown>>;
  const withPayload = (patch: Record<string, unknown>) => ({
    ...base,
    payload: { ...base.payload, ...patch },
  });
  const bad: unknown[] = [
    null,
    1,
    "x",
    [],
    {},
    [base],
    { ...base, schema_version: 2 },
    { ...base, type: "flight_state" },
    { ...base, produced_at: "yesterday" },
    { ...base, produced_at: 0 },
    { ...base, source: null },
    { ...base, source: { ...base.source, mode: "lively" } },
    { ...base, source: { ...base.source, bbox: [1, 2, 3] } },
    { ...base, source: { ...base.source, poll_interval_s: -1 } },
    { ...base, source: { ...base.source, provider: "p".repeat(65) } },
    { ...base, payload: null },
    { ...base, payload: [] },
    withPayload({ icao24: "XYZ123" }),
    withPayload({ callsign: "ABCDEFGHI" }),
    withPayload({ position: { lat: 91, lon: 0 } }),
    withPayload({ position: null }),
    withPayload({ velocity_mps: -1 }),
    withPayload({ heading_deg: 360.5 }),
    withPayload({ squawk: "8000" }),
    withPayload({ squawk: 7000 }),
    withPayload({ on_ground: "false" }),
    withPayload({ position_source: 4 }),
    withPayload({ category: 1.5 }),
    withPayload({ category: 21 }),
    withPayload({ source: "radar" }),
    withPayload({ emergency: "bored" }),
    withPayload({ time_position_unix: "1" }),
    withPayload({ last_contact_unix: null }),
  ];
  for (const [i, json] of bad.entries()) assert.equal(assertAgree(json, `bad #${i}`), false);
  // Accepted, with the optional and unknown keys as zod has them.
  for (const json of [withPayload({ source: "beast", emergency: "nordo" }), { ...base, x: 1 }]) {
    assert.equal(assertAgree(json, "good"), true);
  }
  // decodeMessage with the check gives zod's reasons, word for word.
  for (const json of bad) {
    const message = {
      topic: "t",
      partition: 0,
      offset: "0",
      key: null,
      value: new TextEncoder().encode(JSON.stringify(json)),
    } as unknown as BusMessage;
    assert.deepEqual(
      decodeMessage(message, FlightUpdateEnvelope, { check: checkFlightUpdateEnvelope }),
      decodeMessage(message, FlightUpdateEnvelope),
    );
  }
});

Deno.test("the hand-written check agrees with zod on random mutations of real updates", async () => {
  const real = [
    ...await updatesOf(RECORDINGS[0]!, 30),
    ...(await Promise.all(RECORDINGS.slice(1).map((p) => updatesOf(p, 50)))).flat(),
  ];
  const random = seededRandom(11);
  let rejected = 0;
  const tries = 20_000;
  for (let i = 0; i < tries; i++) {
    const json = mutate(real[Math.floor(random() * real.length)], random);
    if (!assertAgree(json, `mutation #${i} (seed 11)`)) rejected++;
  }
  // The mutations reach both sides of the line.
  assert.ok(rejected > tries / 4 && rejected < tries, `${rejected} of ${tries} rejected`);
});
