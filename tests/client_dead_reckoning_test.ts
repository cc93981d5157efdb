/**
 * Ghost interpolation math (lib/client/dead_reckoning.ts, flight_store.ts)
 * against real tracks of the Switzerland recording.
 */
import assert from "node:assert/strict";
import type { Flight } from "../contracts/flight.ts";
import {
  applyCorrection,
  extrapolate,
  ghostLevel,
  type Kinematics,
  makeCorrection,
  nextInterval,
} from "../lib/client/dead_reckoning.ts";
import { FlightStore, kinematicsOf } from "../lib/client/flight_store.ts";
import { haversineM, offsetMetres } from "../lib/geo/mod.ts";
import { stateVectorToFlight } from "../lib/opensky/state_vector.ts";
import { replies } from "./_hub_harness.ts";

/** Every state of one aircraft in the recording, oldest first. */
function trackOf(icao24: string): Flight[] {
  const out: Flight[] = [];
  for (const r of replies) {
    for (const row of r.states ?? []) {
      const f = stateVectorToFlight(row);
      if (f.ok && f.flight.icao24 === icao24) out.push(f.flight);
    }
  }
  return out;
}

/** The aircraft with the most states in the recording. */
const busiest = (() => {
  const n = new Map<string, number>();
  for (const r of replies) {
    for (const row of (r.states ?? []) as unknown[][]) {
      n.set(String(row[0]), (n.get(String(row[0])) ?? 0) + 1);
    }
  }
  return [...n.entries()].sort((a, b) => b[1] - a[1])[0]![0];
})();

Deno.test("extrapolation from a real state predicts the next real position within a few hundred metres", () => {
  const track = trackOf(busiest).filter((f) => f.velocity_mps !== null && f.heading_deg !== null);
  assert.ok(track.length > 50, `busiest aircraft has ${track.length} states`);
  const errors: number[] = [];
  for (let i = 0; i + 1 < track.length; i++) {
    const a = track[i]!, b = track[i + 1]!;
    const gap = b.time_position_unix - a.time_position_unix;
    if (gap <= 0 || gap > 15) continue;
    const p = extrapolate(kinematicsOf(a), b.time_position_unix);
    errors.push(
      haversineM({ lat: p.lat, lon: p.lon }, { lat: b.position.lat, lon: b.position.lon }),
    );
  }
  errors.sort((x, y) => x - y);
  const median = errors[Math.floor(errors.length / 2)]!;
  // 10 s at ~230 m/s is 2.3 km of travel; dead reckoning lands within a small fraction of that.
  assert.ok(median < 400, `median prediction error ${median.toFixed(0)} m`);
});

Deno.test("extrapolation stops at the cap and never goes back in time", () => {
  const k: Kinematics = {
    lat: 46.5,
    lon: 7.5,
    altM: 10_000,
    speedMps: 200,
    trackDeg: 90,
    vrateMps: -5,
    t: 1000,
    onGround: false,
  };
  const at60 = extrapolate(k, 1060, 60);
  const at600 = extrapolate(k, 1600, 60);
  assert.deepEqual(at600, at60);
  assert.ok(
    Math.abs(haversineM({ lat: k.lat, lon: k.lon }, { lat: at60.lat, lon: at60.lon }) - 12_000) < 5,
  );
  assert.equal(at60.altM, 10_000 - 300);
  assert.deepEqual(extrapolate(k, 900), { lat: 46.5, lon: 7.5, altM: 10_000 });
  // On the ground: no vertical motion; unknown speed: no motion.
  assert.equal(extrapolate({ ...k, onGround: true }, 1010).altM, 10_000);
  const still = extrapolate({ ...k, speedMps: null }, 1010);
  assert.equal(still.lat, 46.5);
  assert.equal(still.lon, 7.5);
  // Never below the ground.
  assert.equal(extrapolate({ ...k, altM: 100, vrateMps: -50 }, 1030).altM, 0);
});

Deno.test("ghost level: fresh until 2x the update interval, full ghost at the cap", () => {
  assert.equal(ghostLevel(15, 10), 0);
  assert.equal(ghostLevel(20, 10), 0);
  assert.equal(ghostLevel(40, 10), 0.5);
  assert.equal(ghostLevel(60, 10), 1);
  assert.equal(ghostLevel(600, 10), 1);
  assert.equal(ghostLevel(1, 40, 60), 0);
  assert.equal(ghostLevel(81, 40, 60), 1);
});

Deno.test("interval estimate follows the gaps between positions and ignores outliers", () => {
  assert.equal(nextInterval(null, 10), 10);
  assert.equal(nextInterval(10, 0.1), 10);
  assert.equal(nextInterval(10, 500), 10);
  assert.ok(Math.abs(nextInterval(10, 5)! - 8.5) < 1e-9);
});

Deno.test("a new measurement glides in over about a second, never backwards along the track", () => {
  const track = trackOf(busiest).filter((f) => f.velocity_mps !== null && f.heading_deg !== null);
  let checked = 0;
  for (let i = 0; i + 1 < track.length && checked < 40; i++) {
    const a = track[i]!, b = track[i + 1]!;
    const gap = b.time_position_unix - a.time_position_unix;
    if (gap <= 0 || gap > 15) continue;
    const store = new FlightStore();
    store.upsert(a, a.time_position_unix);
    // The update arrives some seconds after its position time (real feeds lag).
    const arrive = b.time_position_unix + 4;
    const t = store.flights.get(a.icao24)!;
    const before = store.displayAt(t, arrive);
    assert.ok(store.upsert(b, arrive));
    const right = store.displayAt(t, arrive);
    // No jump at the moment of the update.
    assert.ok(
      haversineM({ lat: before.lat, lon: before.lon }, { lat: right.lat, lon: right.lon }) < 1,
      "no jump on update",
    );
    // Along the new track, the marker only moves forward while the blend runs.
    const tr = (b.heading_deg ?? 0) * Math.PI / 180;
    let prevAlong = -Infinity;
    for (let s = 0; s <= 20; s += 0.1) {
      const p = store.displayAt(t, arrive + s);
      const [dn, de] = offsetMetres(b.position.lat, b.position.lon, p.lat, p.lon);
      const along = dn * Math.cos(tr) + de * Math.sin(tr);
      assert.ok(along >= prevAlong - 0.01, `moved back at +${s.toFixed(1)} s (state ${i})`);
      prevAlong = along;
    }
    // Once the blend is over the marker is exactly on the new prediction.
    const done = store.displayAt(t, arrive + 25);
    const pure = extrapolate(kinematicsOf(b), arrive + 25);
    assert.ok(
      haversineM({ lat: done.lat, lon: done.lon }, { lat: pure.lat, lon: pure.lon }) < 0.01,
    );
    checked++;
  }
  assert.ok(checked >= 20, `checked ${checked} updates`);
});

Deno.test("makeCorrection: ahead of the track stretches the blend, far off snaps", () => {
  const at = { lat: 46, lon: 7, altM: 10_000 };
  const ahead = { lat: 46 + 2000 / 111_195, lon: 7, altM: 10_000 }; // 2 km north
  const c = makeCorrection(ahead, at, { nowS: 0, speedMps: 250, trackDeg: 0 })!;
  assert.ok(c.durS >= 2000 / (0.8 * 250) - 1e-9, `blend ${c.durS} s`);
  const behind = makeCorrection(at, ahead, { nowS: 0, speedMps: 250, trackDeg: 0 })!;
  assert.equal(behind.durS, 1);
  const far = { lat: 47, lon: 7, altM: 10_000 };
  assert.equal(makeCorrection(far, at, { nowS: 0, speedMps: 250, trackDeg: 0 }), null);
  assert.equal(makeCorrection(at, at, { nowS: 0, speedMps: 250, trackDeg: 0 }), null);
  const half = applyCorrection(at, { ...behind, durS: 2 }, 1);
  assert.ok(
    Math.abs(haversineM({ lat: half.lat, lon: half.lon }, { lat: at.lat, lon: at.lon }) - 1000) < 2,
  );
});

Deno.test("the store drops updates older than what it holds and tells listeners about arrivals", () => {
  const track = trackOf(busiest);
  const store = new FlightStore();
  const seen: string[] = [];
  store.listen({
    added: (t) => seen.push(`+${t.flight.icao24}`),
    removed: (id) => seen.push(`-${id}`),
  });
  assert.ok(store.upsert(track[5]!, track[5]!.time_position_unix));
  assert.equal(store.upsert(track[3]!, track[5]!.time_position_unix), false);
  assert.equal(store.outOfOrder, 1);
  // The store keeps its own copy (callers may reuse their object: the v2.bin reader does).
  assert.deepEqual(store.flights.get(busiest)!.flight, track[5]);
  assert.notEqual(store.flights.get(busiest)!.flight, track[5]);
  store.replace([], 0);
  assert.deepEqual(seen, [`+${busiest}`, `-${busiest}`]);
});
