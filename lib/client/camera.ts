/**
 * Where the camera is and what follows from it: the point of view kept for
 * the URL, the first framing of the traffic, flying to an aircraft (later,
 * when it has not arrived yet), the cockpit view, and the viewport box the
 * live subscription and time travel ask for ({@link ViewportTracker}).
 * No DOM: the scene comes in through {@link SceneLike}.
 *
 * @module
 */
import type { BBox } from "../../contracts/common.ts";
import type { FlightStore } from "./flight_store.ts";
import { framingPov } from "./framing.ts";
import type { SceneLike } from "./ui_types.ts";
import { type PointOfView, ViewportTracker } from "./viewport.ts";

export class Camera {
  readonly #viewport = new ViewportTracker();
  #scene: SceneLike | null = null;
  #pov: PointOfView | null = null;
  #framed = false;
  #cockpit = false;
  /** An aircraft to fly to once it is in the store (selected from the URL or a search). */
  #pending: string | null = null;

  get scene(): SceneLike | null {
    return this.#scene;
  }

  /** The last point of view the user moved to; null before any. */
  get pov(): PointOfView | null {
    return this.#pov;
  }

  get cockpit(): boolean {
    return this.#cockpit;
  }

  /** The subscribed viewport (view plus margin); null: the whole world. */
  get bbox(): BBox | null {
    return this.#viewport.bbox;
  }

  /** What the camera shows, without the margin; null: the whole world. */
  get viewBox(): BBox | null {
    return this.#viewport.view;
  }

  /** Starts where a shared URL pointed (no automatic framing then). */
  restore(pov: PointOfView, options: { cockpit: boolean }): void {
    this.#pov = pov;
    this.#framed = true;
    this.#cockpit = options.cockpit;
    this.#viewport.update(pov);
  }

  attach(scene: SceneLike): void {
    this.#scene = scene;
    if (this.#pov) scene.flyTo(this.#pov, 0);
    if (this.#cockpit) scene.enterCockpit();
  }

  /**
   * The camera moved (globe.gl's zoom event). Returns true when the
   * viewport subscription has to change; small moves return false.
   */
  notePov(pov: PointOfView): boolean {
    this.#pov = pov;
    return this.#viewport.update(pov, this.#aspect());
  }

  /**
   * In the cockpit the orbit camera does not move: the viewport follows the
   * aircraft instead. Returns true when the subscription has to change.
   */
  followCockpit(): boolean {
    const d = this.#scene?.selectedDrawn;
    if (!this.#cockpit || !d) return false;
    return this.#viewport.update({ lat: d.lat, lng: d.lng, altitude: 0 }, this.#aspect());
  }

  /** Frames the traffic once, the first time there is some (unless something is selected). */
  frameOnce(store: FlightStore, options: { selected: boolean }): void {
    if (this.#framed || store.size === 0 || !this.#scene) return;
    this.#framed = true;
    if (options.selected) return;
    const pov = framingPov([...store.flights.values()].map((t) => t.flight.position));
    if (pov) this.#scene.flyTo(pov, 1500);
  }

  /** Flies to `icao24` now, or as soon as it is in `store`. */
  flyTo(store: FlightStore, icao24: string, nowS: number): void {
    const t = store.flights.get(icao24);
    if (!t || !this.#scene) {
      this.#pending = icao24;
      return;
    }
    this.#pending = null;
    const p = store.displayAt(t, nowS);
    const alt = Math.min(this.#scene.pointOfView().altitude, 0.2);
    this.#scene.flyTo({ lat: p.lat, lng: p.lon, altitude: alt }, 1000);
  }

  /** Retries a fly-to that waited for its aircraft. */
  flyPending(store: FlightStore, selected: string | null, nowS: number): void {
    if (this.#pending === null) return;
    if (this.#pending !== selected) {
      this.#pending = null;
      return;
    }
    if (store.flights.has(selected)) this.flyTo(store, selected, nowS);
  }

  cancelPending(): void {
    this.#pending = null;
  }

  /** Flies to a place (an anomaly whose aircraft is gone). */
  flyToPlace(lat: number, lng: number): void {
    this.#scene?.flyTo({ lat, lng, altitude: 0.25 }, 1000);
  }

  /** Enters or leaves the cockpit view; false when nothing changed. */
  setCockpit(on: boolean): boolean {
    if (on === this.#cockpit) return false;
    this.#cockpit = on;
    if (on) this.#scene?.enterCockpit();
    else this.#scene?.leaveCockpit();
    return true;
  }

  #aspect(): { aspect?: number } {
    const a = this.#scene?.aspect;
    return a && Number.isFinite(a) && a > 0 ? { aspect: a } : {};
  }
}
