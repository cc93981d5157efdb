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
    assert.ok(message.includes(ex.expect_error ?? ""), `${name}: "${message}"`);
  }
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
