/**
 * The globe page's brain, without DOM. It wires the parts, each in its own
 * module: the live feed (`/ws` connection, store, server clock:
 * live_feed.ts), the camera and its viewport (camera.ts, viewport.ts),
 * search (search.ts), the selected aircraft with its trail (selection.ts)
 * and time travel (time_travel_mode.ts); here are what joins them: the
 * subscription (filters plus viewport), the emergency rings, the periodic
 * tick and what the panels and the URL show. The scene (three.js) and the
 * panels (Preact) plug in through {@link SceneLike} and
 * {@link SkyController.onChange}; everything here runs, and is tested, in
 * Deno with a fake socket and fetch.
 *
 * @module
 */
import type { AlertEvent } from "../../contracts/alerts.ts";
import type { Subscription } from "../../contracts/ws.ts";
import { AnomalyFeed, EMERGENCY_SQUAWKS, isActiveEmergency } from "./anomalies.ts";
import { type ApiOptions, fetchAnomalies } from "./api.ts";
import { Camera } from "./camera.ts";
import type { LiveConnection } from "./connection.ts";
import { DEFAULT_FILTER, type FilterState, toSubscription } from "./filters.ts";
import type { FlightStore } from "./flight_store.ts";
import { LiveFeed } from "./live_feed.ts";
import { Search } from "./search.ts";
import { Selection } from "./selection.ts";
import { sliderRange } from "./time_travel.ts";
import { TimeTravelMode } from "./time_travel_mode.ts";
import type { ControllerOptions, SceneLike, UiSnapshot } from "./ui_types.ts";
import type { UrlState } from "./url_state.ts";
import { compileFilter } from "../hub/filter.ts";

export type { ControllerOptions, SceneLike, SelectedView, UiSnapshot } from "./ui_types.ts";

/** Defaults of the anomaly feed's first load (the server passes ANOMALY_WINDOW_HOURS). */
const ANOMALY_WINDOW_HOURS = 24;
const ANOMALY_LIMIT = 200;

export class SkyController {
  readonly feed = new AnomalyFeed();
  readonly camera = new Camera();
  readonly search = new Search();
  readonly selection: Selection;
  readonly timeTravel: TimeTravelMode;
  readonly #live: LiveFeed;
  readonly #api: ApiOptions;
  readonly #now: () => number;
  readonly #anomalyWindowH: number;
  readonly #anomalyLimit: number;
  #listeners = new Set<(s: UiSnapshot) => void>();
  #urlListeners = new Set<(u: UrlState) => void>();
  #alertListeners = new Set<(e: AlertEvent) => void>();
  #filter: FilterState = { ...DEFAULT_FILTER };
  #emergencies = new Set<string>();
  #timer: number | null = null;

  constructor(options: ControllerOptions) {
    this.#api = options.api ?? {};
    this.#now = options.now ?? Date.now;
    this.#anomalyWindowH = options.anomalyWindowHours ?? ANOMALY_WINDOW_HOURS;
    this.#anomalyLimit = options.anomalyLimit ?? ANOMALY_LIMIT;
    this.selection = new Selection({ api: this.#api, now: this.#now });
    this.timeTravel = new TimeTravelMode({
      api: this.#api,
      monotonic: options.monotonic ?? (() => performance.now()),
    });
    this.#live = new LiveFeed(
      {
        wsUrl: options.wsUrl,
        encoding: options.encoding ?? "bin",
        ...(options.socket ? { socket: options.socket } : {}),
        now: this.#now,
      },
      {
        onData: () => this.#onLiveData(),
        onAnomaly: (e) => this.feed.add([e]),
        onAlert: (e) => this.#alertListeners.forEach((listener) => listener(e)),
        onStatus: () => this.#emit(),
      },
    );
  }

  /** The live store (whatever time travel shows). */
  get live(): FlightStore {
    return this.#live.store;
  }

  /** The live feed (connection, store, clock): `deno task bench:globe` drives it. */
  get liveFeed(): LiveFeed {
    return this.#live;
  }

  get connection(): LiveConnection {
    return this.#live.connection;
  }

  // --- lifecycle ---------------------------------------------------------------

  /** Connects, loads recent anomalies, applies the URL state, starts the UI tick. */
  start(initial: UrlState = {}): void {
    if (initial.q) this.setQuery(initial.q);
    if (initial.sel) this.select(initial.sel, { fly: initial.lat === undefined });
    if (initial.lat !== undefined && initial.lng !== undefined) {
      this.camera.restore(
        { lat: initial.lat, lng: initial.lng, altitude: initial.alt ?? 0.6 },
        { cockpit: initial.view === "cockpit" && initial.sel !== undefined },
      );
    } else if (initial.view === "cockpit" && initial.sel) this.camera.setCockpit(true);
    this.#live.subscribe(this.subscription());
    this.#live.start();
    this.#loadAnomalies();
    if (initial.t) this.enterReplay(Date.parse(initial.t) / 1000, { speed: initial.speed });
    this.#timer = setInterval(() => this.tick(), 250) as unknown as number;
  }

  stop(): void {
    this.#live.stop();
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  attachScene(scene: SceneLike): void {
    scene.bindStore(this.activeStore);
    this.camera.attach(scene);
  }

  onChange(listener: (s: UiSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Alert events pushed by the hub (`alert` messages), as they arrive. */
  onAlert(listener: (e: AlertEvent) => void): () => void {
    this.#alertListeners.add(listener);
    return () => this.#alertListeners.delete(listener);
  }

  /** Selects an alert's aircraft and flies there (to the alert's place when it is gone). */
  focusAlert(e: AlertEvent): void {
    if (this.activeStore.flights.has(e.icao24)) return this.select(e.icao24, { fly: true });
    this.select(e.icao24);
    this.camera.flyToPlace(e.position.lat, e.position.lon);
  }

  onUrl(listener: (u: UrlState) => void): () => void {
    this.#urlListeners.add(listener);
    return () => this.#urlListeners.delete(listener);
  }

  // --- time ----------------------------------------------------------------------

  get activeStore(): FlightStore {
    return this.timeTravel.session?.store ?? this.live;
  }

  /** Live data time (server clock), unix seconds. */
  liveNowS(): number {
    return this.#live.nowS();
  }

  /** The time the globe shows, unix seconds. */
  nowS(): number {
    return this.timeTravel.session?.clock.now() ?? this.liveNowS();
  }

  /** For the scene's animation frame. */
  frame() {
    return {
      nowS: this.nowS(),
      selected: this.selection.id,
      cockpit: this.camera.cockpit && this.camera.scene !== null,
      highlight: this.search.highlight,
      emergencies: this.#emergencies,
    };
  }

  // --- live data and subscription ---------------------------------------------------

  /** What the hub is asked for: the filters and the viewport. */
  subscription(): Subscription {
    const sub = toSubscription(this.#filter);
    const bbox = this.camera.bbox;
    return bbox ? { ...sub, bbox } : sub;
  }

  #onLiveData(): void {
    this.camera.frameOnce(this.live, { selected: this.selection.id !== null });
    if (!this.timeTravel.session) {
      this.camera.flyPending(this.live, this.selection.id, this.nowS());
    }
  }

  #resubscribe(): void {
    this.#live.subscribe(this.subscription());
    if (this.timeTravel.session) this.#fetchReplay(false);
  }

  async #loadAnomalies(): Promise<void> {
    try {
      const since = new Date(this.#now() - this.#anomalyWindowH * 3600_000).toISOString();
      const res = await fetchAnomalies({ since, limit: this.#anomalyLimit }, this.#api);
      this.feed.add(res.anomalies);
      this.#emit();
    } catch (e) {
      console.warn("anomalies:", (e as Error).message);
    }
  }

  // --- filters, search, selection, camera ---------------------------------------------

  setFilter(patch: Partial<FilterState>): void {
    const next = { ...this.#filter, ...patch };
    if (!next.ground && !next.airborne) next.airborne = true;
    this.#filter = next;
    this.#resubscribe();
    this.#emit();
  }

  setQuery(q: string): void {
    this.search.set(q, this.activeStore);
    this.#emitUrl();
    this.#emit();
  }

  /** Selects an aircraft (null clears); `fly` moves the camera to it. */
  select(icao24: string | null, options: { fly?: boolean } = {}): void {
    if (icao24 === this.selection.id) {
      if (icao24 && options.fly) this.camera.flyTo(this.activeStore, icao24, this.nowS());
      return;
    }
    if (icao24 === null) this.setCockpit(false);
    this.selection.set(icao24);
    this.camera.scene?.setTrail(null);
    this.camera.cancelPending();
    if (icao24) {
      this.#loadDetail();
      if (options.fly) this.camera.flyTo(this.activeStore, icao24, this.nowS());
    }
    this.#emitUrl();
    this.#emit();
  }

  setCockpit(on: boolean): void {
    if (on && !this.selection.id) return;
    if (!this.camera.setCockpit(on)) return;
    this.#emitUrl();
    this.#emit();
  }

  /** Selects the aircraft of an anomaly and flies there (to the event's place when it is gone). */
  focusAnomaly(id: string): void {
    const e = this.feed.get(id);
    if (!e) return;
    if (this.activeStore.flights.has(e.icao24)) {
      this.select(e.icao24, { fly: true });
    } else {
      this.select(e.icao24);
      this.camera.flyToPlace(e.position.lat, e.position.lon);
    }
  }

  /** Records where the camera looks (for the URL) and follows it with the subscription. */
  notePov(pov: { lat: number; lng: number; altitude: number }): void {
    if (this.camera.notePov(pov)) this.#resubscribe();
    this.#emitUrl();
  }

  async #loadDetail(): Promise<void> {
    await this.selection.load(this.nowS());
    this.#drawTrail();
    this.#emit();
  }

  #drawTrail(): void {
    const scene = this.camera.scene;
    if (!scene) return;
    scene.setTrail(this.selection.trailPoints(this.nowS(), scene.selectedDrawn));
  }

  // --- time travel -------------------------------------------------------------------

  enterReplay(atS: number, options: { speed?: number | undefined } = {}): void {
    if (this.timeTravel.enter(atS, { liveNowS: this.liveNowS(), speed: options.speed })) {
      this.camera.scene?.bindStore(this.activeStore);
    }
    this.#fetchReplay(false);
    this.#emitUrl();
    this.#emit();
  }

  seek(atS: number): void {
    this.enterReplay(atS);
  }

  play(): void {
    this.timeTravel.session?.clock.play();
    this.#emit();
  }

  pause(): void {
    this.timeTravel.session?.clock.pause();
    this.#emitUrl();
    this.#emit();
  }

  setSpeed(speed: number): void {
    this.timeTravel.session?.clock.setSpeed(speed);
    this.#emitUrl();
    this.#emit();
  }

  goLive(): void {
    if (!this.timeTravel.session) return;
    this.timeTravel.exit();
    this.camera.scene?.bindStore(this.live);
    this.search.refresh(this.activeStore);
    if (this.selection.id) this.#loadDetail();
    this.#emitUrl();
    this.#emit();
  }

  async #fetchReplay(blend: boolean): Promise<void> {
    const changed = await this.timeTravel.fetch({
      blend,
      filter: this.#filter,
      bbox: this.camera.bbox,
    });
    if (changed) this.search.refresh(this.activeStore);
    this.#emit();
  }

  // --- periodic ---------------------------------------------------------------------

  /** Runs every 250 ms: replay fetching, emergencies, search, trail tail, cockpit viewport, UI. */
  tick(): void {
    const r = this.timeTravel.session;
    if (r && r.clock.playing) {
      if (r.clock.now() >= this.liveNowS() - 2) return this.goLive();
      if (r.due()) this.#fetchReplay(true);
    }
    this.#updateEmergencies();
    if (this.search.active) this.search.refresh(this.activeStore);
    if (this.selection.id && this.selection.hasTrail) {
      if (!r && this.selection.stale()) this.#loadDetail();
      else this.#drawTrail();
    }
    if (this.camera.followCockpit()) this.#resubscribe();
    this.camera.flyPending(this.activeStore, this.selection.id, this.nowS());
    this.#emit();
  }

  #updateEmergencies(): void {
    const nowS = this.nowS();
    const store = this.activeStore;
    const replay = this.timeTravel.session !== null;
    const set = new Set<string>();
    const rings: { lat: number; lng: number; severity: string }[] = [];
    const ringAt = (
      id: string,
      fallback: { lat: number; lon: number } | null,
      severity: string,
    ) => {
      if (set.has(id)) return;
      set.add(id);
      const t = store.flights.get(id);
      const p = t ? store.displayAt(t, nowS) : fallback;
      if (p) rings.push({ lat: p.lat, lng: p.lon, severity });
    };
    for (const e of this.feed.list()) {
      if (isActiveEmergency(e, nowS)) ringAt(e.icao24, replay ? null : e.position, "critical");
    }
    for (const t of store.flights.values()) {
      const sq = t.flight.squawk;
      if (sq !== null && sq in EMERGENCY_SQUAWKS) ringAt(t.flight.icao24, null, "critical");
    }
    this.#emergencies = set;
    this.camera.scene?.setRings(rings);
  }

  // --- output -------------------------------------------------------------------------

  /** Aircraft of `store` inside what the camera shows (the hub's bbox rule). */
  #inView(store: FlightStore): number {
    const view = this.camera.viewBox;
    if (!view) return store.size;
    const inside = compileFilter({ bbox: view });
    let n = 0;
    for (const t of store.flights.values()) if (inside(t.flight)) n++;
    return n;
  }

  snapshot(): UiSnapshot {
    const store = this.activeStore;
    const nowS = this.nowS();
    const newest = store.newestContact();
    const replay = this.timeTravel.view(this.liveNowS());
    return {
      mode: replay ? "replay" : "live",
      connection: this.#live.status,
      retryInMs: this.#live.retryInMs,
      count: store.size,
      inView: this.#inView(store),
      total: replay ? null : this.#live.total,
      freshnessS: newest === null ? null : Math.max(0, nowS - newest),
      nowS,
      filter: this.#filter,
      query: this.search.query,
      results: this.search.results,
      matches: this.search.highlight?.size ?? 0,
      selected: this.selection.view(store, nowS),
      cockpit: this.camera.cockpit,
      anomalies: this.feed.list(),
      replay,
      range: sliderRange(this.liveNowS()),
      fps: this.camera.scene?.fps ?? 0,
      resyncs: this.connection.protocolStats.resyncs,
    };
  }

  /** The URL state of the current view. */
  urlState(): UrlState {
    const u: UrlState = {};
    const sel = this.selection.id;
    if (sel) u.sel = sel;
    if (this.camera.cockpit) u.view = "cockpit";
    const pov = this.camera.pov;
    if (pov && !this.camera.cockpit) {
      u.lat = pov.lat;
      u.lng = pov.lng;
      u.alt = pov.altitude;
    }
    const r = this.timeTravel.session;
    if (r) {
      u.t = new Date(Math.round(r.clock.now()) * 1000).toISOString();
      if (r.clock.speed !== 1) u.speed = r.clock.speed;
    }
    if (this.search.query) u.q = this.search.query;
    return u;
  }

  #emit(): void {
    if (this.#listeners.size === 0) return;
    const s = this.snapshot();
    for (const l of this.#listeners) l(s);
  }

  #emitUrl(): void {
    const u = this.urlState();
    for (const l of this.#urlListeners) l(u);
  }
}
