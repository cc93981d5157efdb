/**
 * The selected aircraft: its session and recorded trail from the history
 * API, loaded when it is picked and refreshed while live. The trail is the
 * worker's Kalman-smoothed track while the marker is drawn at the raw
 * reported position (dead-reckoned), which the details panel says. No DOM.
 *
 * @module
 */
import type { Session, TrackPoint } from "../../contracts/api.ts";
import { type ApiOptions, fetchFlightDetail, fetchTrack } from "./api.ts";
import type { FlightStore } from "./flight_store.ts";
import type { SelectedView } from "./ui_types.ts";

/** How far back a trail goes at most, ms. */
const TRAIL_SPAN_MS = 3 * 3600_000;
/** Reload the live trail after this long, ms. */
const TRAIL_REFRESH_MS = 30_000;

export class Selection {
  readonly #api: ApiOptions;
  readonly #now: () => number;
  #id: string | null = null;
  #session: Session | null = null;
  #trail: TrackPoint[] | null = null;
  #note: string | null = null;
  #loadedAtMs = 0;

  constructor(options: { api: ApiOptions; now: () => number }) {
    this.#api = options.api;
    this.#now = options.now;
  }

  get id(): string | null {
    return this.#id;
  }

  get hasTrail(): boolean {
    return this.#trail !== null;
  }

  /** Changes the selection and forgets the previous one's detail; false when unchanged. */
  set(id: string | null): boolean {
    if (id === this.#id) return false;
    this.#id = id;
    this.#session = null;
    this.#trail = null;
    this.#note = null;
    return true;
  }

  /** True when the live trail is old enough to reload. */
  stale(): boolean {
    return this.#now() - this.#loadedAtMs > TRAIL_REFRESH_MS;
  }

  /**
   * Loads the session and the trail up to `nowS` (the time shown). Answers
   * for an aircraft no longer selected are dropped.
   */
  async load(nowS: number): Promise<void> {
    const id = this.#id;
    if (!id) return;
    try {
      const detail = await fetchFlightDetail(id, this.#api);
      if (this.#id !== id) return;
      this.#session = detail.session;
    } catch (e) {
      if (this.#id === id) this.#note = `history unavailable (${(e as Error).message})`;
    }
    const sessionStart = this.#session ? Date.parse(this.#session.first_seen) : NaN;
    const fromMs = Math.max(
      Number.isFinite(sessionStart) ? sessionStart : 0,
      nowS * 1000 - TRAIL_SPAN_MS,
    );
    try {
      const track = await fetchTrack(
        id,
        { from: new Date(fromMs).toISOString(), to: new Date(nowS * 1000).toISOString() },
        this.#api,
      );
      if (this.#id !== id) return;
      this.#trail = track.points;
      this.#note = track.points.length < 2 ? "no recorded trail yet" : null;
    } catch (e) {
      if (this.#id === id) {
        this.#trail = null;
        this.#note ??= `no trail (${(e as Error).message})`;
      }
    }
    this.#loadedAtMs = this.#now();
  }

  /**
   * The trail as scene points up to `nowS`, ending at the marker as drawn
   * (`drawn`), so line and marker meet; null without one.
   */
  trailPoints(
    nowS: number,
    drawn: { lat: number; lng: number; altM: number } | null,
  ): [number, number, number][] | null {
    if (!this.#trail || this.#trail.length < 1) return null;
    const pts: [number, number, number][] = this.#trail
      .filter((p) => Date.parse(p.ts) / 1000 <= nowS + 1)
      .map((p) => [p.lat, p.lon, p.altitude_m ?? 0]);
    if (drawn) pts.push([drawn.lat, drawn.lng, drawn.altM]);
    return pts;
  }

  /** What the details panel shows. */
  view(store: FlightStore, nowS: number): SelectedView | null {
    const id = this.#id;
    if (!id) return null;
    const t = store.flights.get(id);
    return {
      icao24: id,
      flight: t?.flight ?? null,
      session: this.#session,
      contactAgeS: t ? Math.max(0, nowS - t.flight.last_contact_unix) : null,
      positionAgeS: t ? Math.max(0, nowS - t.flight.time_position_unix) : null,
      trailPoints: this.#trail?.length ?? 0,
      trailNote: this.#note,
    };
  }
}
