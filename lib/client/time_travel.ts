/**
 * Time travel: a virtual clock over recorded history that plays at 1x-60x,
 * the slider's range, and when to fetch the next `/api/snapshot` while
 * playing. Times in unix seconds; wall time in ms from an injectable clock.
 * Pure.
 *
 * @module
 */

/** Playback speeds offered. */
export const SPEEDS: readonly number[] = [1, 5, 10, 30, 60];

/** How far back the slider reaches, seconds. */
export const HISTORY_SPAN_S = 2 * 3600;

/** The slider's range ending at the live time `liveS`. */
export function sliderRange(liveS: number, spanS = HISTORY_SPAN_S): { minS: number; maxS: number } {
  const maxS = Math.floor(liveS);
  return { minS: maxS - spanS, maxS };
}

/** A clock that runs at `speed` times real time from a chosen instant. */
export class ReplayClock {
  #anchorS: number;
  #anchorWallMs: number;
  #speed: number;
  #playing = false;
  readonly #wall: () => number;

  constructor(startS: number, options: { speed?: number; wallMs?: () => number } = {}) {
    this.#wall = options.wallMs ?? (() => performance.now());
    this.#anchorS = startS;
    this.#anchorWallMs = this.#wall();
    this.#speed = options.speed ?? 1;
  }

  /** The virtual time now, unix seconds. */
  now(): number {
    if (!this.#playing) return this.#anchorS;
    return this.#anchorS + (this.#wall() - this.#anchorWallMs) / 1000 * this.#speed;
  }

  get playing(): boolean {
    return this.#playing;
  }

  get speed(): number {
    return this.#speed;
  }

  play(): void {
    if (this.#playing) return;
    this.#rebase();
    this.#playing = true;
  }

  pause(): void {
    if (!this.#playing) return;
    this.#rebase();
    this.#playing = false;
  }

  setSpeed(speed: number): void {
    this.#rebase();
    this.#speed = Math.max(0.1, Math.min(600, speed));
  }

  seek(s: number): void {
    this.#anchorS = s;
    this.#anchorWallMs = this.#wall();
  }

  /** Keeps the virtual time at or below `maxS` (it cannot overtake live); true if it clamped. */
  clamp(maxS: number): boolean {
    if (this.now() <= maxS) return false;
    this.seek(maxS);
    this.pause();
    return true;
  }

  #rebase(): void {
    this.#anchorS = this.now();
    this.#anchorWallMs = this.#wall();
  }
}

/**
 * True when playback should fetch a new snapshot: none in flight, and the
 * virtual time moved at least `everyS` (default: 5 s of recorded time, but
 * never more often than every 250 ms of wall time) away from the last one.
 */
export function shouldFetch(state: {
  inFlight: boolean;
  lastFetchS: number | null;
  lastFetchWallMs: number;
  nowS: number;
  wallMs: number;
  everyS?: number;
}): boolean {
  if (state.inFlight) return false;
  if (state.lastFetchS === null) return true;
  if (state.wallMs - state.lastFetchWallMs < 250) return false;
  return Math.abs(state.nowS - state.lastFetchS) >= (state.everyS ?? 5);
}

/** `HH:MM:SS` UTC of a unix time. */
export function formatUtcTime(s: number): string {
  return new Date(s * 1000).toISOString().slice(11, 19);
}

/** A relative label for a time behind live: `-1:23:45`. */
export function formatBehind(s: number, liveS: number): string {
  const d = Math.max(0, Math.round(liveS - s));
  const h = Math.floor(d / 3600), m = Math.floor(d % 3600 / 60), sec = d % 60;
  return `-${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
}
