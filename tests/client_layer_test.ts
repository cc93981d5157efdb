/**
 * The aircraft layer (lib/client/aircraft_layer.ts) with real three.js but
 * no browser: one instanced mesh bound to a store; a frame packs and
 * uploads only the slots whose aircraft changed (update ranges), leaving
 * swap-removes and growth without losing an instance; selection and
 * search restyle only the slots concerned; picking at a marker's screen
 * position finds it and ignores the far side.
 */
import assert from "node:assert/strict";
import * as THREE from "three";
import { AircraftLayer, silhouetteMask } from "../lib/client/aircraft_layer.ts";
import type { FrameState } from "../lib/client/aircraft_frame.ts";
import { MODE_MATCH, MODE_SELECTED, OFFSET, STRIDE } from "../lib/client/aircraft_instances.ts";
import { FlightStore } from "../lib/client/flight_store.ts";
import { globeCoords, toGeo } from "../lib/client/globe_coords.ts";
import { haversineM } from "../lib/geo/mod.ts";
import { flightsCopiesForLoad, replies } from "./_hub_harness.ts";

const t0 = replies[90]!.time;

function frameAt(nowS: number, patch: Partial<FrameState> = {}): FrameState {
  return {
    nowS,
    camera: [0, 80, 200],
    unitsPerPxAtOne: 0.001,
    markerPx: 15,
    selected: null,
    cockpit: false,
    highlight: null,
    emergencies: new Set(),
    ...patch,
  };
}

function setup(capacity = 16) {
  const scene = new THREE.Scene();
  const layer = new AircraftLayer(scene, { capacity });
  const store = new FlightStore();
  layer.bind(store);
  return { scene, layer, store };
}

Deno.test("one mesh; a frame uploads only the slots whose aircraft changed", () => {
  const { scene, layer, store } = setup(64);
  const flights = flightsCopiesForLoad(90, 0).slice(0, 40);
  store.replace(flights, t0);
  assert.equal(scene.children.filter((o: THREE.Object3D) => o.name === "aircraft").length, 1);
  assert.equal(layer.count, 40);
  assert.equal(layer.mesh.geometry.instanceCount, 40);
  layer.frame(frameAt(t0));
  assert.equal(layer.stats.packed, 40);
  // Frames without new data write and upload nothing: the shader moves the aircraft.
  const before = { ...layer.stats };
  for (let k = 1; k <= 5; k++) layer.frame(frameAt(t0 + k));
  assert.deepEqual(layer.stats, before);
  // ... but they are drawn further along their tracks.
  const id = flights.find((f) => (f.velocity_mps ?? 0) > 100)!.icao24;
  const i = layer.indexOf(id)!;
  const p5 = toGeo(layer.positionAt(i));
  const ref = store.displayAt(store.flights.get(id)!, t0 + 5);
  assert.ok(haversineM({ lat: p5.lat, lon: p5.lng }, { lat: ref.lat, lon: ref.lon }) < 2);
  assert.ok(haversineM({ lat: p5.lat, lon: p5.lng }, store.flights.get(id)!.flight.position) > 400);
  // One aircraft updated: one slot packed, one range of one slot uploaded.
  const snap = Float32Array.from(layer.data);
  const f = store.flights.get(id)!.flight;
  store.upsert({
    ...f,
    time_position_unix: f.time_position_unix + 6,
    position: { lat: f.position.lat + 0.01, lon: f.position.lon },
  }, t0 + 6);
  layer.frame(frameAt(t0 + 6));
  assert.equal(layer.stats.packed, before.packed + 1);
  assert.equal(layer.stats.ranges, before.ranges + 1);
  assert.equal(layer.stats.uploadedFloats, before.uploadedFloats + STRIDE);
  const ranges = layer.mesh.geometry.getAttribute("aKin") as THREE.InterleavedBufferAttribute;
  assert.deepEqual(ranges.data.updateRanges, [{ start: i * STRIDE, count: STRIDE }]);
  const changed = new Set<number>();
  for (let j = 0; j < snap.length; j++) {
    if (snap[j] !== layer.data[j]) changed.add(Math.floor(j / STRIDE));
  }
  assert.deepEqual([...changed], [i]);
  layer.dispose();
});

Deno.test("removing swaps the last slot into the hole; growth keeps every instance", () => {
  const { layer, store } = setup(16);
  const flights = flightsCopiesForLoad(90, 0, 2).slice(0, 40);
  store.replace(flights.slice(0, 10), t0);
  layer.frame(frameAt(t0 + 2));
  const ids = flights.slice(0, 10).map((f) => f.icao24);
  const lastPos = layer.positionAt(9);
  store.remove(ids[2]!);
  layer.frame(frameAt(t0 + 2));
  assert.equal(layer.idAt(2), ids[9]);
  assert.equal(layer.indexOf(ids[9]!), 2);
  assert.deepEqual(layer.positionAt(2), lastPos);
  assert.equal(layer.indexOf(ids[2]!), undefined);
  assert.equal(layer.mesh.geometry.instanceCount, 9);
  for (const f of flights.slice(10)) store.upsert(f, t0);
  assert.equal(layer.count, 39);
  assert.equal(layer.stats.rebuilds, 2); // 16 -> 32 -> 64
  layer.frame(frameAt(t0 + 2));
  for (const t of store.flights.values()) {
    const p = toGeo(layer.positionAt(layer.indexOf(t.flight.icao24)!));
    const ref = store.displayAt(t, t0 + 2);
    assert.ok(haversineM({ lat: p.lat, lon: p.lng }, { lat: ref.lat, lon: ref.lon }) < 2);
  }
  layer.dispose();
});

Deno.test("selection and search restyle only the slots concerned", () => {
  const { layer, store } = setup(64);
  store.replace(flightsCopiesForLoad(90, 0).slice(0, 30), t0);
  layer.frame(frameAt(t0));
  const ids = [...store.flights.keys()];
  const mode = (id: string) => layer.data[layer.indexOf(id)! * STRIDE + OFFSET.style + 2];
  let packed = layer.stats.packed;
  layer.frame(frameAt(t0 + 1, { selected: ids[0]! }));
  assert.equal(mode(ids[0]!), MODE_SELECTED);
  assert.equal(layer.stats.packed, packed + 1);
  packed = layer.stats.packed;
  const highlight = new Set([ids[1]!, ids[2]!]);
  layer.frame(frameAt(t0 + 2, { selected: ids[5]!, highlight }));
  assert.equal(mode(ids[0]!), 0);
  assert.equal(mode(ids[5]!), MODE_SELECTED);
  assert.equal(mode(ids[1]!), MODE_MATCH);
  assert.equal(layer.stats.packed, packed + 4);
  assert.equal(layer.mesh.material.uniforms.uSearch!.value, 1);
  layer.dispose();
});

Deno.test("picking finds the aircraft under the pointer and ignores the far side", () => {
  const { layer, store } = setup();
  const [a, b] = flightsCopiesForLoad(90, 0);
  store.upsert({ ...a!, icao24: "aaaaaa", position: { lat: 46.8, lon: 8.2 } }, t0);
  store.upsert({ ...b!, icao24: "bbbbbb", position: { lat: -46.8, lon: -171.8 } }, t0); // antipode
  layer.frame(frameAt(a!.time_position_unix));
  const camera = new THREE.PerspectiveCamera(50, 1280 / 720, 0.05, 5000);
  camera.position.set(...globeCoords(46.8, 8.2, 0.5));
  camera.lookAt(0, 0, 0);
  camera.updateMatrixWorld();
  const v = new THREE.Vector3(...layer.positionAt(layer.indexOf("aaaaaa")!)).project(camera);
  const x = (v.x + 1) / 2 * 1280, y = (1 - v.y) / 2 * 720;
  assert.equal(layer.pick(x + 5, y - 4, { camera, width: 1280, height: 720 }), "aaaaaa");
  assert.equal(layer.pick(x + 200, y, { camera, width: 1280, height: 720 }), null);
  layer.dispose();
});

Deno.test("the silhouette mask is a plane: nose up, wings wide, transparent corners", () => {
  const m = silhouetteMask(64);
  const alpha = (col: number, row: number) => m[(row * 64 + col) * 4 + 3]!;
  assert.equal(alpha(0, 0), 0);
  assert.equal(alpha(63, 63), 0);
  assert.ok(alpha(32, 60) > 200, "nose at the top rows"); // y = +0.45
  assert.ok(alpha(5, 26) > 100 && alpha(58, 26) > 100, "both wing tips");
  assert.equal(alpha(5, 50), 0, "no wing at the nose");
});
