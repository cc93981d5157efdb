/**
 * One time-travel session: its clock, the store the globe shows while it
 * lasts, and the `/api/snapshot` fetches that fill that store (a seek
 * snaps, playback blends; an answer to an older seek is ignored). No DOM.
 *
 * @module
 */
import type { BBox } from "../../contracts/common.ts";
import type { Flight } from "../../contracts/flight.ts";
import { type ApiOptions, fetchSnapshot } from "./api.ts";
import { FlightStore } from "./flight_store.ts";
import { ReplayClock, shouldFetch } from "./time_travel.ts";

export class ReplaySession {
  readonly clock: ReplayClock;
  readonly store = new FlightStore();
  inFlight = false;
  lastFetchS: number | null = null;
  lastFetchWallMs = 0;
  /** The instant (ISO 8601) and viewport of the answer the store holds, null before the first. */
  shown: { at: string; bbox: BBox | null } | null = null;
  /** Message of the last failed fetch, null after a success. */
  error: string | null = null;
  /** Bumped by every seek, so that an older answer arriving late is ignored. */
  #generation = 0;
  readonly #wall: () => number;

  constructor(atS: number, options: { wallMs: () => number; speed?: number }) {
    this.#wall = options.wallMs;
    this.clock = new ReplayClock(atS, { wallMs: options.wallMs, speed: options.speed ?? 1 });
  }

  /** True when playback has moved far enough for the next snapshot. */
  due(): boolean {
    return shouldFetch({
      inFlight: this.inFlight,
      lastFetchS: this.lastFetchS,
      lastFetchWallMs: this.lastFetchWallMs,
      nowS: this.clock.now(),
      wallMs: this.#wall(),
      // At high speed a snapshot every 5 s of history would mean many requests a second.
      everyS: Math.max(5, this.clock.speed * 0.5),
    });
  }

  /**
   * Fetches the snapshot at the clock's time and puts the aircraft that
   * `keep` accepts into the store (blending them in when `blend`, else
   * snapping: a seek must not glide). `bbox` asks the server for the
   * viewport only. Returns true when the store changed.
   */
  async fetch(
    options: { blend: boolean; api: ApiOptions; keep: (f: Flight) => boolean; bbox?: BBox },
  ): Promise<boolean> {
    const gen = options.blend ? this.#generation : ++this.#generation;
    const atS = this.clock.now();
    this.inFlight = true;
    this.lastFetchS = atS;
    this.lastFetchWallMs = this.#wall();
    try {
      const at = new Date(atS * 1000).toISOString();
      const res = await fetchSnapshot(
        at,
        options.bbox ? { ...options.api, bbox: options.bbox } : options.api,
      );
      if (gen !== this.#generation) return false;
      this.store.replace(res.flights.filter(options.keep), this.clock.now(), {
        blend: options.blend,
      });
      this.shown = { at, bbox: options.bbox ?? null };
      this.error = null;
      return true;
    } catch (e) {
      this.error = (e as Error).message;
      return false;
    } finally {
      if (gen === this.#generation) this.inFlight = false;
    }
  }
}
