/**
 * The per-frame aircraft writer (lib/client/aircraft_frame.ts): its fast,
 * allocation-free loop must draw every aircraft exactly where the reference
 * dead reckoning (`FlightStore.displayAt`) puts it, turned to its track,
 * at a constant size on screen, in the right colour.
 */
import assert from "node:assert/strict";
import { type InstanceSink, writeFrame } from "../lib/client/aircraft_frame.ts";
import type { InstancePose } from "../lib/client/aircraft_layer.ts";
import { aircraftColour, toHex } from "../lib/client/colour_scale.ts";
import { FlightStore } from "../lib/client/flight_store.ts";
import { haversineM } from "../lib/geo/mod.ts";
import { headingVector, toGeo } from "../lib/client/globe_coords.ts";
import { flightsCopiesForLoad, replies } from "./_hub_harness.ts";

class Capture implements InstanceSink {
  readonly index = new Map<string, number>();
  readonly poses: { pose: InstancePose; rgb: [number, number, number] }[] = [];
  constructor(ids: Iterable<string>) {
    for (const id of ids) this.index.set(id, this.index.size);
  }
  indexOf(id: string) {
    return this.index.get(id);
  }
  write(i: number, pose: InstancePose, r: number, g: number, b: number) {
    this.poses[i] = { pose: structuredClone(pose), rgb: [r, g, b] };
  }
}

Deno.test("writeFrame draws every aircraft where the reference dead reckoning puts it", () => {
  const store = new FlightStore();
  const t0 = replies[80]!.time;
  store.replace(flightsCopiesForLoad(80, 0), t0 + 3);
  // A second snapshot 10 s later starts blends (corrections) on most aircraft.
  for (const f of flightsCopiesForLoad(81, 0)) store.upsert(f, t0 + 14);
  const withBlend = [...store.flights.values()].filter((t) => t.correction !== null).length;
  assert.ok(withBlend > 10, `${withBlend} aircraft blending`);
  const sink = new Capture(store.flights.keys());
  const selectedId = [...store.flights.keys()][3]!;
  for (const now of [t0 + 14.2, t0 + 14.9, t0 + 30, t0 + 200]) {
    const selected = writeFrame(store, sink, {
      nowS: now,
      camera: [0, 80, 200],
      unitsPerPxAtOne: 0.001,
      markerPx: 15,
      selected: selectedId,
      cockpit: false,
      highlight: null,
      emergencies: new Set(),
    });
    for (const [id, i] of sink.index) {
      const t = store.flights.get(id)!;
      const ref = store.displayAt(t, now);
      const { pose, rgb } = sink.poses[i]!;
      const g = toGeo(pose.position);
      assert.ok(
        haversineM({ lat: g.lat, lon: g.lng }, { lat: ref.lat, lon: ref.lon }) < 1,
        `${id} at +${now - t0} s`,
      );
      const alt = t.flight.on_ground ? 30 : Math.max(30, ref.altM);
      assert.ok(Math.abs(g.relAlt * 6_371_008.8 - alt) < 0.5);
      const h = headingVector(g.lat, g.lng, t.kinematics.trackDeg ?? 0);
      const dot = h[0] * pose.forward[0] + h[1] * pose.forward[1] + h[2] * pose.forward[2];
      assert.ok(dot > 0.999999, `${id} heading`);
      // Constant size on screen: scale / distance to the camera is the same for all.
      const d = Math.hypot(200 - pose.position[2], 80 - pose.position[1], pose.position[0]);
      const expected = d * 0.001 * 15 * (id === selectedId ? 1.7 : 1);
      assert.ok(Math.abs(pose.scale - expected) < 1e-9);
      if (id !== selectedId && store.ghost(t, now) === 0) {
        assert.equal(
          toHex(rgb),
          toHex(aircraftColour(t.flight.altitude_m ?? t.flight.geo_altitude_m, t.flight.on_ground)),
        );
      }
    }
    const ref = store.displayAt(store.flights.get(selectedId)!, now);
    assert.ok(
      selected &&
        haversineM({ lat: selected.lat, lon: selected.lng }, { lat: ref.lat, lon: ref.lon }) < 1,
    );
  }
  // Long after the last update the aircraft are ghosts: dimmer than their altitude colour.
  const some = sink.poses[0]!.rgb;
  const t = store.flights.get(sink.index.keys().next().value!)!;
  const base = aircraftColour(t.flight.altitude_m, t.flight.on_ground);
  assert.ok(some[0] + some[1] + some[2] < base[0] + base[1] + base[2]);
});
