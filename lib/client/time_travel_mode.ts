/**
 * Time travel as the controller drives it: at most one
 * {@link ReplaySession} at a time, clamped to the slider's range, its
 * snapshots fetched for the current viewport (`bbox`, the same box the
 * live subscription uses) and filtered by the hub's own rule. No DOM.
 *
 * @module
 */
import type { BBox } from "../../contracts/common.ts";
import type { ApiOptions } from "./api.ts";
import { filterPredicate, type FilterState } from "./filters.ts";
import { ReplaySession } from "./replay_session.ts";
import { sliderRange } from "./time_travel.ts";
import type { ReplayView } from "./ui_types.ts";

export class TimeTravelMode {
  readonly #api: ApiOptions;
  readonly #mono: () => number;
  #session: ReplaySession | null = null;

  constructor(options: { api: ApiOptions; monotonic: () => number }) {
    this.#api = options.api;
    this.#mono = options.monotonic;
  }

  /** The running session; null while live. */
  get session(): ReplaySession | null {
    return this.#session;
  }

  /**
   * Starts time travel at `atS` (or seeks the running session there),
   * clamped to what history keeps. Returns true when a new session started.
   */
  enter(atS: number, options: { liveNowS: number; speed?: number | undefined }): boolean {
    const { minS, maxS } = sliderRange(options.liveNowS);
    const at = Math.max(minS, Math.min(maxS, atS));
    if (!this.#session) {
      this.#session = new ReplaySession(at, { wallMs: this.#mono, speed: options.speed ?? 1 });
      return true;
    }
    this.#session.clock.seek(at);
    if (options.speed) this.#session.clock.setSpeed(options.speed);
    return false;
  }

  exit(): void {
    this.#session = null;
  }

  /**
   * Fetches the snapshot at the session's time for `bbox` (null: the
   * world), keeping what `filter` lets through. True when the store changed.
   */
  async fetch(
    options: { blend: boolean; filter: FilterState; bbox: BBox | null },
  ): Promise<boolean> {
    const r = this.#session;
    if (!r) return false;
    const changed = await r.fetch({
      blend: options.blend,
      api: this.#api,
      keep: filterPredicate(options.filter),
      ...(options.bbox ? { bbox: options.bbox } : {}),
    });
    return changed && this.#session === r;
  }

  /** What the time bar shows; null while live. */
  view(liveNowS: number): ReplayView | null {
    const r = this.#session;
    if (!r) return null;
    const range = sliderRange(liveNowS);
    return {
      atS: r.clock.now(),
      playing: r.clock.playing,
      speed: r.clock.speed,
      minS: range.minS,
      maxS: range.maxS,
      loading: r.inFlight,
      error: r.error,
    };
  }
}
