/**
 * Every aircraft in ONE draw call, placed by the GPU: a quad textured with
 * a plane silhouette, instanced (`InstancedBufferGeometry`) over one
 * interleaved float32 buffer of per-aircraft data (aircraft_instances.ts),
 * drawn by a shader that dead-reckons each aircraft to the frame's time
 * (aircraft_shader.ts). A frame costs a few uniforms, not a loop over the
 * aircraft: a slot is rewritten only when its aircraft changes (the store
 * says so) or its selection / search / emergency state does, and only the
 * rewritten parts of the buffer are uploaded (merged update ranges).
 *
 * Each aircraft owns a slot (icao24 → index); leaving frees it by moving
 * the last slot into it (swap-remove). When the capacity is exceeded the
 * buffer is re-created once at twice the size (amortised, like an array).
 *
 * Browser only (three.js); loaded with a dynamic import from the island.
 *
 * @module
 */
import * as THREE from "three";
import { type DrawnAircraft, drawnAt, type FrameState } from "./aircraft_frame.ts";
import {
  emptyState,
  instanceAt,
  type InstanceState,
  type InstanceUniforms,
  isEmergency,
  MODE_MATCH,
  MODE_PLAIN,
  MODE_SELECTED,
  OFFSET,
  packInstance,
  SIZE_COCKPIT,
  SIZE_SELECTED,
  STRIDE,
} from "./aircraft_instances.ts";
import { aircraftMaterial } from "./aircraft_shader.ts";
import { silhouetteMask } from "./aircraft_silhouette.ts";
import { DEFAULT_CAP_S } from "./dead_reckoning.ts";
import type { FlightStore, TrackedFlight } from "./flight_store.ts";
import type { Vec3 } from "./globe_coords.ts";

export { silhouette, silhouetteMask } from "./aircraft_silhouette.ts";

/** Slot flags: the data is in the buffer but not uploaded / must be packed from the store. */
const UPLOAD = 1;
const REPACK = 2;
/** Dirty slots closer than this are uploaded as one range (one `bufferSubData`). */
const MERGE_GAP = 32;
/** More ranges than this: one range from the first to the last. */
const MAX_RANGES = 16;
/** The epoch moves when the frame time is further than this from it, seconds. */
const EPOCH_SPAN_S = 1800;

/** Counters for tests and the benchmark. */
export interface LayerStats {
  /** Slots packed from the store, in total. */
  packed: number;
  /** Floats uploaded, in total. */
  uploadedFloats: number;
  /** `bufferSubData` ranges, in total. */
  ranges: number;
  /** Buffer re-creations (growth). */
  rebuilds: number;
}

export class AircraftLayer {
  readonly #scene: THREE.Object3D;
  readonly #quad: THREE.PlaneGeometry;
  readonly #material: THREE.ShaderMaterial;
  readonly #mesh: THREE.Mesh<THREE.InstancedBufferGeometry, THREE.ShaderMaterial>;
  #buffer!: THREE.InstancedInterleavedBuffer;
  #data!: Float32Array;
  #capacity: number;
  readonly #ids: string[] = [];
  readonly #index = new Map<string, number>();
  #flags = new Uint8Array(0);
  #dirty = new Int32Array(0);
  #nDirty = 0;
  /** The dirty list overflowed: scan the flags instead. */
  #overflow = false;
  #store: FlightStore | null = null;
  #unlisten: (() => void) | null = null;
  #epochS: number | null = null;
  #selected: string | null = null;
  #highlight: ReadonlySet<string> | null = null;
  #emergencies: ReadonlySet<string> = new Set();
  readonly #uniforms: InstanceUniforms = {
    now: 0,
    capS: DEFAULT_CAP_S,
    pxScale: 0,
    selectedSize: SIZE_SELECTED,
    search: false,
  };
  /** Reused for every slot packed (no allocation per aircraft). */
  readonly #style = { epochS: 0, mode: MODE_PLAIN, emergency: false };
  readonly stats: LayerStats = { packed: 0, uploadedFloats: 0, ranges: 0, rebuilds: 0 };

  /**
   * `blend: false` draws the markers opaque with an alpha test: hard edges,
   * but about a third faster where WebGL runs in software.
   */
  constructor(scene: THREE.Object3D, options: { capacity?: number; blend?: boolean } = {}) {
    this.#scene = scene;
    this.#quad = new THREE.PlaneGeometry(1, 1);
    const size = 64;
    const texture = new THREE.DataTexture(silhouetteMask(size), size, size, THREE.RGBAFormat);
    texture.generateMipmaps = true;
    texture.minFilter = THREE.LinearMipmapLinearFilter;
    texture.magFilter = THREE.LinearFilter;
    texture.needsUpdate = true;
    this.#material = aircraftMaterial(texture, options.blend ?? true);
    this.#capacity = Math.max(16, options.capacity ?? 2048);
    this.#mesh = new THREE.Mesh(this.#createGeometry(this.#capacity, null), this.#material);
    // Instances move on the GPU: a bounding sphere would be wrong, so the
    // mesh is never culled as a whole (each instance is tiny anyway).
    this.#mesh.frustumCulled = false;
    this.#mesh.renderOrder = 10;
    this.#mesh.name = "aircraft";
    scene.add(this.#mesh);
  }

  /** The mesh (one draw call). */
  get mesh(): THREE.Mesh<THREE.InstancedBufferGeometry, THREE.ShaderMaterial> {
    return this.#mesh;
  }

  /** The instance data ({@link STRIDE} floats per slot), for tests. */
  get data(): Float32Array {
    return this.#data;
  }

  /** Seconds since the epoch are what the slots and `uNow` hold; this is the epoch (unix s). */
  get epochS(): number | null {
    return this.#epochS;
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

  /** Shows `store`'s aircraft (null: none); slots follow its arrivals, updates and departures. */
  bind(store: FlightStore | null): void {
    if (store === this.#store) return;
    this.#unlisten?.();
    this.#unlisten = null;
    this.#clear();
    this.#store = store;
    if (!store) return;
    this.#unlisten = store.listen({
      added: (t) => this.#add(t.flight.icao24),
      updated: (t) => this.#mark(this.#index.get(t.flight.icao24), REPACK),
      removed: (id) => this.#remove(id),
    });
  }

  /**
   * One animation frame: rewrites the slots whose state changed, uploads
   * them, sets the uniforms; returns where the selected aircraft is drawn
   * (null when it is not in the store).
   */
  frame(frame: FrameState): DrawnAircraft | null {
    const store = this.#store;
    if (!store) return null;
    if (this.#epochS === null || Math.abs(frame.nowS - this.#epochS) > EPOCH_SPAN_S) {
      this.#epochS = Math.round(frame.nowS);
      this.#markAll();
    }
    this.#restyle(frame);
    this.#flush(store);
    const u = this.#uniforms;
    u.now = frame.nowS - this.#epochS;
    u.capS = store.capS;
    u.pxScale = frame.unitsPerPxAtOne * frame.markerPx;
    u.selectedSize = frame.cockpit ? SIZE_COCKPIT : SIZE_SELECTED;
    u.search = frame.highlight !== null;
    const un = this.#material.uniforms;
    un.uNow!.value = u.now;
    un.uCap!.value = u.capS;
    un.uPxScale!.value = u.pxScale;
    un.uSelectedSize!.value = u.selectedSize;
    un.uSearch!.value = u.search ? 1 : 0;
    const sel = frame.selected === null ? undefined : store.flights.get(frame.selected);
    return sel ? drawnAt(store, sel, frame.nowS) : null;
  }

  /** Slot `i` as the shader draws it at the last frame's uniforms. */
  stateAt(i: number, out: InstanceState = emptyState()): InstanceState {
    return instanceAt(this.#data, i * STRIDE, this.#uniforms, out);
  }

  /** Scene position of slot `i` at the last frame's time. */
  positionAt(i: number, out: Vec3 = [0, 0, 0]): Vec3 {
    const s = this.stateAt(i, scratch);
    out[0] = s.position[0];
    out[1] = s.position[1];
    out[2] = s.position[2];
    return out;
  }

  /**
   * The aircraft nearest to a screen point (pixels from the canvas' top
   * left) within `maxPx`, ignoring those on the far side of the globe.
   * Screen-space picking (a plane a few pixels long is hard to hit with a
   * ray), with each position computed as the shader does, once per click.
   */
  pick(
    x: number,
    y: number,
    view: { camera: THREE.Camera; width: number; height: number; maxPx?: number },
  ): string | null {
    const max2 = (view.maxPx ?? 14) ** 2;
    const cam = view.camera.position;
    const v = new THREE.Vector3();
    const p: Vec3 = [0, 0, 0];
    let best: string | null = null, bestD = max2;
    for (let i = 0; i < this.#ids.length; i++) {
      const [px, py, pz] = this.positionAt(i, p);
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
    this.bind(null);
    this.#scene.remove(this.#mesh);
    this.#mesh.geometry.dispose();
    this.#quad.dispose();
    (this.#material.uniforms.uMap!.value as THREE.Texture).dispose();
    this.#material.dispose();
  }

  // --- slots -------------------------------------------------------------------------

  #add(id: string): void {
    if (this.#index.has(id)) return this.#mark(this.#index.get(id), REPACK);
    if (this.#ids.length >= this.#capacity) this.#grow();
    const i = this.#ids.length;
    this.#ids.push(id);
    this.#index.set(id, i);
    this.#mesh.geometry.instanceCount = this.#ids.length;
    this.#mark(i, REPACK);
  }

  /** Frees `id`'s slot: the last slot moves into it. */
  #remove(id: string): void {
    const i = this.#index.get(id);
    if (i === undefined) return;
    const last = this.#ids.length - 1;
    if (i !== last) {
      const lastId = this.#ids[last]!;
      this.#data.copyWithin(i * STRIDE, last * STRIDE, last * STRIDE + STRIDE);
      this.#ids[i] = lastId;
      this.#index.set(lastId, i);
      const moved = this.#flags[last]!;
      this.#flags[last] = 0;
      this.#mark(i, moved === REPACK ? REPACK : UPLOAD);
    }
    this.#flags[last] = 0;
    this.#ids.pop();
    this.#index.delete(id);
    this.#mesh.geometry.instanceCount = this.#ids.length;
  }

  #clear(): void {
    this.#ids.length = 0;
    this.#index.clear();
    this.#flags.fill(0);
    this.#nDirty = 0;
    this.#overflow = false;
    this.#mesh.geometry.instanceCount = 0;
  }

  #mark(i: number | undefined, flag: number): void {
    if (i === undefined) return;
    const had = this.#flags[i]!;
    if (had >= flag) return;
    this.#flags[i] = flag;
    if (had !== 0) return; // already listed
    if (this.#nDirty < this.#dirty.length) this.#dirty[this.#nDirty++] = i;
    else this.#overflow = true;
  }

  #markAll(): void {
    for (let i = 0; i < this.#ids.length; i++) this.#flags[i] = REPACK;
    this.#overflow = true;
  }

  /** Marks the slots whose selection, search or emergency state changed. */
  #restyle(frame: FrameState): void {
    if (frame.selected !== this.#selected) {
      const old = this.#selected;
      this.#selected = frame.selected;
      if (old !== null) this.#mark(this.#index.get(old), REPACK);
      if (frame.selected !== null) this.#mark(this.#index.get(frame.selected), REPACK);
    }
    if (frame.highlight !== this.#highlight) {
      this.#markDifference(this.#highlight, frame.highlight);
      this.#highlight = frame.highlight;
    }
    if (frame.emergencies !== this.#emergencies) {
      this.#markDifference(this.#emergencies, frame.emergencies);
      this.#emergencies = frame.emergencies;
    }
  }

  #markDifference(a: ReadonlySet<string> | null, b: ReadonlySet<string> | null): void {
    if (a) { for (const id of a) if (!b?.has(id)) this.#mark(this.#index.get(id), REPACK); }
    if (b) { for (const id of b) if (!a?.has(id)) this.#mark(this.#index.get(id), REPACK); }
  }

  #modeOf(id: string): number {
    return id === this.#selected
      ? MODE_SELECTED
      : this.#highlight?.has(id)
      ? MODE_MATCH
      : MODE_PLAIN;
  }

  #pack(i: number, t: TrackedFlight): void {
    const style = this.#style;
    style.epochS = this.#epochS ?? 0;
    style.mode = this.#modeOf(t.flight.icao24);
    style.emergency = isEmergency(t, this.#emergencies);
    packInstance(this.#data, i * STRIDE, t, style);
    this.stats.packed++;
  }

  // --- upload ------------------------------------------------------------------------

  /** Packs the dirty slots and marks their ranges for upload. */
  #flush(store: FlightStore): void {
    const n = this.#ids.length;
    const list = this.#dirty;
    let count = 0;
    if (this.#overflow) {
      // Too many to list: every flagged slot, in order.
      for (let i = 0; i < n; i++) if (this.#flags[i] !== 0) list[count++] = i;
    } else {
      for (let k = 0; k < this.#nDirty; k++) {
        if (list[k]! < n && this.#flags[list[k]!] !== 0) list[count++] = list[k]!;
      }
      list.subarray(0, count).sort();
    }
    this.#nDirty = 0;
    this.#overflow = false;
    if (count === 0) return;
    for (let k = 0; k < count; k++) {
      const i = list[k]!;
      if (this.#flags[i] === REPACK) {
        const t = store.flights.get(this.#ids[i]!);
        if (t) this.#pack(i, t);
      }
      this.#flags[i] = 0;
    }
    const buf = this.#buffer;
    buf.clearUpdateRanges();
    let runs = 1;
    for (let k = 1; k < count; k++) if (list[k]! - list[k - 1]! > MERGE_GAP) runs++;
    if (runs > MAX_RANGES) {
      this.#range(list[0]!, list[count - 1]!);
    } else {
      let from = list[0]!;
      for (let k = 1; k < count; k++) {
        if (list[k]! - list[k - 1]! > MERGE_GAP) {
          this.#range(from, list[k - 1]!);
          from = list[k]!;
        }
      }
      this.#range(from, list[count - 1]!);
    }
    buf.needsUpdate = true;
  }

  #range(first: number, last: number): void {
    const floats = (last - first + 1) * STRIDE;
    this.#buffer.addUpdateRange(first * STRIDE, floats);
    this.stats.uploadedFloats += floats;
    this.stats.ranges++;
  }

  #createGeometry(capacity: number, old: Float32Array | null): THREE.InstancedBufferGeometry {
    const data = new Float32Array(capacity * STRIDE);
    if (old) data.set(old);
    const buffer = new THREE.InstancedInterleavedBuffer(data, STRIDE, 1);
    buffer.setUsage(THREE.DynamicDrawUsage);
    const geom = new THREE.InstancedBufferGeometry();
    // Own copies of the quad: disposing an old geometry frees its GL buffers.
    geom.setIndex(this.#quad.getIndex()!.clone());
    geom.setAttribute("position", this.#quad.getAttribute("position").clone());
    geom.setAttribute("uv", this.#quad.getAttribute("uv").clone());
    for (const [name, offset] of Object.entries(OFFSET)) {
      const attr = `a${name[0]!.toUpperCase()}${name.slice(1)}`;
      geom.setAttribute(attr, new THREE.InterleavedBufferAttribute(buffer, 4, offset));
    }
    geom.instanceCount = this.#ids.length;
    this.#data = data;
    this.#buffer = buffer;
    this.#flags = grow8(this.#flags, capacity);
    const dirty = new Int32Array(capacity);
    dirty.set(this.#dirty.subarray(0, Math.min(this.#nDirty, capacity)));
    this.#dirty = dirty;
    return geom;
  }

  #grow(): void {
    this.#capacity *= 2;
    const old = this.#mesh.geometry;
    // A new buffer is uploaded whole on first use: nothing pending needs a range.
    this.#mesh.geometry = this.#createGeometry(this.#capacity, this.#data);
    old.dispose();
    this.stats.rebuilds++;
  }
}

const scratch = emptyState();

function grow8(a: Uint8Array, n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  b.set(a.subarray(0, Math.min(a.length, n)));
  return b;
}
