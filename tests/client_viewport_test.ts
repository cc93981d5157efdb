/**
 * The viewport the globe subscribes to (lib/client/viewport.ts): the view
 * of globe.gl's camera as a cap, its box with a margin, the antimeridian
 * and the poles, and the hysteresis that keeps small moves silent.
 */
import assert from "node:assert/strict";
import {
  boxArea,
  boxContains,
  capBox,
  viewportBoxes,
  ViewportTracker,
  viewRadiusDeg,
} from "../lib/client/viewport.ts";
import { compileFilter } from "../lib/hub/filter.ts";

Deno.test("viewport: the view radius is the horizon from far away and the field of view up close", () => {
  // globe.gl's default altitude 2.5: the horizon, acos(1/3.5) = 73.4 degrees.
  assert.ok(Math.abs(viewRadiusDeg({ lat: 0, lng: 0, altitude: 2.5 }) - 73.4) < 0.1);
  // Close up the frustum limits it: at 0.1 radii (637 km) with a 50 degree field of
  // view the corners reach a few degrees, far less than the 24.6 degree horizon.
  const near = viewRadiusDeg({ lat: 0, lng: 0, altitude: 0.1 });
  assert.ok(near > 3 && near < 10, String(near));
  assert.ok(near < Math.acos(1 / 1.1) * 180 / Math.PI);
  // Wider canvases see more.
  assert.ok(viewRadiusDeg({ lat: 0, lng: 0, altitude: 0.1 }, { aspect: 3 }) > near);
});

Deno.test("viewport: boxes across the antimeridian and over a pole; the whole world is no box", () => {
  const fiji = capBox(-17.8, 178.5, 5)!;
  assert.ok(fiji[1] > fiji[3], `antimeridian box ${fiji}`);
  // The hub's own bbox rule (lib/hub/filter.ts) accepts both sides of 180.
  const inside = compileFilter({ bbox: fiji });
  const at = (lat: number, lon: number) =>
    inside({ position: { lat, lon }, on_ground: false, callsign: null, altitude_m: 1000 } as never);
  assert.ok(at(-17.8, 179.9) && at(-17.8, -179.9) && !at(-17.8, 170));
  assert.deepEqual(capBox(85, 10, 8), [77, -180, 90, 180], "over the pole: every longitude");
  assert.equal(capBox(0, 0, 95), null);
  assert.equal(viewportBoxes({ lat: 46.8, lng: 8.2, altitude: 2.5 }).want, null);
  const zoomed = viewportBoxes({ lat: 46.8, lng: 8.2, altitude: 0.1 });
  assert.ok(zoomed.want && zoomed.view && boxContains(zoomed.want, zoomed.view));
  assert.ok(boxArea(zoomed.want) < 0.05, "a regional box");
  // Whole degrees, so neighbouring viewers share the hub's buckets.
  assert.ok(zoomed.want.every(Number.isInteger));
  assert.ok(Math.abs(boxArea(null) - 1) < 1e-12);
  assert.ok(Math.abs(boxArea([0, -180, 90, 180]) - 0.5) < 1e-12);
});

Deno.test("viewport: hysteresis keeps small pans and zooms silent and follows big moves", () => {
  const t = new ViewportTracker();
  assert.equal(t.update({ lat: 46.8, lng: 8.2, altitude: 2.5 }), true, "first: the world");
  assert.equal(t.bbox, null);
  assert.equal(t.update({ lat: 40, lng: 20, altitude: 2.4 }), false, "still the world");
  assert.equal(t.update({ lat: 46.8, lng: 8.2, altitude: 0.15 }), true, "zoomed in");
  const box = t.bbox!;
  assert.equal(t.update({ lat: 47.2, lng: 8.9, altitude: 0.15 }), false, "small pan");
  assert.equal(t.update({ lat: 46.8, lng: 8.2, altitude: 0.13 }), false, "small zoom in");
  assert.deepEqual(t.bbox, box);
  assert.equal(t.update({ lat: 46.8, lng: 8.2, altitude: 0.01 }), true, "much closer: shrink");
  assert.ok(boxArea(t.bbox) < boxArea(box));
  assert.equal(t.update({ lat: 51.5, lng: -0.1, altitude: 0.01 }), true, "to London");
  assert.equal(t.update({ lat: 51.5, lng: -0.1, altitude: 2.5 }), true, "out to the world");
  assert.equal(t.bbox, null);
});
