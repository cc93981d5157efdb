/**
 * The globe page's brain, without DOM: the live store fed by the `/ws`
 * connection, the time-travel store fed by `/api/snapshot`, the anomaly
 * feed, filters (sent to the hub as `subscribe`), search, selection with
 * the flight's details and trail, cockpit view, and the shareable URL
 * state. The scene (three.js) and the panels (Preact) plug in through
 * {@link SceneLike} and {@link SkyController.onChange}; everything here
 * runs, and is tested, in Deno with a fake socket and fetch.
 *
 * @module
 */
import type { AlertEvent } from "../../contracts/alerts.ts";
import type { Session, TrackPoint } from "../../contracts/api.ts";
import type { Flight } from "../../contracts/flight.ts";
import { AnomalyFeed, EMERGENCY_SQUAWKS, isActiveEmergency } from "./anomalies.ts";
import { type ApiOptions, fetchAnomalies, fetchFlightDetail, fetchTrack } from "./api.ts";
import { type ConnectionStatus, LiveConnection } from "./connection.ts";
import {
  DEFAULT_FILTER,
  type FilterState,
  matchesFilter,
  searchFlights,
  toSubscription,
} from "./filters.ts";
import { FlightStore } from "./flight_store.ts";
import type { ProtocolAction } from "./protocol.ts";
import { ReplaySession } from "./replay_session.ts";
import { sliderRange } from "./time_travel.ts";
import type { ControllerOptions, SceneLike, UiSnapshot } from "./ui_types.ts";
import type { UrlState } from "./url_state.ts";
import { framingPov } from "./framing.ts";

export type { ControllerOptions, SceneLike, SelectedView, UiSnapshot } from "./ui_types.ts";

export class SkyController {
  readonly live = new FlightStore();
  readonly feed = new AnomalyFeed();
  readonly connection: LiveConnection;
  readonly #api: ApiOptions;
  readonly #now: () => number;
  readonly #mono: () => number;
  #scene: SceneLike | null = null;
  #listeners = new Set<(s: UiSnapshot) => void>();
  #urlListeners = new Set<(u: UrlState) => void>();
  #alertListeners = new Set<(e: AlertEvent) => void>();
  #clockOffsetMs: number | null = null;
  #status: ConnectionStatus = "stopped";
  #retryInMs: number | null = null;
  #filter: FilterState = { ...DEFAULT_FILTER };
  #query = "";
  #highlight: Set<string> | null = null;
  #results: Flight[] = [];
  #selected: string | null = null;
  #flyToSelected = false;
  #cockpit = false;
  #session: Session | null = null;
  #trail: TrackPoint[] | null = null;
  #trailNote: string | null = null;
  #trailAtMs = 0;
  #emergencies = new Set<string>();
  #replay: ReplaySession | null = null;
  #framed = false;
  #timer: number | null = null;
  #pov: { lat: number; lng: number; altitude: number } | null = null;

  constructor(options: ControllerOptions) {
    this.#api = options.api ?? {};
    this.#now = options.now ?? Date.now;
    this.#mono = options.monotonic ?? (() => performance.now());
    this.connection = new LiveConnection(
      {
        url: options.wsUrl,
        encoding: options.encoding ?? "msgpack",
        ...(options.socket ? { socket: options.socket } : {}),
        now: this.#now,
      },
      {
        onAction: (a) => this.#onAction(a),
        onStatus: (status, d) => {
          this.#status = status;
          this.#retryInMs = d.retryInMs ?? null;
          this.#emit();
        },
      },
    );
  }

  // --- lifecycle ---------------------------------------------------------------

  /** Connects, loads recent anomalies, applies the URL state, starts the UI tick. */
  start(initial: UrlState = {}): void {
    if (initial.q) this.setQuery(initial.q);
    if (initial.sel) this.select(initial.sel, { fly: initial.lat === undefined });
    if (initial.view === "cockpit" && initial.sel) this.#cockpit = true;
    if (initial.lat !== undefined && initial.lng !== undefined) {
      this.#pov = { lat: initial.lat, lng: initial.lng, altitude: initial.alt ?? 0.6 };
      this.#framed = true;
    }
    this.connection.start();
    this.#loadAnomalies();
    if (initial.t) this.enterReplay(Date.parse(initial.t) / 1000, { speed: initial.speed });
    this.#timer = setInterval(() => this.tick(), 250) as unknown as number;
  }

  stop(): void {
    this.connection.stop();
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  attachScene(scene: SceneLike): void {
    this.#scene = scene;
    scene.bindStore(this.activeStore);
    if (this.#pov) scene.flyTo(this.#pov, 0);
    if (this.#cockpit) scene.enterCockpit();
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
    this.#scene?.flyTo({ lat: e.position.lat, lng: e.position.lon, altitude: 0.25 }, 1000);
  }

  onUrl(listener: (u: UrlState) => void): () => void {
    this.#urlListeners.add(listener);
    return () => this.#urlListeners.delete(listener);
  }

  // --- time ----------------------------------------------------------------------

  get activeStore(): FlightStore {
    return this.#replay?.store ?? this.live;
  }

  /** Live data time (server clock), unix seconds. */
  liveNowS(): number {
    return (this.#now() + (this.#clockOffsetMs ?? 0)) / 1000;
  }

  /** The time the globe shows, unix seconds. */
  nowS(): number {
    return this.#replay ? this.#replay.clock.now() : this.liveNowS();
  }

  /** For the scene's animation frame. */
  frame() {
    return {
      nowS: this.nowS(),
      selected: this.#selected,
      cockpit: this.#cockpit && this.#scene !== null,
      highlight: this.#highlight,
      emergencies: this.#emergencies,
    };
  }

  // --- live data -----------------------------------------------------------------

  #onAction(a: ProtocolAction): void {
    switch (a.kind) {
      case "snapshot":
      case "delta": {
        this.#syncClock(a.serverTimeMs);
        const now = this.liveNowS();
        if (a.kind === "snapshot") this.live.replace(a.flights, now);
        else {
          for (const f of a.upserts) this.live.upsert(f, now);
          for (const id of a.removes) this.live.remove(id);
        }
        if (!this.#framed && this.live.size > 0 && this.#scene) {
          this.#framed = true;
          const pov = framingPov([...this.live.flights.values()].map((t) => t.flight.position));
          if (pov && !this.#selected) this.#scene.flyTo(pov, 1500);
        }
        if (this.#flyToSelected && this.#selected && this.live.flights.has(this.#selected)) {
          this.#flyTo(this.#selected);
        }
        return;
      }
      case "anomaly":
        this.feed.add([a.event]);
        return;
      case "alert":
        for (const listener of this.#alertListeners) listener(a.event);
        return;
      case "hello":
        this.#syncClock(a.hello.server_time_ms);
        return;
    }
  }

  #syncClock(serverMs: number): void {
    const offset = serverMs - this.#now();
    // Smoothed, so one late frame does not shift every aircraft.
    this.#clockOffsetMs = this.#clockOffsetMs === null
      ? offset
      : this.#clockOffsetMs * 0.9 + offset * 0.1;
  }

  async #loadAnomalies(): Promise<void> {
    try {
      const since = new Date(this.#now() - 24 * 3600_000).toISOString();
      const res = await fetchAnomalies({ since, limit: 200 }, this.#api);
      this.feed.add(res.anomalies);
      this.#emit();
    } catch (e) {
      console.warn("anomalies:", (e as Error).message);
    }
  }

  // --- filters, search, selection --------------------------------------------------

  setFilter(patch: Partial<FilterState>): void {
    const next = { ...this.#filter, ...patch };
    if (!next.ground && !next.airborne) next.airborne = true;
    this.#filter = next;
    this.connection.subscribe(toSubscription(next));
    if (this.#replay) this.#fetchReplay(false);
    this.#emit();
  }

  setQuery(q: string): void {
    this.#query = q;
    this.#refreshSearch();
    this.#emitUrl();
    this.#emit();
  }

  #refreshSearch(): void {
    if (this.#query.trim() === "") {
      this.#highlight = null;
      this.#results = [];
      return;
    }
    const flights = [...this.activeStore.flights.values()].map((t) => t.flight);
    const all = searchFlights(flights, this.#query, 10_000);
    this.#highlight = new Set(all.map((f) => f.icao24));
    this.#results = all.slice(0, 8);
  }

  /** Selects an aircraft (null clears); `fly` moves the camera to it. */
  select(icao24: string | null, options: { fly?: boolean } = {}): void {
    if (icao24 === this.#selected) {
      if (icao24 && options.fly) this.#flyTo(icao24);
      return;
    }
    if (this.#cockpit && icao24 === null) this.setCockpit(false);
    this.#selected = icao24;
    this.#session = null;
    this.#trail = null;
    this.#trailNote = null;
    this.#scene?.setTrail(null);
    this.#flyToSelected = false;
    if (icao24) {
      this.#loadDetail(icao24);
      if (options.fly) this.#flyTo(icao24);
    }
    this.#emitUrl();
    this.#emit();
  }

  #flyTo(icao24: string): void {
    const t = this.activeStore.flights.get(icao24);
    if (!t || !this.#scene) {
      this.#flyToSelected = true;
      return;
    }
    this.#flyToSelected = false;
    const p = this.activeStore.displayAt(t, this.nowS());
    const alt = Math.min(this.#scene.pointOfView().altitude, 0.2);
    this.#scene.flyTo({ lat: p.lat, lng: p.lon, altitude: alt }, 1000);
  }

  setCockpit(on: boolean): void {
    if (on && !this.#selected) return;
    if (on === this.#cockpit) return;
    this.#cockpit = on;
    if (on) this.#scene?.enterCockpit();
    else this.#scene?.leaveCockpit();
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
      this.#scene?.flyTo({ lat: e.position.lat, lng: e.position.lon, altitude: 0.25 }, 1000);
    }
  }

  async #loadDetail(icao24: string): Promise<void> {
    const toIso = new Date(this.nowS() * 1000).toISOString();
    try {
      const detail = await fetchFlightDetail(icao24, this.#api);
      if (this.#selected !== icao24) return;
      this.#session = detail.session;
    } catch (e) {
      if (this.#selected === icao24) {
        this.#trailNote = `history unavailable (${(e as Error).message})`;
      }
    }
    const sessionStart = this.#session ? Date.parse(this.#session.first_seen) : NaN;
    const fromMs = Math.max(
      Number.isFinite(sessionStart) ? sessionStart : 0,
      this.nowS() * 1000 - 3 * 3600_000,
    );
    try {
      const track = await fetchTrack(
        icao24,
        { from: new Date(fromMs).toISOString(), to: toIso },
        this.#api,
      );
      if (this.#selected !== icao24) return;
      this.#trail = track.points;
      this.#trailNote = track.points.length < 2 ? "no recorded trail yet" : null;
    } catch (e) {
      if (this.#selected === icao24) {
        this.#trail = null;
        this.#trailNote ??= `no trail (${(e as Error).message})`;
      }
    }
    this.#trailAtMs = this.#now();
    this.#drawTrail();
    this.#emit();
  }

  #drawTrail(): void {
    if (!this.#scene) return;
    if (!this.#trail || this.#trail.length < 1) return this.#scene.setTrail(null);
    const nowS = this.nowS();
    const pts: [number, number, number][] = this.#trail
      .filter((p) => Date.parse(p.ts) / 1000 <= nowS + 1)
      .map((p) => [p.lat, p.lon, p.altitude_m ?? 0]);
    const d = this.#scene.selectedDrawn;
    if (d) pts.push([d.lat, d.lng, d.altM]);
    this.#scene.setTrail(pts);
  }

  // --- time travel -------------------------------------------------------------------

  enterReplay(atS: number, options: { speed?: number | undefined } = {}): void {
    const { minS, maxS } = sliderRange(this.liveNowS());
    const at = Math.max(minS, Math.min(maxS, atS));
    if (!this.#replay) {
      this.#replay = new ReplaySession(at, { wallMs: this.#mono, speed: options.speed ?? 1 });
      this.#scene?.bindStore(this.#replay.store);
    } else {
      this.#replay.clock.seek(at);
      if (options.speed) this.#replay.clock.setSpeed(options.speed);
    }
    this.#fetchReplay(false);
    this.#emitUrl();
    this.#emit();
  }

  seek(atS: number): void {
    this.enterReplay(atS);
  }

  play(): void {
    this.#replay?.clock.play();
    this.#emit();
  }

  pause(): void {
    this.#replay?.clock.pause();
    this.#emitUrl();
    this.#emit();
  }

  setSpeed(speed: number): void {
    this.#replay?.clock.setSpeed(speed);
    this.#emitUrl();
    this.#emit();
  }

  goLive(): void {
    if (!this.#replay) return;
    this.#replay = null;
    this.#scene?.bindStore(this.live);
    this.#refreshSearch();
    if (this.#selected) this.#loadDetail(this.#selected);
    this.#emitUrl();
    this.#emit();
  }

  async #fetchReplay(blend: boolean): Promise<void> {
    const r = this.#replay;
    if (!r) return;
    const filter = this.#filter;
    const changed = await r.fetch({
      blend,
      api: this.#api,
      keep: (f) => matchesFilter(f, filter),
    });
    if (changed && this.#replay === r) this.#refreshSearch();
    this.#emit();
  }

  // --- periodic ---------------------------------------------------------------------

  /** Runs every 250 ms: replay fetching, emergencies, search, trail tail, UI. */
  tick(): void {
    const r = this.#replay;
    if (r && r.clock.playing) {
      if (r.clock.now() >= this.liveNowS() - 2) return this.goLive();
      if (r.due()) this.#fetchReplay(true);
    }
    this.#updateEmergencies();
    if (this.#query) this.#refreshSearch();
    if (this.#selected && this.#trail) {
      if (this.#replay === null && this.#now() - this.#trailAtMs > 30_000) {
        this.#loadDetail(this.#selected);
      } else this.#drawTrail();
    }
    if (this.#flyToSelected && this.#selected) this.#flyTo(this.#selected);
    this.#emit();
  }

  #updateEmergencies(): void {
    const nowS = this.nowS();
    const store = this.activeStore;
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
      if (isActiveEmergency(e, nowS)) {
        ringAt(e.icao24, this.#replay ? null : e.position, "critical");
      }
    }
    for (const t of store.flights.values()) {
      const sq = t.flight.squawk;
      if (sq !== null && sq in EMERGENCY_SQUAWKS) ringAt(t.flight.icao24, null, "critical");
    }
    this.#emergencies = set;
    this.#scene?.setRings(rings);
  }

  /** Records where the camera looks (for the URL). */
  notePov(pov: { lat: number; lng: number; altitude: number }): void {
    this.#pov = pov;
    this.#emitUrl();
  }

  // --- output -------------------------------------------------------------------------

  snapshot(): UiSnapshot {
    const store = this.activeStore;
    const nowS = this.nowS();
    const newest = store.newestContact();
    const sel = this.#selected;
    const t = sel ? store.flights.get(sel) : undefined;
    const r = this.#replay;
    const range = sliderRange(this.liveNowS());
    return {
      mode: r ? "replay" : "live",
      connection: this.#status,
      retryInMs: this.#retryInMs,
      count: store.size,
      freshnessS: newest === null ? null : Math.max(0, nowS - newest),
      nowS,
      filter: this.#filter,
      query: this.#query,
      results: this.#results,
      matches: this.#highlight?.size ?? 0,
      selected: sel
        ? {
          icao24: sel,
          flight: t?.flight ?? null,
          session: this.#session,
          contactAgeS: t ? Math.max(0, nowS - t.flight.last_contact_unix) : null,
          positionAgeS: t ? Math.max(0, nowS - t.flight.time_position_unix) : null,
          trailPoints: this.#trail?.length ?? 0,
          trailNote: this.#trailNote,
        }
        : null,
      cockpit: this.#cockpit,
      anomalies: this.feed.list(),
      replay: r
        ? {
          atS: r.clock.now(),
          playing: r.clock.playing,
          speed: r.clock.speed,
          minS: range.minS,
          maxS: range.maxS,
          loading: r.inFlight,
          error: r.error,
        }
        : null,
      range,
      fps: this.#scene?.fps ?? 0,
      resyncs: this.connection.protocol.stats.resyncs,
    };
  }

  /** The URL state of the current view. */
  urlState(): UrlState {
    const u: UrlState = {};
    if (this.#selected) u.sel = this.#selected;
    if (this.#cockpit) u.view = "cockpit";
    if (this.#pov && !this.#cockpit) {
      u.lat = this.#pov.lat;
      u.lng = this.#pov.lng;
      u.alt = this.#pov.altitude;
    }
    if (this.#replay) {
      u.t = new Date(Math.round(this.#replay.clock.now()) * 1000).toISOString();
      if (this.#replay.clock.speed !== 1) u.speed = this.#replay.clock.speed;
    }
    if (this.#query) u.q = this.#query;
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
