import assert from "node:assert/strict";
import {
  type Example,
  EXAMPLE_SOURCES,
  generateExamples,
  generateSchemas,
  SCHEMAS,
} from "../contracts/generate.ts";
import { Flight, OpenSkyReply, TOPIC_LIST, TOPICS } from "../contracts/mod.ts";
import { formatZodError } from "../lib/zod_error.ts";
import { stateVectorToFlight } from "../lib/opensky/state_vector.ts";

const root = new URL("../", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, root));

async function recordings() {
  return Object.fromEntries(
    await Promise.all(
      Object.entries(EXAMPLE_SOURCES).map(async ([k, f]) => [k, await read(`fixtures/${f}`)]),
    ),
  ) as Record<keyof typeof EXAMPLE_SOURCES, string>;
}

async function readExamples(kind: "good" | "bad"): Promise<Map<string, Example>> {
  const dir = new URL(`contracts/examples/${kind}/`, root);
  const out = new Map<string, Example>();
  for await (const entry of Deno.readDir(dir)) {
    out.set(entry.name, JSON.parse(await Deno.readTextFile(new URL(entry.name, dir))));
  }
  return out;
}

Deno.test("JSON Schema files match the zod source (run `deno task contracts` after a change)", async () => {
  const generated = generateSchemas();
  assert.ok(Object.keys(generated).length >= 10);
  for (const [name, text] of Object.entries(generated)) {
    assert.equal(
      await read(`contracts/schemas/${name}`),
      text,
      `contracts/schemas/${name} drifted`,
    );
  }
});

Deno.test("golden examples on disk are the ones generated from the real recordings", async () => {
  const { good, bad } = generateExamples(await recordings());
  const onDisk = { good: await readExamples("good"), bad: await readExamples("bad") };
  assert.deepEqual([...onDisk.good.keys()].sort(), Object.keys(good).sort());
  assert.deepEqual([...onDisk.bad.keys()].sort(), Object.keys(bad).sort());
  for (const [name, ex] of Object.entries(good)) {
    assert.deepEqual(onDisk.good.get(name), JSON.parse(JSON.stringify(ex)), name);
  }
});

Deno.test("every golden example validates against its zod schema", async () => {
  const good = await readExamples("good");
  assert.ok(good.size >= 15);
  for (const [name, ex] of good) {
    const result = SCHEMAS[ex.schema]!.safeParse(ex.value);
    assert.ok(result.success, `${name}: ${result.success ? "" : formatZodError(result.error)}`);
  }
});

Deno.test("every bad example is rejected with a readable message naming the field", async () => {
  const bad = await readExamples("bad");
  assert.ok(bad.size >= 8);
  for (const [name, ex] of bad) {
    const result = SCHEMAS[ex.schema]!.safeParse(ex.value);
    assert.equal(result.success, false, `${name} was accepted`);
    if (result.success) continue;
    const message = formatZodError(result.error);
    assert.ok(message.length > 0 && message.length < 2000, `${name}: ${message}`);
    // A fragment that names the field or the problem: an empty one would match any message.
    assert.ok(
      typeof ex.expect_error === "string" && ex.expect_error.trim().length >= 4,
      `${name}: expect_error must name the field or problem`,
    );
    assert.ok(message.includes(ex.expect_error), `${name}: "${message}"`);
  }
});

// Hand-checked: each row below is copied verbatim from the named recording (the test checks that it
// is there), and each expected field was written by hand from the OpenSky state vector layout
// (https://openskynetwork.github.io/opensky-api/rest.html#all-state-vectors): 0 icao24, 1 callsign
// (padded to 8), 3 time_position, 4 last_contact, 5 LONGITUDE, 6 LATITUDE (in that order),
// 7 baro_altitude m, 8 on_ground, 9 velocity m/s, 10 true_track deg, 11 vertical_rate m/s,
// 13 geo_altitude m, 14 squawk, 15 spi, 16 position_source, 17 category. Checks a reader can make by
// eye: 1533123000 is 2018-08-01T11:30:00Z (the Switzerland recording's first snapshot, 13:30 local);
// 46.01 N 10.45 E is the Swiss-Italian border east of Lake Como; 11277.6 m is FL370 (37,000 ft x
// 0.3048); 43.618 N 1.378 E is Toulouse-Blagnac (LFBO), where EZY158T's on-ground rows are.
const HAND_CHECKED: {
  file: string;
  time: number;
  row: unknown[];
  flight: Record<string, unknown>;
}[] = [
  {
    file: "states_switzerland_2018-08-01T1130Z_30min_10s.jsonl",
    time: 1533123000,
    row: [
      "3003ae",
      "DLH3EM  ",
      null,
      1533123000,
      1533123000,
      10.45143,
      46.0133,
      11277.6,
      false,
      236.64,
      144.82,
      -0.33,
      null,
      null,
      null,
      false,
      0,
      0,
    ],
    flight: {
      icao24: "3003ae",
      callsign: "DLH3EM",
      origin_country: null,
      position: { lat: 46.0133, lon: 10.45143 },
      altitude_m: 11277.6,
      geo_altitude_m: null,
      velocity_mps: 236.64,
      heading_deg: 144.82,
      vertical_rate_mps: -0.33,
      on_ground: false,
      squawk: null,
      spi: false,
      position_source: 0,
      category: 0,
      time_position_unix: 1533123000,
      last_contact_unix: 1533123000,
    },
  },
  {
    file: "opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl",
    time: 1486311957,
    row: [
      "406d95",
      "EZY158T ",
      null,
      1486311956,
      1486311956,
      1.37757,
      43.61815,
      190.5,
      true,
      73.15,
      323.29,
      -0.98,
      [1433801924, -1498608228],
      null,
      "1000",
      false,
      0,
      0,
    ],
    flight: {
      icao24: "406d95",
      callsign: "EZY158T",
      position: { lat: 43.61815, lon: 1.37757 },
      altitude_m: 190.5,
      geo_altitude_m: null,
      velocity_mps: 73.15,
      heading_deg: 323.29,
      vertical_rate_mps: -0.98,
      on_ground: true,
      squawk: "1000",
      time_position_unix: 1486311956,
      last_contact_unix: 1486311956,
    },
  },
];

Deno.test("hand-checked rows cut from the real recordings map to the fields written by hand", async () => {
  for (const { file, time, row, flight } of HAND_CHECKED) {
    const line = (await read(`fixtures/${file}`)).split("\n").find((l) =>
      l.startsWith(`{"time":${time},`)
    );
    assert.ok(line, `${file}: no reply at time ${time}`);
    const reply = OpenSkyReply.parse(JSON.parse(line));
    assert.ok(
      reply.states?.some((r) => JSON.stringify(r) === JSON.stringify(row)),
      `${file} at ${time}: the row is not in the recording`,
    );
    const mapped = stateVectorToFlight(row);
    assert.ok(mapped.ok, `${file}: ${mapped.ok ? "" : mapped.reason}`);
    const got = mapped.flight as unknown as Record<string, unknown>;
    for (const [field, want] of Object.entries(flight)) {
      assert.deepEqual(got[field], want, `${file} ${row[0]}: ${field}`);
    }
    assert.ok(Flight.safeParse(mapped.flight).success);
  }
  assert.equal(new Date(1533123000 * 1000).toISOString(), "2018-08-01T11:30:00.000Z");
});

Deno.test("NaN and Infinity are rejected in numeric fields", async () => {
  const flight = JSON.parse(await read("contracts/examples/good/flight.json")).value;
  for (const bad of [NaN, Infinity]) {
    const result = Flight.safeParse({ ...flight, altitude_m: bad });
    assert.equal(result.success, false);
    if (!result.success) assert.match(formatZodError(result.error), /^altitude_m: /);
  }
  const row = JSON.parse(await read("contracts/examples/good/state_vector.json")).value;
  row[6] = NaN;
  const mapped = stateVectorToFlight(row);
  assert.equal(mapped.ok, false);
});

Deno.test("every row of the real recordings maps to a valid flight or a stated reason", async () => {
  for await (const entry of Deno.readDir(new URL("fixtures/", root))) {
    if (!entry.name.endsWith(".jsonl")) continue;
    const text = await read(`fixtures/${entry.name}`);
    let ok = 0;
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      const reply = OpenSkyReply.parse(JSON.parse(line));
      for (const row of reply.states ?? []) {
        const result = stateVectorToFlight(row);
        if (result.ok) ok++;
        else assert.match(result.reason, /no position/, `${entry.name}: ${result.reason}`);
      }
    }
    assert.ok(ok > 500, `${entry.name}: only ${ok} valid rows`);
  }
});

Deno.test("topic table follows the design", () => {
  assert.equal(TOPICS.state.config["cleanup.policy"], "compact");
  assert.equal(TOPICS.updates.config["retention.ms"], String(7 * 86_400_000));
  assert.equal(TOPICS.anomalies.config["retention.ms"], String(30 * 86_400_000));
  assert.equal(TOPICS.alerts.config["retention.ms"], String(30 * 86_400_000));
  assert.equal(TOPICS.alerts.key, "icao24");
  assert.deepEqual(
    TOPIC_LIST.map((t) => t.name).sort(),
    [
      "flights.alerts",
      "flights.anomalies",
      "flights.deadletter",
      "flights.state",
      "flights.updates",
    ],
  );
});
