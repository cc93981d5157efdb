/**
 * The aircraft layer (lib/client/aircraft_layer.ts) with real three.js but
 * no browser: one InstancedMesh, slots by icao24, swap-remove, writes at
 * the aircraft's index, growth without losing instances, screen picking.
 */
import assert from "node:assert/strict";
import * as THREE from "three";
import { AircraftLayer, silhouetteMask } from "../lib/client/aircraft_layer.ts";
import { globeCoords, headingVector, localFrame } from "../lib/client/globe_coords.ts";
import { flightsCopiesForLoad } from "./_hub_harness.ts";

const flights = flightsCopiesForLoad(90, 0);

function writeAt(layer: AircraftLayer, id: string, lat: number, lon: number, rgb = 0.5) {
  const i = layer.indexOf(id)!;
  layer.write(
    i,
    {
      position: globeCoords(lat, lon, 0.0016),
      forward: headingVector(lat, lon, 90),
      up: localFrame(lat, lon).up,
      scale: 0.5,
    },
    rgb,
    rgb,
    rgb,
  );
}

Deno.test("one instanced mesh; removing swaps the last instance into the hole", () => {
  const scene = new THREE.Scene();
  const layer = new AircraftLayer(scene, { capacity: 16 });
  const mesh = layer.mesh;
  assert.equal(
    scene.children.filter((o: THREE.Object3D) => o instanceof THREE.InstancedMesh).length,
    1,
  );
  const ids = flights.slice(0, 10).map((f) => f.icao24);
  for (const [k, id] of ids.entries()) {
    layer.add(id);
    writeAt(layer, id, 46 + k * 0.1, 7, k / 10);
  }
  assert.equal(layer.count, 10);
  assert.equal(mesh.count, 10);
  const lastPos = layer.positionAt(9);
  layer.remove(ids[2]!);
  // The last aircraft now lives in slot 2, with its matrix and colour.
  assert.equal(layer.idAt(2), ids[9]);
  assert.equal(layer.indexOf(ids[9]!), 2);
  assert.deepEqual(layer.positionAt(2), lastPos);
  assert.ok(Math.abs(mesh.instanceColor!.getX(2) - 0.9) < 1e-6);
  assert.equal(layer.indexOf(ids[2]!), undefined);
  assert.equal(mesh.count, 9);
  // Updating one aircraft writes only its slot; the mesh stays the same object.
  const before = Float32Array.from(mesh.instanceMatrix.array as Float32Array);
  writeAt(layer, ids[5]!, 47.5, 8.5);
  layer.commit();
  const after = mesh.instanceMatrix.array as Float32Array;
  const changed = new Set<number>();
  for (let j = 0; j < before.length; j++) {
    if (before[j] !== after[j]) changed.add(Math.floor(j / 16));
  }
  assert.deepEqual([...changed], [layer.indexOf(ids[5]!)]);
  assert.equal(layer.mesh, mesh);
  assert.equal(layer.rebuilds, 0);
  layer.dispose();
});

Deno.test("growing past the capacity keeps every instance (once, amortised)", () => {
  const scene = new THREE.Scene();
  const layer = new AircraftLayer(scene, { capacity: 16 });
  const ids = flightsCopiesForLoad(90, 0, 2).map((f) => f.icao24).slice(0, 40);
  for (const [k, id] of ids.entries()) {
    layer.add(id);
    writeAt(layer, id, 40 + k * 0.2, 5);
  }
  assert.equal(layer.count, 40);
  assert.equal(layer.rebuilds, 2); // 16 -> 32 -> 64
  assert.equal(
    scene.children.filter((o: THREE.Object3D) => o instanceof THREE.InstancedMesh).length,
    1,
  );
  for (const [k, id] of ids.entries()) {
    const p = layer.positionAt(layer.indexOf(id)!);
    const q = globeCoords(40 + k * 0.2, 5, 0.0016);
    assert.ok(Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]) < 1e-4);
  }
  layer.dispose();
});

Deno.test("picking finds the aircraft under the pointer and ignores the far side", () => {
  const scene = new THREE.Scene();
  const layer = new AircraftLayer(scene);
  layer.add("aaaaaa");
  writeAt(layer, "aaaaaa", 46.8, 8.2);
  layer.add("bbbbbb");
  writeAt(layer, "bbbbbb", -46.8, -171.8); // antipode
  const camera = new THREE.PerspectiveCamera(50, 1280 / 720, 0.05, 5000);
  camera.position.set(...globeCoords(46.8, 8.2, 0.5));
  camera.lookAt(0, 0, 0);
  camera.updateMatrixWorld();
  const v = new THREE.Vector3(...layer.positionAt(0)).project(camera);
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
