/**
 * Replay mode: plays recordings (and scenarios of several recordings) onto
 * the bus as if they were live polls. Files are streamed line by line and
 * re-opened for every loop pass. Given the same files and options (and a
 * fixed clock) the published sequence is identical, run after run.
 *
 * @module
 */
import type { Flight, Source } from "../../contracts/flight.ts";
import { SkySentinelError } from "../../lib/errors.ts";
import { isGzipPath, readRecording, scanRecordingSpan } from "../../lib/replay/recording.ts";
import {
  isScenarioPath,
  parseScenario,
  recordingSource,
  type ReplaySource,
} from "../../lib/replay/scenario.ts";
import { dueAtMs, progressPercent, replayShiftSeconds, sleep } from "../../lib/replay/schedule.ts";
import { mergeTimelines, placeOnTimeline, type TimedItem } from "../../lib/replay/timeline.ts";
import type { Logger } from "../../lib/log.ts";
import type { DerivedFleet } from "../../lib/replay/derived.ts";
import { derivedTimeline, loadDerivedFleet } from "./derived.ts";
import type { ProducerMetrics } from "./metrics.ts";
import type { Publisher, Rejection, SnapshotInput } from "./publisher.ts";

/**
 * Expands REPLAY_FILES (recordings and scenarios) into the recordings to
 * play, and checks that each exists, so a typo fails at start, not mid-demo.
 */
export async function resolveReplaySources(files: readonly string[]): Promise<ReplaySource[]> {
  const sources: ReplaySource[] = [];
  for (const file of files) {
    if (isScenarioPath(file)) {
      const text = await readText(file);
      sources.push(...parseScenario(text, { path: file }).sources);
    } else {
      sources.push(recordingSource(file));
    }
  }
  for (const source of sources) {
    const paths = source.derived
      ? [...source.derived.tracks.map((t) => t.path), source.derived.placesPath]
      : [source.path];
    for (const path of paths) {
      try {
        const info = await Deno.stat(path);
        if (!info.isFile) throw new Error("not a file");
      } catch (error) {
        throw new SkySentinelError(
          "config_invalid",
          `Cannot replay ${path}: ${error instanceof Error ? error.message : error}`,
        );
      }
    }
  }
  return sources;
}

/** Options for {@link runReplay}. */
export interface ReplayOptions {
  sources: ReplaySource[];
  publisher: Publisher;
  metrics: ProducerMetrics;
  log: Logger;
  /** 1 = real time, 0 = as fast as possible. */
  speed: number;
  loop: boolean;
  keepTimes: boolean;
  /** Called after each published step (health). */
  onPublished?: () => void;
  /** Shows progress (a percentage per pass); null: no progress. */
  progress?: ((percent: number, pass: number) => void) | null;
  now: () => number;
}

/** What a replay did. */
export interface ReplayStats {
  passes: number;
  steps: number;
}

/**
 * Recorded time of a derived fleet's first second (any fixed value works: the
 * replay shifts it to now like a recording's first snapshot).
 */
const DERIVED_BASE_TIME = 1_700_000_000;

/** At speed 0, let timers and signals run every this many steps. */
const YIELD_EVERY_STEPS = 64;

/** Plays until the end (or forever with `loop`) or until `signal` fires. */
export async function runReplay(signal: AbortSignal, options: ReplayOptions): Promise<ReplayStats> {
  const { sources, log } = options;
  const startMs = options.now();
  // Whole seconds, so shifted times stay integers like the recorded ones.
  const startUnixS = Math.floor(startMs / 1000);
  const totalS = options.progress ? await passLength(sources) : null;
  const flightsBySource = new Array<number>(sources.length).fill(0);
  // Derived fleets are built once (tracks and places read and validated), then generated per second.
  const fleets = new Map<number, DerivedFleet>();
  for (const [index, source] of sources.entries()) {
    if (!source.derived) continue;
    const fleet = await loadDerivedFleet(source.derived);
    fleets.set(index, fleet);
    log.info("derived fleet ready", {
      label: source.label,
      aircraft: fleet.size,
      interval_s: fleet.intervalS,
      tracks: source.derived.tracks.map((t) => t.label),
    });
  }
  const failing = { steps: 0 };
  let passOffsetS = 0;
  let derivedSkipped = 0;
  let steps = 0;
  let passes = 0;
  while (!signal.aborted) {
    passes++;
    const timelines = sources.map((source, index) => {
      const fleet = fleets.get(index);
      if (fleet) {
        return derivedTimeline(fleet, {
          source: index,
          durationS: source.durationS ?? 3600,
          baseTime: DERIVED_BASE_TIME,
          // A live feed does not wait: when building and publishing a second of the fleet takes
          // longer than a second, the replay skips to the current second instead of lagging.
          liveS: options.speed > 0
            ? () => (options.now() - startMs) * options.speed / 1000 - passOffsetS
            : undefined,
          onSkip: (seconds) => derivedSkipped += seconds,
        });
      }
      return placeOnTimeline(readFile(source.path), {
        source: index,
        offsetS: source.offsetS,
        skipS: source.skipS,
        durationS: source.durationS,
      });
    });
    let passEndS = 0;
    let group: TimedItem[] = [];
    const flush = async () => {
      const first = group[0];
      if (!first) return;
      const atS = passOffsetS + first.at;
      const waitMs = dueAtMs(startMs, { atS, speed: options.speed }) - options.now();
      // Behind schedule at speed > 0, still let timers run once per step (steps are seconds apart).
      if (waitMs > 0 || options.speed > 0 || steps % YIELD_EVERY_STEPS === 0) {
        await sleep(waitMs, signal);
      }
      if (signal.aborted) return;
      await publishStep(group, { ...options, atS, startUnixS, flightsBySource, failing });
      steps++;
      options.progress?.(progressPercent(first.at, totalS) ?? 0, passes);
      group = [];
    };
    for await (const timed of mergeTimelines(timelines)) {
      passEndS = Math.max(passEndS, timed.at + timed.intervalS);
      if (group[0] && group[0].at !== timed.at) await flush();
      if (signal.aborted) break;
      group.push(timed);
    }
    await flush();
    if (signal.aborted) break;
    options.progress?.(100, passes);
    log.info("replay pass finished", {
      pass: passes,
      steps,
      length_s: passEndS,
      ...(fleets.size > 0 ? { derived_seconds_skipped: derivedSkipped } : {}),
    });
    if (!options.loop) break;
    if (passEndS <= 0) {
      log.error("replay has nothing to play; not looping", { files: sources.map((s) => s.path) });
      break;
    }
    // The next pass continues the timeline, so shifted times keep increasing.
    // Whole seconds (a derived second's last part plays at a fraction of it).
    passOffsetS += Math.ceil(passEndS);
  }
  return { passes, steps };
}

interface StepContext extends ReplayOptions {
  atS: number;
  startUnixS: number;
  flightsBySource: number[];
  /** Consecutive steps that failed to publish. */
  failing: { steps: number };
}

async function publishStep(group: TimedItem[], ctx: StepContext): Promise<void> {
  const snapshots: SnapshotInput[] = [];
  const snapshotSources: number[] = [];
  const rejections: Rejection[] = [];
  const derived: { index: number; flights: Flight[]; source: Source }[] = [];
  for (const { source: index, item, intervalS } of group) {
    const source = ctx.sources[index]!;
    if (item.kind === "snapshot" || item.kind === "flights") {
      const shiftSeconds = replayShiftSeconds({
        startUnixS: ctx.startUnixS,
        // A derived second comes in parts at fractions of it; its times stay whole seconds.
        atS: item.kind === "flights" ? Math.floor(ctx.atS) : ctx.atS,
        recordedTime: item.kind === "snapshot" ? item.reply.time : item.time,
        keepTimes: ctx.keepTimes,
      });
      if (item.kind === "flights") {
        // As buildPollMessages makes a replayed row: times shifted, `source` last.
        for (const f of item.flights) {
          f.time_position_unix += shiftSeconds;
          f.last_contact_unix += shiftSeconds;
          f.source = "replay";
        }
        derived.push({ index, flights: item.flights, source: replaySource(source, intervalS) });
        continue;
      }
      snapshots.push({
        reply: item.reply,
        source: replaySource(source, intervalS),
        shiftSeconds,
        origin: `${source.label} line ${item.line}`,
      });
      snapshotSources.push(index);
    } else if (item.kind === "bad_line") {
      rejections.push({
        reason: `${source.label} line ${item.line}: ${item.reason}`,
        raw: item.raw,
        key: null,
      });
    } else {
      ctx.log.warn("recording is truncated; playing what was readable", {
        file: source.path,
        lines: item.line - 1,
        reason: item.reason,
      });
    }
  }
  try {
    if (snapshots.length > 0 || rejections.length > 0 || derived.length === 0) {
      const out = await ctx.publisher.publish(snapshots, rejections);
      out.flights.forEach((n, i) => {
        ctx.flightsBySource[snapshotSources[i]!] = n;
      });
    }
    for (const d of derived) {
      // Built from rows validated when the fleet was loaded: not validated again.
      const out = await ctx.publisher.publishFlights(d.flights, { source: d.source, valid: true });
      ctx.flightsBySource[d.index] = out.flights[0]!;
    }
    ctx.metrics.currentFlights.set(ctx.flightsBySource.reduce((a, b) => a + b, 0));
    ctx.metrics.polls.inc({ status: "ok" });
    ctx.onPublished?.();
    if (ctx.failing.steps > 0) {
      ctx.log.info("publishing works again", { skipped_steps: ctx.failing.steps });
      ctx.failing.steps = 0;
    }
  } catch (error) {
    ctx.metrics.polls.inc({ status: "error" });
    // A bus outage fails every step (one a second at speed 1): log the first, count the rest.
    const level = ctx.failing.steps++ === 0 ? "error" : "debug";
    ctx.log[level]("publishing a replay step failed; it is skipped", {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

function replaySource(source: ReplaySource, intervalS: number): Source {
  return { provider: "opensky", mode: "replay", bbox: source.bbox, poll_interval_s: intervalS };
}

async function* readFile(path: string) {
  const file = await Deno.open(path, { read: true });
  yield* readRecording(file.readable, { gzip: isGzipPath(path) });
}

async function readText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new SkySentinelError(
      "config_invalid",
      `Cannot read scenario ${path}: ${error instanceof Error ? error.message : error}`,
    );
  }
}

/** Length of one pass in timeline seconds (for progress): a quick scan of each file. */
async function passLength(sources: ReplaySource[]): Promise<number | null> {
  let total = 0;
  for (const source of sources) {
    if (source.derived) {
      total = Math.max(total, source.durationS ?? 0);
      continue;
    }
    const file = await Deno.open(source.path, { read: true });
    const span = await scanRecordingSpan(file.readable, { gzip: isGzipPath(source.path) });
    if (span.firstTime === null || span.lastTime === null) continue;
    const played = Math.max(0, span.lastTime - span.firstTime - source.skipS);
    total = Math.max(total, source.offsetS + Math.min(played, source.durationS ?? Infinity));
  }
  return total > 0 ? total : null;
}
