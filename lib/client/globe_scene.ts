/**
 * The globe: globe.gl with the generated dark Earth texture, crisp coast
 * and border lines (one `LineSegments` each), the aircraft layer (one
 * `InstancedMesh`), a selection ring, the selected flight's trail
 * (`pathsData`), emergency rings (`ringsData`) and airport labels
 * (`htmlElementsData`, only when zoomed in). Runs its own animation frame
 * that hands the frame's time to the aircraft layer (whose vertex shader
 * dead-reckons every aircraft) and, in cockpit view, flies the camera
 * behind the selected one.
 *
 * Browser only: the island loads this module with a dynamic import inside
 * an effect, and this module loads globe.gl the same way.
 *
 * @module
 */
import type { GlobeInstance } from "globe.gl";
import * as THREE from "three";
import { AircraftLayer } from "./aircraft_layer.ts";
import type { DrawnAircraft, FrameState } from "./aircraft_frame.ts";
import { type Airport, type AirportIndex, AIRPORTS_MAX_ALTITUDE } from "./airports.ts";
import { parseBorders, segmentPositions } from "./borders.ts";
import type { FlightStore } from "./flight_store.ts";
import {
  chaseCamera,
  GLOBE_RADIUS,
  localFrame,
  relativeAltitude,
  type Vec3,
} from "./globe_coords.ts";

/** What the scene asks its owner every frame. */
export interface SceneHost {
  /** Time, selection, highlight: the parts of the frame that are not the camera's. */
  frame(): Pick<FrameState, "nowS" | "selected" | "cockpit" | "highlight" | "emergencies">;
  /** A click picked an aircraft (or nothing). */
  onPick(icao24: string | null): void;
  /** The camera moved (not in cockpit view). */
  onPov(pov: { lat: number; lng: number; altitude: number }): void;
}

/** A point of the trail: lat, lng (degrees), altitude (metres). */
export type TrailPoint = [number, number, number];

export interface Ring {
  lat: number;
  lng: number;
  /** `critical` pulses red, anything else amber. */
  severity: string;
}

const MARKER_PX = 15;

/**
 * Marker length in pixels for a camera altitude (fraction of the radius):
 * full size from regional zoom in, smaller when the whole globe shows, where
 * thousands of markers would otherwise merge into blobs (and cost fill rate).
 */
export function markerPx(cameraAltitude: number): number {
  const f = Math.max(0, Math.min(1, (cameraAltitude - 0.6) / 1.9));
  return MARKER_PX - f * 6;
}
const COCKPIT_NEAR = 0.005;
const DEFAULT_NEAR = 0.05;
const ENTER_COCKPIT_MS = 1400;

export class GlobeScene {
  readonly globe: GlobeInstance;
  readonly layer: AircraftLayer;
  readonly #host: SceneHost;
  readonly #container: HTMLElement;
  readonly #airports: AirportIndex | null;
  #store: FlightStore | null = null;
  #raf = 0;
  #ring: THREE.Mesh;
  #lines: THREE.LineSegments[] = [];
  #cockpitSince: number | null = null;
  #cockpitFrom: { pos: THREE.Vector3; target: THREE.Vector3 } | null = null;
  #frames: number[] = [];
  #airportEls = new Map<string, HTMLElement>();
  #lastAirportsKey = "";
  #resize: ResizeObserver;
  /** Frames per second over the last second. */
  fps = 0;
  /** Milliseconds spent in the aircraft layer's per-frame JavaScript, and frames counted. */
  layerMs = 0;
  layerFrames = 0;
  /** Where the selected aircraft was drawn in the last frame. */
  selectedDrawn: DrawnAircraft | null = null;

  /** Canvas width / height (the viewport subscription's shape). */
  get aspect(): number {
    const h = this.#container.clientHeight;
    return h > 0 ? this.#container.clientWidth / h : 16 / 9;
  }

  constructor(
    globe: GlobeInstance,
    container: HTMLElement,
    host: SceneHost,
    airports: AirportIndex | null,
    options: { software?: boolean } = {},
  ) {
    this.globe = globe;
    this.#container = container;
    this.#host = host;
    this.#airports = airports;
    this.layer = new AircraftLayer(globe.scene(), { capacity: 4096, blend: !options.software });
    const ringGeom = new THREE.RingGeometry(0.62, 0.78, 40);
    this.#ring = new THREE.Mesh(
      ringGeom,
      new THREE.MeshBasicMaterial({
        color: 0xffffff,
        transparent: true,
        opacity: 0.9,
        side: THREE.DoubleSide,
        depthWrite: false,
      }),
    );
    this.#ring.visible = false;
    this.#ring.renderOrder = 11;
    globe.scene().add(this.#ring);
    this.#resize = new ResizeObserver(() => this.#fit());
    this.#resize.observe(container);
    this.#fit();
    this.#installPicking();
    globe.onZoom((pov) => {
      if (this.#cockpitSince === null) host.onPov(pov);
      this.#updateAirports(pov);
    });
    this.#raf = requestAnimationFrame(this.#loop);
  }

  /** Shows `store`'s aircraft (live or time travel); the layer re-binds its slots. */
  bindStore(store: FlightStore): void {
    if (store === this.#store) return;
    this.#store = store;
    this.layer.bind(store);
  }

  /** Current camera position, scene units. */
  cameraPosition(): Vec3 {
    const p = this.globe.camera().position;
    return [p.x, p.y, p.z];
  }

  pointOfView(): { lat: number; lng: number; altitude: number } {
    return this.globe.pointOfView();
  }

  flyTo(pov: { lat: number; lng: number; altitude?: number }, ms = 1200): void {
    if (this.#cockpitSince !== null) return;
    this.globe.pointOfView(pov, ms);
  }

  /** Follows the selected aircraft from behind and above (see SceneHost.frame().cockpit). */
  enterCockpit(): void {
    if (this.#cockpitSince !== null) return;
    const cam = this.globe.camera() as THREE.PerspectiveCamera;
    this.#cockpitSince = performance.now();
    this.#cockpitFrom = { pos: cam.position.clone(), target: new THREE.Vector3(0, 0, 0) };
    this.globe.controls().enabled = false;
    cam.near = COCKPIT_NEAR;
    cam.updateProjectionMatrix();
  }

  leaveCockpit(): void {
    if (this.#cockpitSince === null) return;
    this.#cockpitSince = null;
    const cam = this.globe.camera() as THREE.PerspectiveCamera;
    cam.near = DEFAULT_NEAR;
    cam.up.set(0, 1, 0);
    cam.updateProjectionMatrix();
    const controls = this.globe.controls();
    controls.target.set(0, 0, 0);
    controls.enabled = true;
    const d = this.selectedDrawn;
    const pov = d
      ? { lat: d.lat, lng: d.lng, altitude: 0.25 }
      : { ...this.globe.pointOfView(), altitude: 0.6 };
    cam.lookAt(0, 0, 0);
    this.globe.pointOfView(pov, 900);
  }

  get inCockpit(): boolean {
    return this.#cockpitSince !== null;
  }

  /** The selected flight's trail, or null to clear it. */
  setTrail(points: TrailPoint[] | null): void {
    this.globe.pathsData(points && points.length >= 2 ? [{ points }] : []);
  }

  setRings(rings: Ring[]): void {
    this.globe.ringsData(rings);
  }

  /** Loads and adds the coast and border lines (fades in when zoomed in). */
  async loadBorders(url: string): Promise<void> {
    const res = await fetch(url);
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    const lines = parseBorders(await res.arrayBuffer());
    for (const [kind, colour] of [[0, 0x4f7fb8], [1, 0x3a5f8c]] as const) {
      const geom = new THREE.BufferGeometry();
      geom.setAttribute("position", new THREE.BufferAttribute(segmentPositions(lines, kind), 3));
      const mat = new THREE.LineBasicMaterial({ color: colour, transparent: true, opacity: 0 });
      const seg = new THREE.LineSegments(geom, mat);
      seg.renderOrder = 1;
      seg.name = kind === 0 ? "coast" : "borders";
      this.globe.scene().add(seg);
      this.#lines.push(seg);
    }
  }

  destroy(): void {
    cancelAnimationFrame(this.#raf);
    this.#resize.disconnect();
    this.layer.dispose();
    this.globe.pauseAnimation();
    this.globe._destructor();
  }

  #fit(): void {
    const w = this.#container.clientWidth, h = this.#container.clientHeight;
    if (w > 0 && h > 0) this.globe.width(w).height(h);
  }

  #loop = (t: number) => {
    this.#raf = requestAnimationFrame(this.#loop);
    this.#frames.push(t);
    while (this.#frames.length > 0 && this.#frames[0]! < t - 1000) this.#frames.shift();
    this.fps = this.#frames.length;
    const store = this.#store;
    if (!store) return;
    const cam = this.globe.camera() as THREE.PerspectiveCamera;
    const host = this.#host.frame();
    const h = this.#container.clientHeight || 1;
    const camAlt = Math.hypot(cam.position.x, cam.position.y, cam.position.z) / GLOBE_RADIUS - 1;
    const frame: FrameState = {
      ...host,
      camera: [cam.position.x, cam.position.y, cam.position.z],
      unitsPerPxAtOne: 2 * Math.tan(cam.fov * Math.PI / 360) / h,
      markerPx: markerPx(camAlt),
    };
    // The layer's own JavaScript per frame (the shader does the rest), for the benchmark.
    const t0 = performance.now();
    // (A hidden layer, the benchmark's baselines, costs nothing.)
    const drawn = this.layer.mesh.visible ? this.layer.frame(frame) : null;
    this.layerMs += performance.now() - t0;
    this.layerFrames++;
    this.selectedDrawn = drawn;
    if (this.#cockpitSince !== null && drawn) this.#follow(cam, drawn, t);
    this.#placeRing(drawn, frame);
    const opacity = Math.max(0, Math.min(0.85, (1.2 - camAlt) / 0.8));
    for (const l of this.#lines) {
      (l.material as THREE.LineBasicMaterial).opacity = l.name === "coast"
        ? opacity
        : opacity * 0.8;
      l.visible = opacity > 0.01;
    }
  };

  #follow(cam: THREE.PerspectiveCamera, d: DrawnAircraft, t: number): void {
    const chase = chaseCamera(
      { lat: d.lat, lng: d.lng, altM: Math.max(d.altM, 300), trackDeg: d.trackDeg },
      { back: 9_000, above: 2_600, ahead: 8_000 },
    );
    const pos = new THREE.Vector3(...chase.position);
    const target = new THREE.Vector3(...chase.target);
    const up = new THREE.Vector3(...chase.up);
    const k = Math.min(1, (t - this.#cockpitSince!) / ENTER_COCKPIT_MS);
    if (k < 1 && this.#cockpitFrom) {
      // Ease from where the camera was: position and aim glide, the horizon levels out.
      const e = k * k * (3 - 2 * k);
      pos.lerpVectors(this.#cockpitFrom.pos, pos, e);
      target.lerpVectors(this.#cockpitFrom.target, target, e);
      up.lerpVectors(new THREE.Vector3(0, 1, 0), up, e).normalize();
    }
    cam.position.copy(pos);
    cam.up.copy(up);
    cam.lookAt(target);
  }

  #placeRing(d: DrawnAircraft | null, frame: FrameState): void {
    if (!d || frame.cockpit) {
      this.#ring.visible = false;
      return;
    }
    const { up } = localFrame(d.lat, d.lng);
    this.#ring.visible = true;
    this.#ring.position.set(...d.position);
    this.#ring.lookAt(
      d.position[0] + up[0],
      d.position[1] + up[1],
      d.position[2] + up[2],
    );
    const dist = Math.hypot(
      frame.camera[0] - d.position[0],
      frame.camera[1] - d.position[1],
      frame.camera[2] - d.position[2],
    );
    this.#ring.scale.setScalar(dist * frame.unitsPerPxAtOne * frame.markerPx * 2.2);
  }

  #installPicking(): void {
    let down: { x: number; y: number; t: number } | null = null;
    const el = this.#container;
    el.addEventListener("pointerdown", (e) => {
      down = { x: e.clientX, y: e.clientY, t: performance.now() };
    });
    el.addEventListener("pointerup", (e) => {
      if (!down) return;
      const moved = Math.hypot(e.clientX - down.x, e.clientY - down.y);
      const quick = performance.now() - down.t < 600;
      down = null;
      if (moved > 6 || !quick) return;
      const rect = el.getBoundingClientRect();
      const id = this.layer.pick(e.clientX - rect.left, e.clientY - rect.top, {
        camera: this.globe.camera(),
        width: rect.width,
        height: rect.height,
        maxPx: e.pointerType === "touch" ? 28 : 16,
      });
      this.#host.onPick(id);
    });
  }

  #updateAirports(pov: { lat: number; lng: number; altitude: number }): void {
    if (!this.#airports) return;
    const list = pov.altitude > AIRPORTS_MAX_ALTITUDE ? [] : this.#airports.visible(pov, 90);
    const key = list.map((a) => a.ident).join(",");
    if (key === this.#lastAirportsKey) return;
    this.#lastAirportsKey = key;
    this.globe.htmlElementsData(list);
  }

  /** The label element of an airport (made once, reused). */
  airportElement(a: Airport): HTMLElement {
    let el = this.#airportEls.get(a.ident);
    if (!el) {
      el = document.createElement("div");
      el.className = a.large ? "apt apt-large" : "apt";
      el.title = `${a.name} (${a.iata} / ${a.ident})`;
      const dot = document.createElement("span");
      dot.className = "apt-dot";
      const label = document.createElement("span");
      label.className = "apt-code";
      label.textContent = a.iata;
      el.append(dot, label);
      this.#airportEls.set(a.ident, el);
    }
    return el;
  }
}

/**
 * True when WebGL runs in software (SwiftShader, llvmpipe): then the globe
 * skips multisampling, which costs more than everything else there.
 */
export function softwareRenderer(): boolean {
  const canvas = document.createElement("canvas");
  const gl = canvas.getContext("webgl2") ?? canvas.getContext("webgl");
  if (!gl) return false;
  const ext = gl.getExtension("WEBGL_debug_renderer_info");
  const name = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension("WEBGL_lose_context")?.loseContext();
  return /swiftshader|llvmpipe|softpipe|software|basic render/i.test(name);
}

/** Creates the globe in `container` (loads globe.gl, the texture and the lines). */
export async function createGlobeScene(
  container: HTMLElement,
  host: SceneHost,
  options: { airports: AirportIndex | null; texture: string; borders: string; software?: boolean },
): Promise<GlobeScene> {
  const { default: Globe } = await import("globe.gl");
  const globe = new Globe(container, {
    rendererConfig: {
      antialias: !options.software,
      alpha: false,
      powerPreference: "high-performance",
    },
    animateIn: false,
  });
  // Unlit: the texture is drawn dark on purpose; shading would hide the night side.
  globe.globeMaterial(new THREE.MeshBasicMaterial({ color: 0xffffff }));
  globe
    .backgroundColor("#03060c")
    .globeImageUrl(options.texture)
    .showAtmosphere(true)
    .atmosphereColor("#3d8bff")
    .atmosphereAltitude(0.14)
    .showGraticules(false)
    .enablePointerInteraction(false)
    .pathPoints("points")
    .pathPointLat((p: object) => (p as TrailPoint)[0])
    .pathPointLng((p: object) => (p as TrailPoint)[1])
    .pathPointAlt((p: object) => relativeAltitude(Math.max(30, (p as TrailPoint)[2])))
    .pathColor(() => ["rgba(120, 200, 255, 0.15)", "rgba(150, 220, 255, 0.95)"])
    .pathStroke(2.2)
    .pathTransitionDuration(0)
    .ringLat("lat")
    .ringLng("lng")
    .ringAltitude(0.0015)
    .ringColor((r: object) => {
      const red = (r as Ring).severity === "critical";
      return (t: number) => red ? `rgba(255, 60, 70, ${1 - t})` : `rgba(255, 190, 60, ${1 - t})`;
    })
    .ringMaxRadius(1.1)
    .ringPropagationSpeed(1.4)
    .ringRepeatPeriod(900)
    .htmlLat("lat")
    .htmlLng("lon")
    .htmlAltitude(0)
    .htmlTransitionDuration(0);
  globe.renderer().setPixelRatio(Math.min(2, globalThis.devicePixelRatio || 1));
  const scene = new GlobeScene(globe, container, host, options.airports, {
    software: options.software,
  });
  globe.htmlElement((d: object) => scene.airportElement(d as Airport));
  scene.loadBorders(options.borders).catch((e) => console.warn("borders:", e));
  return scene;
}
