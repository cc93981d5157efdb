/**
 * Emergency descents. No real recording has one, so the positive cases take
 * the real RYR2RG cruise (FL370 over France) and rewrite its altitude; the
 * derived data says so in its name. The real negative cases (HFY312P's
 * vertical-rate spike, VLG64MN's altitude jump over Switzerland) are in
 * detect_recordings_test.ts.
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
const CRUISE = 11_277.6;

/** RYR2RG descending at `rate` m/s from 300 s for `seconds`, then level. */
function descending(rate: number, seconds: number): Flight[] {
  return ryr.map((f) => {
    const dt = Math.min(Math.max(f.time_position_unix - t0 - 300, 0), seconds);
    const descending = f.time_position_unix - t0 > 300 && dt < seconds;
    return {
      ...f,
      altitude_m: Math.round((CRUISE - rate * dt) * 100) / 100,
      vertical_rate_mps: descending ? -rate : 0,
    };
  });
}

function descents(flights: Flight[]): AnomalyEvent[] {
  const engine = createDetectionEngine({ runways });
  const out: AnomalyEvent[] = [];
  for (const f of flights) out.push(...engine.ingest(f).events);
  out.push(...engine.flush().events);
  return out.filter((e) => e.kind === "emergency_descent").map((e) => AnomalyEvent.parse(e));
}

Deno.test("descent: RYR2RG_descent_5000fpm_derived fires once, then ends at level-off", () => {
  const versions = descents(descending(25.4, 180));
  assert.equal(versions.length, 2);
  const [onset, ended] = versions as [AnomalyEvent, AnomalyEvent];
  assert.equal(onset.id, ended.id);
  assert.equal(onset.severity, "critical");
  assert.equal(onset.ended_at, null);
  const start = Date.parse(onset.started_at) / 1000 - t0;
  assert.ok(start >= 295 && start <= 310, `started ${start} s in`);
  assert.equal(ended.evidence.closed_by, "levelled_off");
  const end = Date.parse(ended.ended_at!) / 1000 - t0;
  assert.ok(end >= 470 && end <= 500, `ended ${end} s in`);
  assert.ok(Math.abs((ended.evidence.altitude_lost_m as number) - 25.4 * 180) < 300);
  assert.ok((ended.evidence.max_rate_fpm as number) > 4_500);
});

Deno.test("descent: RYR2RG_descent_2000fpm_derived is a normal descent", () => {
  assert.deepEqual(descents(descending(10.16, 300)), []);
});

Deno.test("descent: RYR2RG_altitude_step_derived: a 2,500 m jump is not a descent", () => {
  const step = ryr.map((f) =>
    f.time_position_unix - t0 >= 300 ? { ...f, altitude_m: CRUISE - 2_500 } : f
  );
  assert.deepEqual(descents(step), []);
});

Deno.test("descent: RYR2RG_vertical_rate_spikes_derived: -80 m/s readings alone do nothing", () => {
  const spikes = ryr.map((f) =>
    (f.time_position_unix - t0) % 60 < 3 ? { ...f, vertical_rate_mps: -80 } : f
  );
  assert.deepEqual(descents(spikes), []);
});
