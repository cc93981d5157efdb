/**
 * readsb's declared emergency states (the flight's `emergency`) feed the
 * emergency detector beyond 7x00 squawks. No recording carries one, so the
 * real RYR2RG cruise gets an `emergency` field for a while: derived data,
 * named so (RYR2RG_minfuel_derived).
 */
import assert from "node:assert/strict";
import { AnomalyEvent } from "../contracts/anomaly.ts";
import type { Flight } from "../contracts/flight.ts";
import { createDetectionEngine } from "../lib/detect/engine.ts";
import { loadRunwayIndex } from "../scripts/detect.ts";
import { recordedFlights } from "./_recordings.ts";

const runways = await loadRunwayIndex();
const ryr: Flight[] = await recordedFlights("opensky_sv_RYR2RG_cruise-FL370_2022-02-02_1s.jsonl");
const t0 = ryr[0]!.time_position_unix;

function run(flights: Flight[]): AnomalyEvent[] {
  const engine = createDetectionEngine({ runways });
  const out: AnomalyEvent[] = [];
  for (const f of flights) out.push(...engine.ingest(f).events);
  out.push(...engine.flush().events);
  return out.filter((e) => e.kind === "emergency_squawk").map((e) => AnomalyEvent.parse(e));
}

Deno.test("emergency state: RYR2RG_minfuel_derived opens and clears an emergency without a 7x00 squawk", () => {
  const derived = ryr.map((f) => {
    const dt = f.time_position_unix - t0;
    return dt >= 300 && dt < 600 ? { ...f, emergency: "minfuel" as const } : f;
  });
  const versions = run(derived);
  assert.equal(versions.length, 2);
  const [onset, cleared] = versions as [AnomalyEvent, AnomalyEvent];
  assert.equal(onset.id, cleared.id);
  assert.equal(onset.severity, "critical");
  assert.equal(onset.evidence.emergency, "minfuel");
  assert.equal(onset.evidence.meaning, "minimum fuel");
  assert.equal(onset.evidence.squawk, derived.find((f) => f.emergency)!.squawk);
  assert.equal(cleared.evidence.closed_by, "cleared");
  // Without the field, the real recording has no emergency.
  assert.equal(run(ryr).length, 0);
});

Deno.test("emergency state: a 7700 squawk wins over a declared state at the same time", () => {
  const derived = ryr.map((f) => {
    const dt = f.time_position_unix - t0;
    return dt >= 300 && dt < 600 ? { ...f, squawk: "7700", emergency: "general" as const } : f;
  });
  const [onset] = run(derived);
  assert.equal(onset!.evidence.squawk, "7700");
  assert.equal(onset!.evidence.emergency, undefined);
});
