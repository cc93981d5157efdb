/**
 * Alert geofences on the globe (issue #13): the saved rules' circles and
 * polygons as lines on the surface, and a draw mode for a new circle: press
 * at the centre, drag to set the radius (the circle follows the pointer),
 * release to hand it to the alerts panel. While drawing, the globe does not
 * turn (the controls are off and the pointer events stop here) and a click
 * picks no aircraft.
 *
 * Browser only, like globe_scene.ts (three.js objects in globe.gl's scene).
 *
 * @module
 */
import type { GlobeInstance } from "globe.gl";
import * as THREE from "three";
import type { Geofence } from "../../contracts/alerts.ts";
import { circleFromDrag, geofenceOutline } from "../alerts/geofence.ts";
import { globeCoords } from "./globe_coords.ts";

/** A circle drawn on the globe: centre `[lat, lon]` (degrees), radius (metres). */
export interface DrawnCircle {
  center: [number, number];
  radius_m: number;
}

/** A saved rule's area as the layer shows it. */
export interface ShownGeofence {
  id: string;
  geofence: Geofence;
  muted: boolean;
}

/** Height of the lines above the surface, in globe radii (above the texture, below aircraft). */
const LIFT = 0.0015;
const SAVED = 0x4fd1ff;
const MUTED = 0x4a5a6a;
const PREVIEW = 0xffc040;

function outline(points: readonly (readonly [number, number])[], colour: number): THREE.LineLoop {
  const flat = new Float32Array(points.length * 3);
  points.forEach(([lat, lon], i) => flat.set(globeCoords(lat, lon, LIFT), i * 3));
  const geom = new THREE.BufferGeometry();
  geom.setAttribute("position", new THREE.BufferAttribute(flat, 3));
  const line = new THREE.LineLoop(
    geom,
    new THREE.LineBasicMaterial({ color: colour, transparent: true, opacity: 0.9 }),
  );
  line.renderOrder = 5;
  return line;
}

function dispose(line: THREE.LineLoop): void {
  line.geometry.dispose();
  (line.material as THREE.Material).dispose();
}

export class GeofenceLayer {
  readonly #globe: GlobeInstance;
  readonly #container: HTMLElement;
  readonly #saved = new THREE.Group();
  #preview: THREE.LineLoop | null = null;
  #draw: {
    onDone(circle: DrawnCircle): void;
    centre: { lat: number; lon: number } | null;
    circle: DrawnCircle | null;
    pointer: number | null;
  } | null = null;
  readonly #listeners: [string, (e: PointerEvent) => void][];

  constructor(globe: GlobeInstance, container: HTMLElement) {
    this.#globe = globe;
    this.#container = container;
    this.#saved.name = "alert-geofences";
    globe.scene().add(this.#saved);
    this.#listeners = [
      ["pointerdown", (e) => this.#down(e)],
      ["pointermove", (e) => this.#move(e)],
      ["pointerup", (e) => this.#up(e)],
    ];
    // Capture phase on the container: runs before the orbit controls (on the canvas inside it)
    // and before the aircraft picking (bubble phase on the container), which it stops.
    for (const [type, fn] of this.#listeners) {
      container.addEventListener(type, fn as EventListener, { capture: true });
    }
  }

  /** How many saved geofences are drawn (tests read it through the test hook). */
  get shown(): number {
    return this.#saved.children.length;
  }

  get drawing(): boolean {
    return this.#draw !== null;
  }

  /** Replaces the saved geofences shown. */
  setGeofences(list: readonly ShownGeofence[]): void {
    for (const child of [...this.#saved.children]) {
      this.#saved.remove(child);
      dispose(child as THREE.LineLoop);
    }
    for (const g of list) {
      const line = outline(geofenceOutline(g.geofence), g.muted ? MUTED : SAVED);
      line.userData = { ruleId: g.id };
      this.#saved.add(line);
    }
  }

  /** Enters draw mode; `onDone` gets the circle when the pointer is released. */
  startDrawing(onDone: (circle: DrawnCircle) => void): void {
    this.cancelDrawing();
    this.#draw = { onDone, centre: null, circle: null, pointer: null };
    this.#globe.controls().enabled = false;
    this.#container.style.cursor = "crosshair";
  }

  /** Leaves draw mode and removes the draft circle. */
  cancelDrawing(): void {
    this.#endDraw();
    this.#setPreview(null);
  }

  /** Shows a draft circle (the one drawn, or typed in the panel); null removes it. */
  setDraft(circle: DrawnCircle | null): void {
    this.#setPreview(circle);
  }

  #endDraw(): void {
    if (!this.#draw) return;
    this.#draw = null;
    this.#globe.controls().enabled = true;
    this.#container.style.cursor = "";
  }

  destroy(): void {
    this.cancelDrawing();
    for (const [type, fn] of this.#listeners) {
      this.#container.removeEventListener(type, fn as EventListener, { capture: true });
    }
    this.setGeofences([]);
    this.#globe.scene().remove(this.#saved);
  }

  /** The surface point under the pointer, or null off the globe. */
  #at(e: PointerEvent): { lat: number; lon: number } | null {
    const rect = this.#container.getBoundingClientRect();
    const p = this.#globe.toGlobeCoords(e.clientX - rect.left, e.clientY - rect.top);
    return p ? { lat: p.lat, lon: p.lng } : null;
  }

  #down(e: PointerEvent): void {
    const d = this.#draw;
    if (!d) return;
    e.stopPropagation();
    e.preventDefault();
    const at = this.#at(e);
    if (!at) return; // pressed beside the globe: keep waiting for a press on it
    d.centre = at;
    d.circle = null;
    d.pointer = e.pointerId;
    (e.target as Element | null)?.setPointerCapture?.(e.pointerId);
  }

  #move(e: PointerEvent): void {
    const d = this.#draw;
    if (!d) return;
    e.stopPropagation();
    if (!d.centre || e.pointerId !== d.pointer) return;
    const at = this.#at(e);
    if (!at) return;
    d.circle = circleFromDrag(d.centre, at);
    this.#setPreview(d.circle);
  }

  #up(e: PointerEvent): void {
    const d = this.#draw;
    if (!d) return;
    e.stopPropagation();
    e.preventDefault();
    if (!d.centre || e.pointerId !== d.pointer) return;
    const at = this.#at(e);
    const circle = at ? circleFromDrag(d.centre, at) : d.circle;
    if (!circle || circle.radius_m <= 10) {
      // A click without a drag: wait for a real one.
      d.centre = null;
      return;
    }
    // The draft stays on the globe until the panel saves or clears it.
    this.#endDraw();
    this.#setPreview(circle);
    d.onDone(circle);
  }

  #setPreview(circle: DrawnCircle | null): void {
    if (this.#preview) {
      this.#globe.scene().remove(this.#preview);
      dispose(this.#preview);
      this.#preview = null;
    }
    if (!circle) return;
    this.#preview = outline(geofenceOutline(circle), PREVIEW);
    this.#preview.name = "alert-geofence-draft";
    this.#globe.scene().add(this.#preview);
  }
}
