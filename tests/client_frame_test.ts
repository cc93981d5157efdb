/**
 * The aircraft layer's instance data (lib/client/aircraft_instances.ts):
 * packed once per update, then evaluated at any time with the vertex
 * shader's arithmetic (`instanceAt`, float32 inputs), every aircraft must be
 * where the reference dead reckoning (`FlightStore.displayAt`) puts it,
 * turned to its track, in the right colour and size; the selected one's
 * CPU position (`drawnAt`) is the reference itself. The browser test
 * (ui_globe_test.ts) checks the GPU draws where `instanceAt` says.
 */
import assert from "node:assert/strict";
import { drawnAt } from "../lib/client/aircraft_frame.ts";
import {
  emptyState,
  instanceAt,
  MODE_MATCH,
  MODE_PLAIN,
  MODE_SELECTED,
  packInstance,
  SIZE_GROUND,
  SIZE_MATCH,
  SIZE_SELECTED,
  STRIDE,
} from "../lib/client/aircraft_instances.ts";
import { aircraftColour, GHOST_COLOUR, toHex } from "../lib/client/colour_scale.ts";
import { FlightStore } from "../lib/client/flight_store.ts";
import { haversineM } from "../lib/geo/mod.ts";
import { headingVector, toGeo } from "../lib/client/globe_coords.ts";
import { flightsCopiesForLoad, replies } from "./_hub_harness.ts";

Deno.test("packed instances evaluated like the shader sit where the reference dead reckoning puts them", () => {
  const store = new FlightStore();
  const t0 = replies[80]!.time;
  store.replace(flightsCopiesForLoad(80, 0), t0 + 3);
  // A second snapshot 10 s later starts blends (corrections) on most aircraft.
  for (const f of flightsCopiesForLoad(81, 0)) store.upsert(f, t0 + 14);
  const withBlend = [...store.flights.values()].filter((t) => t.correction !== null).length;
  assert.ok(withBlend > 10, `${withBlend} aircraft blending`);
  const ids = [...store.flights.keys()];
  const selectedId = ids[3]!, matchId = ids[4]!;
  const epochS = Math.round(t0);
  const data = new Float32Array(ids.length * STRIDE);
  ids.forEach((id, i) => {
    const mode = id === selectedId ? MODE_SELECTED : id === matchId ? MODE_MATCH : MODE_PLAIN;
    packInstance(data, i * STRIDE, store.flights.get(id)!, { epochS, mode, emergency: false });
  });
  const s = emptyState();
  let moved = 0;
  for (const now of [t0 + 14.2, t0 + 14.9, t0 + 30, t0 + 200]) {
    const u = { now: now - epochS, capS: store.capS, pxScale: 0.015, selectedSize: 1.7 };
    ids.forEach((id, i) => {
      const t = store.flights.get(id)!;
      const ref = store.displayAt(t, now);
      instanceAt(data, i * STRIDE, { ...u, search: false }, s);
      const g = toGeo(s.position);
      const off = haversineM({ lat: g.lat, lon: g.lng }, { lat: ref.lat, lon: ref.lon });
      assert.ok(off < 2, `${id} ${off} m off at +${now - t0} s`);
      const alt = t.flight.on_ground ? 30 : Math.max(30, ref.altM);
      assert.ok(Math.abs(g.relAlt * 6_371_008.8 - alt) < 1, `${id} altitude`);
      const h = headingVector(g.lat, g.lng, t.kinematics.trackDeg ?? 0);
      const dot = h[0] * s.forward[0] + h[1] * s.forward[1] + h[2] * s.forward[2];
      assert.ok(dot > 0.99999, `${id} heading`);
      const ground = t.flight.on_ground ? SIZE_GROUND : 1;
      const size = id === selectedId ? SIZE_SELECTED : id === matchId ? SIZE_MATCH : 1;
      assert.ok(Math.abs(s.size - size * ground) < 1e-9);
      assert.ok(Math.abs(s.ghost - store.ghost(t, now)) < 1e-3, `${id} ghost`);
      const base = aircraftColour(
        t.flight.altitude_m ?? t.flight.geo_altitude_m,
        t.flight.on_ground,
      );
      if (id !== selectedId && s.ghost === 0) assert.equal(toHex(s.colour), toHex(base));
      // With a search active, a non-match is dimmed towards the ghost colour.
      if (id !== selectedId && id !== matchId) {
        const dim = instanceAt(data, i * STRIDE, { ...u, search: true }).colour;
        const d0 = Math.hypot(...s.colour.map((c, j) => c - GHOST_COLOUR[j]!));
        const d1 = Math.hypot(...dim.map((c, j) => c - GHOST_COLOUR[j]!));
        assert.ok(d1 < d0 * 0.3 + 1e-9, `${id} dimmed`);
      }
      if (haversineM({ lat: g.lat, lon: g.lng }, t.flight.position) > 100) moved++;
    });
    const d = drawnAt(store, store.flights.get(selectedId)!, now);
    const ref = store.displayAt(store.flights.get(selectedId)!, now);
    assert.ok(haversineM({ lat: d.lat, lon: d.lng }, { lat: ref.lat, lon: ref.lon }) < 1e-6);
  }
  assert.ok(moved > ids.length, `only ${moved} positions moved by dead reckoning`);
  // Long after the last update the aircraft are ghosts: dimmer than their altitude colour.
  const t = store.flights.get(ids[0]!)!;
  const late = instanceAt(data, 0, {
    now: t0 + 200 - epochS,
    capS: store.capS,
    pxScale: 0.015,
    selectedSize: 1.7,
    search: false,
  });
  const base = aircraftColour(t.flight.altitude_m, t.flight.on_ground);
  assert.ok(late.ghost > 0.5);
  assert.ok(late.colour[0] + late.colour[1] + late.colour[2] < base[0] + base[1] + base[2]);
});
