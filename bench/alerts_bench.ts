/**
 * Alert evaluation: 1,000 rules against 20,000 real updates (the first
 * 20,000 state vectors of the Switzerland full-day recording, i.e. one
 * second of a 20,000 updates/s stream), evaluated with the spatial index
 * and with the naive scan of every rule (the baseline, same code with
 * `index: false`, same alerts; compared on the first 2,000 updates because
 * the naive scan of all 20,000 takes tens of seconds). An iteration of the
 * 20,000 under 1 s means the evaluator keeps up with 20,000 updates/s on one
 * core.
 *
 * Two rule sets, both 1,000 circles around real airports (OurAirports) plus
 * squawk and aircraft rules:
 * - world: every ninth airport with an IATA code, worldwide (rules spread
 *   out, as users' home areas are);
 * - dense: the 900 airports nearest Zurich (all of western Europe), the
 *   worst case for the index: many rules near every aircraft.
 *
 *   deno bench --allow-read=. bench/alerts_bench.ts
 *
 * @module
 */
import { type AlertRule, AlertRuleInput, normalizeRule } from "../contracts/alerts.ts";
import type { Flight } from "../contracts/flight.ts";
import { OpenSkyReply } from "../contracts/opensky.ts";
import { AlertEvaluator } from "../lib/alerts/evaluator.ts";
import { haversineM } from "../lib/geo/sphere.ts";
import { stateVectorToFlight } from "../lib/opensky/state_vector.ts";

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
const UPDATES = 20_000;
const RULES = 1_000;

async function firstUpdates(n: number): Promise<Flight[]> {
  const file = await Deno.open(fixture("states_switzerland_2018-08-01_fullday_10s.jsonl.gz"));
  const text = file.readable.pipeThrough(new DecompressionStream("gzip"))
    .pipeThrough(new TextDecoderStream());
  const out: Flight[] = [];
  let rest = "";
  for await (const chunk of text) {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) {
      if (!line.trim()) continue;
      for (const row of OpenSkyReply.parse(JSON.parse(line)).states ?? []) {
        const mapped = stateVectorToFlight(row);
        if (mapped.ok) out.push(mapped.flight);
        if (out.length === n) return out;
      }
    }
  }
  return out;
}

const T0 = "2026-01-01T00:00:00.000Z";
function rule(i: number, input: AlertRuleInput): AlertRule {
  const { webhook_secret: _, ...n } = normalizeRule(AlertRuleInput.parse(input));
  return { ...n, id: `r${i}`, webhook_secret_set: false, created_at: T0, updated_at: T0 };
}

interface Airport {
  lat: number;
  lon: number;
  name: string;
}
const geo = JSON.parse(await Deno.readTextFile(fixture("ourairports_airports_with_iata.geojson")));
const airports: Airport[] = geo.features.map((
  f: { geometry: { coordinates: [number, number] }; properties: { name: string } },
) => ({ lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1], name: f.properties.name }));

const flights = await firstUpdates(UPDATES);
const callsigns = [...new Set(flights.map((f) => f.callsign).filter((c) => c !== null))];

function ruleSet(centres: readonly Airport[]): AlertRule[] {
  const rules: AlertRule[] = [];
  // 900 geofences of 10-50 km with altitude bands, 50 squawk, 50 aircraft rules.
  for (let i = 0; i < 900; i++) {
    const a = centres[i % centres.length]!;
    rules.push(rule(i, {
      name: a.name.slice(0, 100),
      kind: "geofence",
      geofence: { center: [a.lat, a.lon], radius_m: 10_000 + (i % 5) * 10_000 },
      max_altitude_m: i % 2 === 0 ? 3000 : null,
      on: ["enter", "leave"],
    }));
  }
  for (let i = 900; i < 950; i++) {
    rules.push(rule(i, { name: `sq${i}`, kind: "squawk", squawks: ["7700", "7600", "7500"] }));
  }
  for (let i = 950; i < RULES; i++) {
    const cs = callsigns[i % callsigns.length]!.slice(0, 3 + (i % 3));
    rules.push(rule(i, { name: `ac${i}`, kind: "aircraft", callsign_prefix: cs }));
  }
  return rules;
}

const zurich = { lat: 47.4647, lon: 8.5492 };
const sets = {
  world: ruleSet(airports.filter((_, i) => i % 9 === 0)),
  dense: ruleSet(
    [...airports].sort((a, b) => haversineM(zurich, a) - haversineM(zurich, b)).slice(0, 900),
  ),
};

function run(rules: AlertRule[], index: boolean, updates: readonly Flight[]): AlertEvaluator {
  const ev = new AlertEvaluator(rules, { index });
  for (const f of updates) ev.update(f);
  return ev;
}

// The naive scan costs ~2 µs per rule and update here: 1,000 x 20,000 would take ~40 s per
// iteration, so the comparison runs on the first 2,000 updates; the index alone runs on all.
const SAMPLE = flights.slice(0, 2_000);

for (const [label, rules] of Object.entries(sets)) {
  const a = run(rules, true, flights).stats;
  const b = run(rules, false, flights.slice(0, 5_000)).stats;
  const a5 = run(rules, true, flights.slice(0, 5_000)).stats;
  console.log(
    `${label}: ${rules.length} rules: rule tests per update ${
      (a.tests / flights.length).toFixed(2)
    } ` +
      `indexed vs ${(b.tests / 5_000).toFixed(0)} naive; first 5,000 updates: alerts ` +
      `${a5.fired} indexed, ${b.fired} naive`,
  );
  if (a5.fired !== b.fired) throw new Error(`${label}: the index changed the result`);
  const group = `${label}: ${rules.length} rules x ${SAMPLE.length} updates`;
  Deno.bench(`${group}: naive scan of every rule (baseline)`, {
    group,
    baseline: true,
    n: 3,
    warmup: 1,
  }, () => {
    run(rules, false, SAMPLE);
  });
  Deno.bench(`${group}: spatial index`, { group, n: 30, warmup: 3 }, () => {
    run(rules, true, SAMPLE);
  });
  Deno.bench(`${label}: ${rules.length} rules x ${flights.length} updates: spatial index`, {
    n: 10,
    warmup: 2,
  }, () => {
    run(rules, true, flights);
  });
}
