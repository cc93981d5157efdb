/**
 * Emergency squawks. No real trajectory with 7500/7600/7700 and positions
 * was available (fixtures/README.md), so these take the real RYR2RG cruise
 * and change its squawk field; the derived data says so in its name.
 */
import assert from "node:assert/strict";
import { AnomalyEvent } from "../contracts/anomaly.ts";
import type { Flight } from "../contracts/flight.ts";
import { createDetectionEngine } from "../lib/detect/engine.ts";
import { loadRunwayIndex } from "../scripts/detect.ts";
import { recordedFlights } from "./_recordings.ts";

const RYR = new URL(
  "../fixtures/opensky_sv_RYR2RG_cruise-FL370_2022-02-02_1s.jsonl",
  import.meta.url,
);
const runways = await loadRunwayIndex();

const ryr: Flight[] = await recordedFlights(RYR);
const t0 = ryr[0]!.time_position_unix;

/** RYR2RG with `squawk` for time_position in [from, to) s after the start. */
function withSquawk(squawk: string, from: number, to: number): Flight[] {
  return ryr.map((f) => {
    const dt = f.time_position_unix - t0;
    return dt >= from && dt < to ? { ...f, squawk } : f;
  });
}

/** Every emitted event version, in order, of kind emergency_squawk. */
function run(flights: Flight[]): AnomalyEvent[] {
  const engine = createDetectionEngine({ runways });
  const out: AnomalyEvent[] = [];
  for (const f of flights) out.push(...engine.ingest(f).events);
  out.push(...engine.flush().events);
  return out.filter((e) => e.kind === "emergency_squawk").map((e) => AnomalyEvent.parse(e));
}

const iso = (dt: number) => new Date((t0 + dt) * 1000).toISOString();

Deno.test("squawk: RYR2RG_squawk7700_derived: onset, then clearance under the same id", () => {
  const versions = run(withSquawk("7700", 300, 600));
  assert.equal(versions.length, 2);
  const [onset, cleared] = versions as [AnomalyEvent, AnomalyEvent];
  assert.equal(onset.id, cleared.id);
  assert.equal(onset.severity, "critical");
  assert.equal(onset.callsign, "RYR2RG");
  assert.equal(onset.started_at, iso(300));
  assert.equal(onset.ended_at, null);
  assert.equal(onset.evidence.squawk, "7700");
  assert.equal(onset.evidence.meaning, "general emergency");
  // Cleared at the first update showing another code, once that lasted 30 s.
  const firstAfter = ryr.find((f) => f.time_position_unix - t0 >= 600)!;
  assert.equal(cleared.ended_at, new Date(firstAfter.time_position_unix * 1000).toISOString());
  assert.equal(cleared.evidence.closed_by, "cleared");
  assert.ok((cleared.evidence.observations as number) > 250);
  // Deterministic across runs.
  assert.deepEqual(run(withSquawk("7700", 300, 600)), versions);
});

Deno.test("squawk: RYR2RG_squawk7700_flicker_derived: a 10 s change does not clear it", () => {
  const flicker = withSquawk("7700", 300, 900).map((f) => {
    const dt = f.time_position_unix - t0;
    return dt >= 500 && dt < 510 ? { ...f, squawk: "4221" } : f;
  });
  const versions = run(flicker);
  assert.equal(versions.length, 2);
  assert.equal(new Set(versions.map((v) => v.id)).size, 1);
  assert.ok(Date.parse(versions[1]!.ended_at!) >= Date.parse(iso(900)));
});

Deno.test("squawk: RYR2RG_squawk7600_7700_derived: a change of code is a new event", () => {
  const flights = withSquawk("7600", 100, 400).map((f) => {
    const dt = f.time_position_unix - t0;
    return dt >= 400 && dt < 700 ? { ...f, squawk: "7700" } : f;
  });
  const versions = run(flights);
  const ids = [...new Set(versions.map((v) => v.id))];
  assert.equal(ids.length, 2);
  const finals = ids.map((id) => versions.findLast((v) => v.id === id)!);
  assert.deepEqual(finals.map((v) => v.evidence.squawk), ["7600", "7700"]);
  assert.equal(finals[0]!.evidence.closed_by, "code_changed");
  assert.ok(finals.every((v) => v.ended_at !== null));
});

Deno.test("squawk: RYR2RG_squawk7500_to_end_derived: still squawking at the end of input", () => {
  const versions = run(withSquawk("7500", 1000, Infinity));
  assert.equal(versions.length, 2);
  assert.equal(versions[0]!.ended_at, null);
  assert.equal(versions[1]!.evidence.closed_by, "end_of_input");
  assert.equal(versions[1]!.evidence.meaning, "unlawful interference");
});

Deno.test("squawk: the real RYR2RG change 6675 -> 4221 raises nothing", () => {
  const codes = [...new Set(ryr.map((f) => f.squawk))];
  assert.deepEqual(codes, ["6675", "4221"]);
  assert.deepEqual(run(ryr), []);
});
