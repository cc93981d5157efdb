/** The detection engine's contract with the worker: smoothed output, sessions, flushing. */
import assert from "node:assert/strict";
import { AnomalyEvent } from "../contracts/anomaly.ts";
import { createDetectionEngine } from "../lib/detect/engine.ts";
import type { SessionChange } from "../lib/detect/session.ts";
import { loadRunwayIndex } from "../scripts/detect.ts";
import { recordedFlights } from "./_recordings.ts";

const runways = await loadRunwayIndex();

const flightsOf = (name: string) => recordedFlights(name);

const EDW = await flightsOf("opensky_sv_EDW24_LSZH-taxi_2024-04-06_1s.jsonl");
const EZY = await flightsOf(
  "opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl",
);

Deno.test("engine: EDW24's null surface fields give finite smoothed output and a session", () => {
  const engine = createDetectionEngine({ runways });
  const changes: SessionChange[] = [];
  const events: AnomalyEvent[] = [];
  let ignored = 0;
  for (const flight of EDW) {
    const result = engine.ingest(flight);
    changes.push(...result.sessionChanges);
    events.push(...result.events);
    if (result.status === "ignored") {
      ignored++;
      assert.equal(result.smoothed, null);
      assert.ok(result.reason === "duplicate" || result.reason === "out_of_order");
      continue;
    }
    const s = result.smoothed!;
    for (const v of [s.lat, s.lon, s.ground_speed_mps, s.track_deg]) assert.ok(Number.isFinite(v));
    assert.ok(s.altitude_m === null || Number.isFinite(s.altitude_m));
    assert.ok(s.vertical_rate_mps === null || Number.isFinite(s.vertical_rate_mps));
    assert.equal(s.icao24, "4b1901");
    assert.equal(s.session_id, `4b1901-${EDW[0]!.time_position_unix}`);
  }
  assert.ok(ignored > 500, "OpenSky repeats surface rows with the same time_position");
  assert.deepEqual(changes.map((c) => c.type), ["open"]);
  const open = changes[0]!.session;
  assert.equal(open.id, `4b1901-${EDW[0]!.time_position_unix}`);
  assert.equal(open.callsign, "EDW24");
  assert.equal(open.ended_at, null);
  assert.deepEqual(events.map((e) => e.kind), ["takeoff"]);
  assert.equal(engine.session("4b1901")!.id, open.id);
  assert.equal(engine.stats.aircraft, 1);

  const last = EDW.at(-1)!;
  assert.deepEqual(engine.flush(last.last_contact_unix + 1_200).ended, []);
  const flushed = engine.flush(last.last_contact_unix + 1_201);
  assert.deepEqual(flushed.ended, ["4b1901"]);
  assert.deepEqual(flushed.events.map((e) => [e.kind, e.evidence.reason]), [
    ["flight_end", "timeout"],
  ]);
  AnomalyEvent.parse(flushed.events[0]);
  assert.equal(flushed.sessionChanges[0]!.type, "close");
  assert.equal(flushed.sessionChanges[0]!.session.end_reason, "timeout");
  assert.equal(engine.session("4b1901"), null);
});

Deno.test("engine: EZY158T_touchdown_20s_derived: a landing then take-off starts a new session", () => {
  // The real recording touches the ground for 4 s at 16:25:56Z; here the ground flag is held
  // for 20 s, long enough to confirm a landing, and the climb-out becomes a take-off.
  const from = Date.parse("2017-02-05T16:25:56Z") / 1000;
  const derived = EZY.map((f) =>
    f.time_position_unix >= from && f.time_position_unix < from + 22 ? { ...f, on_ground: true } : f
  );
  const engine = createDetectionEngine({ runways });
  const changes: SessionChange[] = [];
  const kinds: string[] = [];
  for (const flight of derived) {
    const result = engine.ingest(flight);
    changes.push(...result.sessionChanges);
    kinds.push(...result.events.map((e) => e.kind));
  }
  assert.deepEqual(kinds, ["go_around", "landing", "takeoff"]);
  assert.deepEqual(changes.map((c) => c.type), ["open", "close", "open"]);
  const closed = changes[1]!.session;
  assert.equal(closed.end_reason, "landing");
  assert.equal(closed.ended_at, "2017-02-05T16:25:56.000Z");
  assert.notEqual(changes[2]!.session.id, closed.id);
});

Deno.test("engine: capacity eviction closes the session without a flight_end", async () => {
  const swiss = await flightsOf("states_switzerland_2018-08-01T1130Z_30min_10s.jsonl");
  const engine = createDetectionEngine({ runways, maxAircraft: 1 });
  const first = engine.ingest(swiss[0]!);
  const second = engine.ingest(swiss.find((f) => f.icao24 !== swiss[0]!.icao24)!);
  assert.deepEqual(first.sessionChanges.map((c) => c.type), ["open"]);
  assert.deepEqual(second.sessionChanges.map((c) => [c.type, c.session.end_reason]), [
    ["open", null],
    ["close", "evicted"],
  ]);
  assert.deepEqual(second.events, []);
  assert.equal(engine.stats.aircraft, 1);
});
