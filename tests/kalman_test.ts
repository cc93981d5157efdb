import assert from "node:assert/strict";
import type { Flight } from "../contracts/flight.ts";
import { angleDistDeg, destinationPoint, haversineM } from "../lib/geo/mod.ts";
import type { KalmanEstimate } from "../lib/track/kalman.ts";
import { createTracker } from "../lib/track/tracker.ts";
import { fixture, recordedFlights } from "./_recordings.ts";
import { seededRandom } from "./_prng.ts";

const EZY = fixture("opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl");
const RYR = fixture("opensky_sv_RYR2RG_cruise-FL370_2022-02-02_1s.jsonl");
const SWISS = fixture("states_switzerland_2018-08-01T1130Z_30min_10s.jsonl");

/** Flights of a recording in file order (optionally one aircraft). */
const flightsOf = (url: URL, icao24?: string) => recordedFlights(url, { icao24 });

/** Accepted estimates of feeding `flights` through a fresh tracker. */
function smooth(flights: Flight[]): KalmanEstimate[] {
  const tracker = createTracker({ createState: () => null });
  const out: KalmanEstimate[] = [];
  for (const flight of flights) {
    const result = tracker.update(flight);
    if (result.status === "accepted") out.push(result.estimate);
  }
  return out;
}

const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const at = (iso: string) => Date.parse(iso) / 1000;

for (const [name, url] of [["EZY158T", EZY], ["RYR2RG", RYR]] as const) {
  Deno.test(`kalman: smoothed ${name} stays close to the raw track`, async () => {
    const estimates = smooth(await flightsOf(url));
    assert.ok(estimates.length > 1000);
    const error = median(estimates.map((e) => haversineM(e, e.raw)));
    assert.ok(error < 50, `median distance to raw ${error.toFixed(1)} m`);
    const withTrack = estimates.filter((e) => e.raw.track_deg !== null);
    const trackError = median(withTrack.map((e) => angleDistDeg(e.track_deg, e.raw.track_deg!)));
    assert.ok(trackError < 2, `median track error ${trackError.toFixed(2)}°`);
    const altError = median(
      estimates.filter((e) => e.raw.altitude_m !== null).map((e) =>
        Math.abs(e.altitude_m! - e.raw.altitude_m!)
      ),
    );
    assert.ok(altError < 15, `median altitude error ${altError.toFixed(1)} m`);
    for (const e of estimates) {
      for (const v of [e.lat, e.lon, e.ground_speed_mps, e.track_deg, e.altitude_m ?? 0]) {
        assert.ok(Number.isFinite(v));
      }
    }
  });
}

const NOISE_SIGMA_M = 20;
const NOISE_REDUCTION = 3;

for (const [name, url] of [["EZY158T", EZY], ["RYR2RG", RYR]] as const) {
  Deno.test(
    `kalman: ${name}_noise${NOISE_SIGMA_M}m_derived (Gaussian ${NOISE_SIGMA_M} m per axis added ` +
      `to the real positions): the filter cuts the error the noise adds by ${NOISE_REDUCTION}x`,
    async () => {
      const original = await flightsOf(url);
      const random = seededRandom(15);
      const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      const noisy = original.map((f) => {
        const north = destinationPoint(f.position, 0, NOISE_SIGMA_M * gauss());
        return { ...f, position: destinationPoint(north, 90, NOISE_SIGMA_M * gauss()) };
      });
      // The error the noise adds: raw noisy positions against the recorded ones, and smoothed
      // noisy estimates against the smoothed recording (the filter's own answer without the
      // noise; the recorded positions carry a timing offset the filter corrects on purpose).
      const recorded = new Map<number, Flight["position"]>();
      for (const f of original) {
        if (!recorded.has(f.time_position_unix!)) recorded.set(f.time_position_unix!, f.position);
      }
      const clean = new Map(smooth(original).map((e) => [e.t, e]));
      let rawSq = 0, smoothSq = 0, n = 0;
      for (const e of smooth(noisy)) {
        const reference = clean.get(e.t);
        if (!reference) continue;
        rawSq += haversineM(e.raw, recorded.get(e.t)!) ** 2;
        smoothSq += haversineM(e, reference) ** 2;
        n++;
      }
      assert.ok(n > 1000, `${n} estimates`);
      const rawRms = Math.sqrt(rawSq / n);
      const smoothRms = Math.sqrt(smoothSq / n);
      // 2-D RMS of the noise is sqrt(2) x 20 = 28.3 m: the noise is the size it says.
      assert.ok(
        Math.abs(rawRms - Math.SQRT2 * NOISE_SIGMA_M) < 2,
        `raw RMS ${rawRms.toFixed(1)} m`,
      );
      assert.ok(
        rawRms / smoothRms >= NOISE_REDUCTION,
        `RMS position error ${rawRms.toFixed(1)} m raw, ${smoothRms.toFixed(1)} m smoothed: ` +
          `${(rawRms / smoothRms).toFixed(2)}x, expected at least ${NOISE_REDUCTION}x`,
      );
    },
  );
}

Deno.test("kalman: a 5 km jump injected into RYR2RG (RYR2RG_jump5km_derived) is rejected", async () => {
  const original = await flightsOf(RYR);
  const jumpIndex = 600;
  const jumped = original[jumpIndex]!;
  const derived = original.map((f, i) =>
    i === jumpIndex
      ? { ...f, position: destinationPoint(f.position, (f.heading_deg ?? 0) + 90, 5_000) }
      : f
  );
  const base = smooth(original);
  const withJump = smooth(derived);
  assert.equal(withJump.length, base.length);
  const k = withJump.findIndex((e) => e.t === jumped.time_position_unix);
  assert.ok(k > 0);
  assert.equal(withJump[k]!.rejected.position, true);
  assert.equal(withJump[k]!.reinitialised.horizontal, false);
  assert.ok(haversineM(withJump[k]!, withJump[k]!.raw) > 4_500, "did not follow the jump");
  assert.ok(haversineM(withJump[k]!, base[k]!) < 100, "stayed on the real track");
  for (let i = k + 1; i < k + 30; i++) {
    assert.equal(withJump[i]!.rejected.position, false, `update ${i - k} after the jump`);
    assert.ok(haversineM(withJump[i]!, base[i]!) < 30, `update ${i - k} after the jump`);
  }
  assert.equal(base.filter((e) => e.rejected.position).length, 0);
});

Deno.test("kalman: HFY312P's -83.88 m/s vertical-rate readings do not move the smoothed track", async () => {
  const flights = await flightsOf(SWISS, "495230");
  const spikes = flights.filter((f) => f.vertical_rate_mps === -83.88);
  assert.deepEqual(
    spikes.map((f) => f.time_position_unix),
    [at("2018-08-01T11:40:40Z"), at("2018-08-01T11:40:50Z"), at("2018-08-01T11:41:00Z")],
  );
  assert.ok(spikes.every((f) => f.altitude_m === 10_058.4));
  const estimates = smooth(flights);
  const around = estimates.filter((e) =>
    e.t >= at("2018-08-01T11:40:00Z") && e.t <= at("2018-08-01T11:42:30Z")
  );
  for (const e of around) {
    if (e.raw.vertical_rate_mps === -83.88) assert.equal(e.rejected.vertical_rate, true);
    assert.ok(e.vertical_rate_mps! > -5, `smoothed vertical rate ${e.vertical_rate_mps}`);
    assert.ok(Math.abs(e.altitude_m! - 10_058.4) < 30);
  }
});

Deno.test("tracker: duplicate and late updates are ignored, not re-applied", async () => {
  const flights = (await flightsOf(RYR)).slice(0, 20);
  const tracker = createTracker({ createState: () => ({ n: 0 }) });
  for (const f of flights.slice(0, 10)) assert.equal(tracker.update(f).status, "accepted");
  const entry = tracker.get("4d2271")!;
  const before = { ...entry.lastEstimate, lastTime: entry.lastTime };
  const duplicate = tracker.update(flights[9]!);
  assert.equal(duplicate.status, "ignored");
  assert.equal(duplicate.status === "ignored" && duplicate.reason, "duplicate");
  const late = tracker.update(flights[3]!);
  assert.equal(late.status === "ignored" && late.reason, "out_of_order");
  assert.equal(entry.lastTime, before.lastTime);
  assert.equal(entry.lastEstimate.lat, before.lat);
  const next = tracker.update(flights[10]!);
  assert.equal(next.status, "accepted");
  assert.equal(next.status === "accepted" && next.isNew, false);
});

Deno.test("tracker: evicts aircraft silent for 20 min of data time, and beyond capacity", async () => {
  const swiss = await flightsOf(SWISS);
  const first = swiss[0]!;
  const tracker = createTracker({ createState: () => null });
  tracker.update(first);
  const other = swiss.find((f) => f.icao24 !== first.icao24)!;
  tracker.update(other);
  assert.deepEqual(tracker.expire(first.last_contact_unix + 1_200).map((e) => e.icao24), []);
  const gone = tracker.expire(Math.max(first.last_contact_unix, other.last_contact_unix) + 1_201);
  assert.deepEqual(gone.map((e) => e.icao24), [first.icao24, other.icao24].sort());
  assert.equal(tracker.size, 0);

  const small = createTracker({ createState: () => null, maxAircraft: 2 });
  const three = [...new Map(swiss.map((f) => [f.icao24, f])).values()].slice(0, 3);
  for (const f of three) small.update(f);
  assert.equal(small.size, 2);
  assert.deepEqual(small.takeEvicted().map((e) => e.icao24), [three[0]!.icao24]);
  assert.deepEqual(small.takeEvicted(), []);
  assert.equal(small.get(three[0]!.icao24), undefined);
});
