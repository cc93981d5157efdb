import assert from "node:assert/strict";
import {
  angleDiffDeg,
  angleDistDeg,
  createEnuFrame,
  destinationPoint,
  EARTH_RADIUS_M,
  FPM,
  FT,
  haversineM,
  initialBearingDeg,
  KT,
  NM,
  normalizeDeg,
  wrapLon,
} from "../lib/geo/mod.ts";

const dms = (d: number, m: number, s: number) => d + m / 60 + s / 3600;

Deno.test("geo: unit constants", () => {
  assert.equal(1000 * FT, 304.8);
  assert.equal(NM, 1852);
  assert.ok(Math.abs(100 * KT - 51.4444) < 1e-4);
  assert.ok(Math.abs(3000 * FPM - 15.24) < 1e-12);
});

Deno.test("geo: haversine distances", () => {
  const oneDegree = (EARTH_RADIUS_M * Math.PI) / 180;
  assert.ok(Math.abs(haversineM({ lat: 0, lon: 0 }, { lat: 1, lon: 0 }) - oneDegree) < 1e-6);
  assert.ok(
    Math.abs(haversineM({ lat: 0, lon: 0 }, { lat: 0, lon: 180 }) - Math.PI * EARTH_RADIUS_M) <
      1e-3,
  );
  assert.equal(haversineM({ lat: 47.45, lon: 8.55 }, { lat: 47.45, lon: 8.55 }), 0);
  // Movable Type's worked example (Land's End to John o' Groats): 968.9 km.
  const a = { lat: dms(50, 3, 59), lon: -dms(5, 42, 53) };
  const b = { lat: dms(58, 38, 38), lon: -dms(3, 4, 12) };
  assert.ok(Math.abs(haversineM(a, b) / 1000 - 968.9) < 0.05);
  // Symmetric, and fine across the antimeridian.
  assert.equal(haversineM(a, b), haversineM(b, a));
  const across = haversineM({ lat: 0, lon: 179.9 }, { lat: 0, lon: -179.9 });
  assert.ok(Math.abs(across - 0.2 * oneDegree) < 1e-6);
});

Deno.test("geo: initial bearing", () => {
  assert.equal(initialBearingDeg({ lat: 0, lon: 0 }, { lat: 1, lon: 0 }), 0);
  assert.ok(Math.abs(initialBearingDeg({ lat: 0, lon: 0 }, { lat: 0, lon: 1 }) - 90) < 1e-9);
  assert.ok(Math.abs(initialBearingDeg({ lat: 0, lon: 0 }, { lat: -1, lon: 0 }) - 180) < 1e-9);
  assert.ok(Math.abs(initialBearingDeg({ lat: 0, lon: 0 }, { lat: 0, lon: -1 }) - 270) < 1e-9);
  const a = { lat: dms(50, 3, 59), lon: -dms(5, 42, 53) };
  const b = { lat: dms(58, 38, 38), lon: -dms(3, 4, 12) };
  // 009°07'11" in the same example.
  assert.ok(Math.abs(initialBearingDeg(a, b) - dms(9, 7, 11)) < 0.001);
});

Deno.test("geo: destination point", () => {
  // Movable Type: 53°19'14"N 001°43'47"W, 096°01'18", 124.8 km -> 53°11'18"N 000°08'00"E.
  const start = { lat: dms(53, 19, 14), lon: -dms(1, 43, 47) };
  const p = destinationPoint(start, dms(96, 1, 18), 124_800);
  assert.ok(Math.abs(p.lat - dms(53, 11, 18)) < 0.0005);
  assert.ok(Math.abs(p.lon - dms(0, 8, 0)) < 0.0005);
  // Inverse of haversine + bearing.
  const q = destinationPoint({ lat: 43.6156, lon: 1.38022 }, 323, 5_000);
  assert.ok(Math.abs(haversineM({ lat: 43.6156, lon: 1.38022 }, q) - 5_000) < 1e-6);
  assert.ok(Math.abs(initialBearingDeg({ lat: 43.6156, lon: 1.38022 }, q) - 323) < 1e-6);
  assert.ok(Math.abs(destinationPoint({ lat: 0, lon: 179.5 }, 90, 111_195).lon + 179.5) < 0.01);
});

Deno.test("geo: angle helpers", () => {
  assert.equal(normalizeDeg(-10), 350);
  assert.equal(normalizeDeg(720), 0);
  assert.equal(angleDiffDeg(350, 10), 20);
  assert.equal(angleDiffDeg(10, 350), -20);
  assert.equal(angleDiffDeg(0, 180), 180);
  assert.equal(angleDiffDeg(90, 90), 0);
  assert.equal(angleDistDeg(10, 350), 20);
  assert.equal(wrapLon(190), -170);
  assert.equal(wrapLon(-180), -180);
});

Deno.test("geo: ENU frame projects and inverts, north up and east right", () => {
  const ref = { lat: 52.3, lon: 4.76 };
  const frame = createEnuFrame(ref);
  assert.deepEqual(frame.toEnu(ref), { east: 0, north: 0 });
  const north = frame.toEnu(destinationPoint(ref, 0, 1_000));
  assert.ok(Math.abs(north.north - 1_000) < 0.01 && Math.abs(north.east) < 1e-6);
  const east = frame.toEnu(destinationPoint(ref, 90, 1_000));
  assert.ok(Math.abs(east.east - 1_000) < 0.01 && Math.abs(east.north) < 0.2);
  for (const [bearing, distance] of [[0, 50_000], [137, 20_000], [250, 35_000], [315, 80]]) {
    const p = destinationPoint(ref, bearing!, distance!);
    const en = frame.toEnu(p);
    // Tangent-plane distance shrinks by cos(d/R): under 0.5 m at 20 km.
    const expected = EARTH_RADIUS_M * Math.sin(distance! / EARTH_RADIUS_M);
    assert.ok(Math.abs(Math.hypot(en.east, en.north) - expected) < 1e-6);
    const back = frame.fromEnu(en.east, en.north);
    assert.ok(Math.abs(back.lat - p.lat) < 1e-9 && Math.abs(back.lon - p.lon) < 1e-9);
  }
  // Meridian convergence: zero on the reference meridian, east of it north leans left.
  assert.ok(Math.abs(frame.convergenceDeg({ lat: 52.5, lon: 4.76 })) < 1e-9);
  const gamma = frame.convergenceDeg({ lat: 52.3, lon: 5.06 });
  assert.ok(gamma < 0 && Math.abs(gamma + 0.3 * Math.sin(52.3 * Math.PI / 180)) < 0.01);
});
