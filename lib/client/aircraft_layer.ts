/**
 * Every aircraft in ONE draw call: a `THREE.InstancedMesh` of a small quad
 * textured with a plane silhouette, added to the globe's scene. Each aircraft owns an
 * instance slot (icao24 → index); leaving frees its slot by moving the last
 * instance into it (swap-remove), so arrivals and departures never rebuild
 * the layer, and an update writes 16 + 3 floats at the aircraft's index.
 * When the capacity is exceeded the mesh is re-created once at twice the
 * size (amortised, like an array).
 *
 * Browser only (three.js); loaded with a dynamic import from the island.
 *
 * @module
 */
import * as THREE from "three";
import type { Vec3 } from "./globe_coords.ts";

/** The silhouette's right half, nose at +Y; the left half mirrors it. Units: the marker is 1 long. */
const SILHOUETTE: readonly [number, number][] = [
  [0, 0.5], // nose
  [0.045, 0.42],
  [0.055, 0.16],
  [0.48, -0.06], // right wing tip
  [0.48, -0.13],
  [0.055, -0.04],
  [0.045, -0.3],
  [0.2, -0.42], // right stabiliser
  [0.2, -0.48],
  [0, -0.45],
];

/** The whole outline, clockwise from the nose. */
export function silhouette(): [number, number][] {
  const right = SILHOUETTE.map(([x, y]) => [x, y] as [number, number]);
  const left = [...SILHOUETTE].reverse().slice(1, -1).map(([x, y]) => [-x, y] as [number, number]);
  return [...right, ...left];
}

/**
 * The silhouette as an RGBA alpha mask (white, 4x4 supersampled edges),
 * rows bottom-up as WebGL expects. Drawn on a quad it costs 2 triangles per
 * aircraft instead of ~16: software rasterisers pay per triangle.
 */
export function silhouetteMask(size = 64): Uint8Array {
  const poly = silhouette();
  const inside = (x: number, y: number) => {
    let c = false;
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const [xi, yi] = poly[i]!, [xj, yj] = poly[j]!;
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) c = !c;
    }
    return c;
  };
  const out = new Uint8Array(size * size * 4);
  const ss = 4;
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      let hits = 0;
      for (let a = 0; a < ss; a++) {
        for (let b = 0; b < ss; b++) {
          const x = (col + (a + 0.5) / ss) / size - 0.5;
          const y = (row + (b + 0.5) / ss) / size - 0.5;
          if (inside(x, y)) hits++;
        }
      }
      const o = (row * size + col) * 4;
      out[o] = out[o + 1] = out[o + 2] = 255;
      out[o + 3] = Math.round(hits / (ss * ss) * 255);
    }
  }
  return out;
}

/** One instance's pose: where, which way the nose points, which way is up, how big. */
export interface InstancePose {
  position: Vec3;
  /** Unit vector of the nose (tangent to the globe). */
  forward: Vec3;
  /** Unit vector away from the globe's centre. */
  up: Vec3;
  /** Length of the marker, scene units. */
  scale: number;
}

export class AircraftLayer {
  readonly #scene: THREE.Object3D;
  readonly #geometry: THREE.BufferGeometry;
  readonly #material: THREE.MeshBasicMaterial;
  #mesh: THREE.InstancedMesh;
  #capacity: number;
  readonly #ids: string[] = [];
  readonly #index = new Map<string, number>();
  /** Mesh re-creations (growth), for tests and the benchmark. */
  rebuilds = 0;

  /**
   * `blend: false` draws the markers opaque with an alpha test: hard edges,
   * but about a third faster where WebGL runs in software.
   */
  constructor(scene: THREE.Object3D, options: { capacity?: number; blend?: boolean } = {}) {
    const blend = options.blend ?? true;
    this.#scene = scene;
    this.#geometry = new THREE.PlaneGeometry(1, 1);
    const size = 64;
    const texture = new THREE.DataTexture(silhouetteMask(size), size, size, THREE.RGBAFormat);
    texture.generateMipmaps = true;
    texture.minFilter = THREE.LinearMipmapLinearFilter;
    texture.magFilter = THREE.LinearFilter;
    texture.needsUpdate = true;
    this.#material = new THREE.MeshBasicMaterial({
      map: texture,
      side: THREE.DoubleSide,
      transparent: blend,
      alphaTest: blend ? 0.05 : 0.5,
      depthWrite: !blend,
    });
    this.#capacity = Math.max(16, options.capacity ?? 2048);
    this.#mesh = this.#createMesh(this.#capacity);
    scene.add(this.#mesh);
  }

  /** The mesh (one draw call). */
  get mesh(): THREE.InstancedMesh {
    return this.#mesh;
  }

  get count(): number {
    return this.#ids.length;
  }

  /** The icao24 in slot `i`. */
  idAt(i: number): string | undefined {
    return this.#ids[i];
  }

  indexOf(id: string): number | undefined {
    return this.#index.get(id);
  }

  /** Gives `id` a slot (the existing one if it has one). */
  add(id: string): number {
    const have = this.#index.get(id);
    if (have !== undefined) return have;
    if (this.#ids.length >= this.#capacity) this.#grow();
    const i = this.#ids.length;
    this.#ids.push(id);
    this.#index.set(id, i);
    this.#mesh.count = this.#ids.length;
    return i;
  }

  /** Frees `id`'s slot: the last instance moves into it. */
  remove(id: string): void {
    const i = this.#index.get(id);
    if (i === undefined) return;
    const last = this.#ids.length - 1;
    if (i !== last) {
      const lastId = this.#ids[last]!;
      const m = this.#mesh.instanceMatrix.array as Float32Array;
      m.copyWithin(i * 16, last * 16, last * 16 + 16);
      const c = this.#mesh.instanceColor!.array as Float32Array;
      c.copyWithin(i * 3, last * 3, last * 3 + 3);
      this.#ids[i] = lastId;
      this.#index.set(lastId, i);
    }
    this.#ids.pop();
    this.#index.delete(id);
    this.#mesh.count = this.#ids.length;
  }

  clear(): void {
    this.#ids.length = 0;
    this.#index.clear();
    this.#mesh.count = 0;
  }

  /**
   * Writes slot `i`'s matrix (columns: right, forward, up, each scaled, and
   * the position) and colour straight into the instance buffers.
   */
  write(i: number, pose: InstancePose, r: number, g: number, b: number): void {
    const m = this.#mesh.instanceMatrix.array as Float32Array;
    const [fx, fy, fz] = pose.forward;
    const [ux, uy, uz] = pose.up;
    // right = forward x up: with (right, forward, up) right-handed, the
    // silhouette's +Y nose follows the track and its face looks up.
    const rx = fy * uz - fz * uy, ry = fz * ux - fx * uz, rz = fx * uy - fy * ux;
    const s = pose.scale;
    const o = i * 16;
    m[o] = rx * s;
    m[o + 1] = ry * s;
    m[o + 2] = rz * s;
    m[o + 3] = 0;
    m[o + 4] = fx * s;
    m[o + 5] = fy * s;
    m[o + 6] = fz * s;
    m[o + 7] = 0;
    m[o + 8] = ux * s;
    m[o + 9] = uy * s;
    m[o + 10] = uz * s;
    m[o + 11] = 0;
    m[o + 12] = pose.position[0];
    m[o + 13] = pose.position[1];
    m[o + 14] = pose.position[2];
    m[o + 15] = 1;
    const c = this.#mesh.instanceColor!.array as Float32Array;
    c[i * 3] = r;
    c[i * 3 + 1] = g;
    c[i * 3 + 2] = b;
  }

  /** Marks the buffers for upload (only the used part). Call once per frame after writing. */
  commit(): void {
    const n = this.#ids.length;
    const mat = this.#mesh.instanceMatrix;
    mat.clearUpdateRanges();
    mat.addUpdateRange(0, Math.max(16, n * 16));
    mat.needsUpdate = true;
    const col = this.#mesh.instanceColor!;
    col.clearUpdateRanges();
    col.addUpdateRange(0, Math.max(3, n * 3));
    col.needsUpdate = true;
  }

  /** Scene position of slot `i` (the matrix translation). */
  positionAt(i: number, out: Vec3 = [0, 0, 0]): Vec3 {
    const m = this.#mesh.instanceMatrix.array as Float32Array;
    out[0] = m[i * 16 + 12]!;
    out[1] = m[i * 16 + 13]!;
    out[2] = m[i * 16 + 14]!;
    return out;
  }

  /**
   * The aircraft nearest to a screen point (pixels from the canvas' top
   * left) within `maxPx`, ignoring those on the far side of the globe.
   * Screen-space picking: a plane a few pixels long is hard to hit with a ray.
   */
  pick(
    x: number,
    y: number,
    view: { camera: THREE.Camera; width: number; height: number; maxPx?: number },
  ): string | null {
    const max2 = (view.maxPx ?? 14) ** 2;
    const cam = view.camera.position;
    const v = new THREE.Vector3();
    let best: string | null = null, bestD = max2;
    for (let i = 0; i < this.#ids.length; i++) {
      const [px, py, pz] = this.positionAt(i);
      // Behind the globe: the point's outward normal faces away from the camera.
      if (px * (cam.x - px) + py * (cam.y - py) + pz * (cam.z - pz) <= 0) continue;
      v.set(px, py, pz).project(view.camera);
      if (v.z > 1) continue;
      const sx = (v.x + 1) / 2 * view.width, sy = (1 - v.y) / 2 * view.height;
      const d = (sx - x) ** 2 + (sy - y) ** 2;
      if (d < bestD) {
        bestD = d;
        best = this.#ids[i]!;
      }
    }
    return best;
  }

  dispose(): void {
    this.#scene.remove(this.#mesh);
    this.#mesh.dispose();
    this.#geometry.dispose();
    this.#material.map?.dispose();
    this.#material.dispose();
  }

  #createMesh(capacity: number): THREE.InstancedMesh {
    const mesh = new THREE.InstancedMesh(this.#geometry, this.#material, capacity);
    mesh.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
    mesh.instanceColor = new THREE.InstancedBufferAttribute(new Float32Array(capacity * 3), 3);
    mesh.instanceColor.setUsage(THREE.DynamicDrawUsage);
    mesh.count = 0;
    // Instances move every frame: a cached bounding sphere would be wrong, so
    // the mesh is never culled as a whole (each instance is tiny anyway).
    mesh.frustumCulled = false;
    mesh.renderOrder = 10;
    mesh.name = "aircraft";
    return mesh;
  }

  #grow(): void {
    const old = this.#mesh;
    this.#capacity *= 2;
    const mesh = this.#createMesh(this.#capacity);
    (mesh.instanceMatrix.array as Float32Array).set(old.instanceMatrix.array as Float32Array);
    (mesh.instanceColor!.array as Float32Array).set(old.instanceColor!.array as Float32Array);
    mesh.count = old.count;
    this.#scene.remove(old);
    old.dispose();
    this.#scene.add(mesh);
    this.#mesh = mesh;
    this.rebuilds++;
  }
}
