import assert from "node:assert/strict";
import {
  boxAreaSqDeg,
  checkBudget,
  minimumPollInterval,
  requestCost,
} from "../lib/opensky/credits.ts";
import type { BBox } from "../contracts/common.ts";

// The box of the bundled Switzerland recording: 1.99 x 4.53 deg = 9 sq deg.
const SWITZERLAND: BBox = [45.82, 5.96, 47.81, 10.49];

Deno.test("credits: box area and the cost steps 1/2/3/4 at 25/100/400 sq deg", () => {
  assert.ok(Math.abs(boxAreaSqDeg(SWITZERLAND) - 1.99 * 4.53) < 1e-9);
  assert.equal(requestCost(SWITZERLAND), 1);
  assert.equal(requestCost([0, 0, 5, 5]), 1); // exactly 25
  assert.equal(requestCost([0, 0, 5, 5.01]), 2);
  assert.equal(requestCost([0, 0, 10, 10]), 2); // exactly 100
  assert.equal(requestCost([0, 0, 20, 20]), 3); // exactly 400
  assert.equal(requestCost([0, 0, 20, 20.1]), 4);
  assert.equal(requestCost(null), 4); // whole world
});

Deno.test("credits: daily budgets 400/4000/8000 and whether an interval fits", () => {
  // Anonymous, small box, every 10 s: 8640 polls > 400 credits.
  const anon = checkBudget(10, { bbox: SWITZERLAND, account: "anonymous" });
  assert.equal(anon.budget, 400);
  assert.equal(anon.pollsPerDay, 8640);
  assert.equal(anon.fits, false);
  assert.equal(anon.minIntervalS, 216); // 86400 / 400
  // Standard account: 4000 credits, cost 1 -> 21.6 s, rounded up to 22.
  const std = checkBudget(22, { bbox: SWITZERLAND, account: "standard" });
  assert.equal(std.budget, 4000);
  assert.equal(std.fits, true);
  assert.equal(std.minIntervalS, 22);
  assert.equal(checkBudget(21, { bbox: SWITZERLAND, account: "standard" }).fits, false);
  // Feeder, whole world (cost 4): 8000 / 4 = 2000 polls -> 43.2 s -> 44 s.
  assert.equal(minimumPollInterval({ bbox: null, account: "feeder" }), 44);
  assert.equal(checkBudget(44, { bbox: null, account: "feeder" }).fits, true);
  assert.equal(checkBudget(43, { bbox: null, account: "feeder" }).fits, false);
  // Anonymous whole world: 100 polls a day.
  assert.equal(minimumPollInterval({ bbox: null, account: "anonymous" }), 864);
});

Deno.test("credits: the suggested interval is never finer than OpenSky's time resolution", () => {
  // A feeder with a tiny box could poll every 10.8 s by credits; fine. But resolution bounds too:
  assert.equal(minimumPollInterval({ bbox: SWITZERLAND, account: "feeder" }), 11);
  assert.ok(minimumPollInterval({ bbox: SWITZERLAND, account: "anonymous" }) >= 10);
  assert.throws(() => checkBudget(0, { bbox: null, account: "standard" }), RangeError);
});
