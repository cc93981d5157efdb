/**
 * Replay pacing and time shifting. Pure arithmetic plus an abortable sleep.
 *
 * Pacing is anchored to the replay start (due = start + t / speed), not to
 * the previous step, so slow steps never accumulate drift. Shifting moves a
 * recording by a constant per pass, so the recorded spacing between
 * snapshots (which the detectors' rates rely on) is kept exactly; at speed 1
 * the shifted times track the wall clock.
 *
 * @module
 */

/** Wall-clock ms at which timeline second `atS` is due; speed 0 means now (as fast as possible). */
export function dueAtMs(startMs: number, options: { atS: number; speed: number }): number {
  if (options.speed <= 0) return startMs;
  return startMs + (options.atS * 1000) / options.speed;
}

/** Options for {@link replayShiftSeconds}. */
export interface ShiftOptions {
  /** Unix seconds that timeline second 0 maps to (the replay start, whole seconds). */
  startUnixS: number;
  /** Timeline second of the snapshot (including earlier loop passes). */
  atS: number;
  /** The snapshot's recorded `time`. */
  recordedTime: number;
  /** REPLAY_KEEP_TIMES: no shift. */
  keepTimes: boolean;
}

/**
 * Seconds to add to a snapshot's times so that it looks live: its recorded
 * time becomes the start of the replay plus its place on the timeline.
 */
export function replayShiftSeconds(options: ShiftOptions): number {
  if (options.keepTimes) return 0;
  return options.startUnixS + options.atS - options.recordedTime;
}

/** Replay pacing sleeps with the one `sleep` of lib/async.ts (re-exported for its callers). */
export { sleep } from "../async.ts";

/** Percentage of a replay pass done, 0..100, or null when the length is unknown. */
export function progressPercent(atS: number, totalS: number | null): number | null {
  if (totalS === null || !(totalS > 0)) return null;
  return Math.min(100, Math.max(0, (atS / totalS) * 100));
}
