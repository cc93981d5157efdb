/**
 * The producer as a library: `startProducer` runs one mode (live, record or
 * replay) against a given bus and returns a handle. `main.ts` wires it for
 * standalone use; the single-process stack runs it in-process on a shared
 * MemoryBus.
 *
 * @module
 */
import { join } from "node:path";
import type { Source } from "../../contracts/flight.ts";
import { TOPIC_LIST, TOPICS, type TopicSpec } from "../../contracts/topics.ts";
import type { Bus } from "../../lib/bus/types.ts";
import { type ProducerConfig, redactConfig } from "../../lib/config.ts";
import { AnonymousAuth, type AuthProvider, ClientCredentialsAuth } from "../../lib/opensky/auth.ts";
import { OpenSkyClient } from "../../lib/opensky/client.ts";
import {
  type AccountType,
  boxAreaSqDeg,
  checkBudget,
  DAILY_CREDITS,
  TIME_RESOLUTION_S,
} from "../../lib/opensky/credits.ts";
import { DEFAULT_PRODUCER_TOPICS, type ProducerTopics } from "../../lib/opensky/envelope.ts";
import { createLogger, type Logger } from "../../lib/log.ts";
import { ProducerMetrics } from "./metrics.ts";
import { type BackoffOptions, runPoller } from "./poller.ts";
import { Publisher } from "./publisher.ts";
import { RecordingWriter } from "./recorder.ts";
import { resolveReplaySources, runReplay } from "./replay.ts";
import { isReceiverSpec } from "../../lib/sources/url.ts";
import { type ReceiverSources, startReceiverSources } from "./sources/mod.ts";

export { ProducerMetrics } from "./metrics.ts";
export type { ProducerTopics } from "../../lib/opensky/envelope.ts";

/** Options for {@link startProducer}. */
export interface StartProducerOptions {
  config: ProducerConfig;
  /** The bus to publish to; the caller owns it (and closes it). */
  bus: Bus;
  /** Stops the producer when it fires (same as `handle.stop()`). */
  signal?: AbortSignal;
  /** Topic names; default the contract's (flights.state, flights.updates, flights.deadletter). */
  topics?: Partial<ProducerTopics>;
  /** Create the topics on the bus first. Default true. */
  ensureTopics?: boolean;
  /** Default: a stderr logger at LOG_LEVEL. */
  log?: Logger;
  /** Default: a new registry. */
  metrics?: ProducerMetrics;
  /** Replay progress on stderr. Default: only when stderr is a terminal. */
  progress?: boolean;
  /** Retry delays after failures; default 2 s doubling up to 5 min. */
  backoff?: BackoffOptions;
  /** Clock, unix ms (tests: deterministic `produced_at`). Default `Date.now`. */
  now?: () => number;
  /** Jitter source (tests). Default `Math.random`. */
  random?: () => number;
  /** HTTP client for OpenSky (tests). Default the global `fetch`. */
  fetch?: typeof fetch;
}

/** `/healthz` verdict. */
export interface ProducerHealth {
  ok: boolean;
  /** Why not, or what state it is in. */
  reason: string;
  /** Serving but impaired (some receiver sources silent): `/healthz` says `degraded`, 200. */
  degraded?: boolean;
}

/** A running producer. */
export interface ProducerHandle {
  readonly mode: ProducerConfig["mode"];
  readonly metrics: ProducerMetrics;
  /** Topics it writes. */
  readonly topics: Readonly<ProducerTopics>;
  /** Record mode: the file being written. */
  readonly recordingPath: string | null;
  /**
   * Settles when the mode runner ended: after `stop()`, or when a replay
   * without loop reached its end. Never rejects.
   */
  readonly done: Promise<void>;
  /** Healthy: bus healthy and the last poll / replay step is recent. */
  health(): ProducerHealth;
  /**
   * Stops intake (no new poll or step; an OpenSky request in flight is
   * aborted), lets the bus send in flight finish, closes the recording.
   * Does not close the bus. Idempotent.
   */
  stop(): Promise<void>;
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 2_000, capMs: 300_000 };
const DEFAULT_RECEIVER_BACKOFF = { baseMs: 1_000, capMs: 60_000 };

/** Starts the configured mode. Rejects when the setup is wrong (bad files, unreachable bus). */
export async function startProducer(options: StartProducerOptions): Promise<ProducerHandle> {
  const { config, bus } = options;
  const log = options.log ?? createLogger({ level: config.LOG_LEVEL, name: "producer" });
  const metrics = options.metrics ?? new ProducerMetrics();
  const now = options.now ?? Date.now;
  const topics: ProducerTopics = { ...DEFAULT_PRODUCER_TOPICS, ...options.topics };
  log.info("starting", { bus: bus.kind, ...redactConfig(config) });

  if (options.ensureTopics ?? true) await bus.ensureTopics(topicSpecs(topics));
  const publisher = new Publisher(bus, {
    topics,
    metrics,
    log,
    now,
    holdMaxMessages: config.PRODUCER_HOLD_MAX_MESSAGES,
    // A replay can pause for the broker; live positions (OpenSky or receivers, which share this
    // outbox) cannot wait, the oldest go first.
    whenFull: config.mode === "replay" && !config.SOURCES.some(isReceiverSpec)
      ? "wait"
      : "drop_oldest",
  });

  const controller = new AbortController();
  const startedMs = now();
  let lastStepMs = startedMs;
  let finished = false;
  let replayEnded = false;
  const onPublished = () => {
    lastStepMs = now();
  };
  let recorder: RecordingWriter | null = null;
  // Every source runs at once: a replay (OPENSKY_MODE=replay or `replay:` sources), the
  // OpenSky poller (unset SOURCES outside replay, or `opensky:`), and the receivers. With only
  // receivers in SOURCES: no OpenSky poll and no demo replay.
  const receiverSpecs = config.SOURCES.filter(isReceiverSpec);
  const replaying = config.mode === "replay";
  const polling = config.SOURCES.length === 0
    ? !replaying
    : config.SOURCES.some((s) => s.kind === "opensky");
  const runners: (() => Promise<void>)[] = [];
  // The longest quiet time a healthy runner may have (0: nothing but receivers).
  let staleAfterMs = 0;

  if (config.mode === "record") {
    const dir = config.RECORD_DIR ?? join(config.DATA_DIR, "recordings");
    recorder = await RecordingWriter.open(dir, { startMs: startedMs });
    log.info(polling ? "recording replies" : "recording receiver flights", { file: recorder.path });
  }
  if (replaying) {
    const sources = await resolveReplaySources(config.REPLAY_FILES);
    log.info("replaying", {
      recordings: sources.map((s) => s.label),
      speed: config.REPLAY_SPEED,
      loop: config.REPLAY_LOOP,
      keep_times: config.REPLAY_KEEP_TIMES,
    });
    // Recordings have gaps of up to ~10 s; allow for slow replays.
    staleAfterMs = Math.max(120_000, config.REPLAY_SPEED > 0 ? 30_000 / config.REPLAY_SPEED : 0);
    const progress = options.progress ?? Deno.stderr.isTerminal();
    runners.push(async () => {
      await runReplay(controller.signal, {
        sources,
        publisher,
        metrics,
        log,
        speed: config.REPLAY_SPEED,
        loop: config.REPLAY_LOOP,
        keepTimes: config.REPLAY_KEEP_TIMES,
        onPublished,
        progress: progress ? terminalProgress() : null,
        now,
      });
      if (!controller.signal.aborted) {
        log.info("replay reached its end");
        replayEnded = true;
      }
    });
  }
  if (polling) {
    const auth = openSkyAuth(config, { log, fetch: options.fetch, now });
    warnAboutBudget(config, { anonymous: auth.anonymous, log });
    const client = new OpenSkyClient(config.OPENSKY_API_URL, {
      auth,
      bbox: config.OPENSKY_BBOX,
      timeoutMs: config.OPENSKY_TIMEOUT_MS,
      fetch: options.fetch,
    });
    const source: Source = {
      provider: "opensky",
      // Beside a replay (SOURCES=opensky:,replay:...) the polls are still live ones.
      mode: replaying ? "live" : config.mode,
      bbox: config.OPENSKY_BBOX,
      poll_interval_s: config.POLL_INTERVAL_SECONDS,
    };
    staleAfterMs = Math.max(
      staleAfterMs,
      Math.max(3 * config.POLL_INTERVAL_SECONDS * 1000, 60_000) + config.OPENSKY_TIMEOUT_MS,
    );
    log.info("polling OpenSky", {
      url: client.url,
      interval_s: config.POLL_INTERVAL_SECONDS,
      auth: auth.anonymous ? "anonymous" : "oauth2",
    });
    const rec = recorder ?? undefined;
    runners.push(() =>
      runPoller(controller.signal, {
        client,
        publisher,
        metrics,
        log,
        source,
        intervalS: config.POLL_INTERVAL_SECONDS,
        backoff: options.backoff ?? DEFAULT_BACKOFF,
        recorder: rec,
        // Beside receivers, polls join their merger: one flight per aircraft, the freshest
        // position wins. (A replay stays apart: its flights are a recording's, not live.)
        intake: receiverSpecs.length > 0 ? (flights) => receivers?.ingest(flights) : undefined,
        onPublished,
        now,
        random: options.random,
      })
    );
  }

  let receivers: ReceiverSources | null = null;
  if (receiverSpecs.length > 0) {
    const rec = recorder;
    receivers = startReceiverSources(controller.signal, {
      specs: receiverSpecs,
      publisher,
      registry: metrics.registry,
      log,
      receiver: config.RECEIVER_LAT !== undefined && config.RECEIVER_LON !== undefined
        ? { lat: config.RECEIVER_LAT, lon: config.RECEIVER_LON }
        : null,
      record: rec ? (reply) => rec.write(reply) : undefined,
      backoff: options.backoff ? { ...DEFAULT_RECEIVER_BACKOFF, ...options.backoff } : undefined,
      fetch: options.fetch,
      now,
    });
    log.info("receiver sources", { sources: receiverSpecs.map((s) => s.label) });
  }

  const done = (async () => {
    try {
      await Promise.all(runners.map((run) => run()));
      // A replay without loop that ended with nothing else running: done, and healthy.
      finished = replayEnded && !polling && receivers === null;
      await receivers?.done;
    } catch (error) {
      // Runners handle upstream trouble themselves; reaching here is a bug or a file error.
      log.error("producer stopped on an error", {
        error: error instanceof Error ? error.stack ?? error.message : String(error),
      });
    } finally {
      try {
        await recorder?.close();
        if (recorder) log.info("recording closed", { file: recorder.path, lines: recorder.lines });
      } catch (error) {
        log.error("closing the recording failed", { error: String(error) });
      }
    }
  })();

  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= (async () => {
      controller.abort();
      // The receivers' last flush goes into the outbox before it closes (bounded: its send may
      // wait for a broker that is gone).
      if (receivers) await within(receivers.done, 5_000);
      // One last try for what is held, bounded (the broker may be gone for good); close()
      // also wakes a replay waiting for room in the outbox.
      if (publisher.held > 0) await within(publisher.flush(), 5_000);
      publisher.close();
      await done;
      log.info("stopped");
    })();
    return stopping;
  };
  if (options.signal) {
    if (options.signal.aborted) stop();
    else options.signal.addEventListener("abort", () => stop(), { once: true });
  }

  return {
    mode: config.mode,
    metrics,
    topics,
    recordingPath: recorder?.path ?? null,
    done,
    stop,
    health(): ProducerHealth {
      if (!bus.healthy()) return { ok: false, reason: `${bus.kind} bus unhealthy` };
      if (controller.signal.aborted) return { ok: false, reason: "stopping" };
      // Only after a failed send: a send in flight holds its messages for a moment too.
      if (publisher.failing) {
        return { ok: false, reason: `holding ${publisher.held} messages the broker has not taken` };
      }
      if (finished) return { ok: true, reason: "replay finished" };
      const fromReceivers = receivers?.health();
      if (fromReceivers && !fromReceivers.ok) return fromReceivers;
      if (runners.length === 0 || (replayEnded && !polling)) {
        return fromReceivers ?? { ok: true, reason: "replay finished" };
      }
      const ageMs = now() - lastStepMs;
      if (ageMs > staleAfterMs) {
        return {
          ok: false,
          reason: `nothing published for ${Math.round(ageMs / 1000)} s (limit ${
            Math.round(staleAfterMs / 1000)
          } s)`,
        };
      }
      // Beside OpenSky or a replay, the receivers' per-source line (and a degraded verdict) too.
      return fromReceivers ? { ...fromReceivers, reason: `ok; ${fromReceivers.reason}` } : {
        ok: true,
        reason: "ok",
      };
    },
  };
}

/** Waits for `promise`, at most `ms`; the timer is cleared either way (no timer outlives a stop). */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([promise, new Promise((resolve) => timer = setTimeout(resolve, ms))]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The producer's topics plus the rest of the contract's: on a shared MemoryBus
 * the first ensureTopics call makes unknown topics an error, so ensuring only
 * our three would lock flights.anomalies out for the worker.
 */
function topicSpecs(topics: ProducerTopics): TopicSpec[] {
  const ours = [
    { ...TOPICS.state, name: topics.state },
    { ...TOPICS.updates, name: topics.updates },
    { ...TOPICS.deadletter, name: topics.deadletter },
  ];
  const names = new Set(ours.map((t) => t.name));
  return [...ours, ...TOPIC_LIST.filter((t) => !names.has(t.name))];
}

function openSkyAuth(
  config: ProducerConfig,
  options: { log: Logger; fetch?: typeof fetch; now: () => number },
): AuthProvider {
  if (config.OPENSKY_CLIENT_ID && config.OPENSKY_CLIENT_SECRET) {
    return new ClientCredentialsAuth(config.OPENSKY_AUTH_URL, {
      clientId: config.OPENSKY_CLIENT_ID,
      clientSecret: config.OPENSKY_CLIENT_SECRET,
      timeoutMs: config.OPENSKY_TIMEOUT_MS,
      fetch: options.fetch,
      now: options.now,
    });
  }
  options.log.warn(
    `No OPENSKY_CLIENT_ID/OPENSKY_CLIENT_SECRET: polling OpenSky anonymously. Anonymous limits: ` +
      `${DAILY_CREDITS.anonymous} credits per UTC day per IP address and ` +
      `${TIME_RESOLUTION_S.anonymous} s time resolution. An OpenSky account (OAuth2 client ` +
      `credentials) gets ${DAILY_CREDITS.standard} credits and ${TIME_RESOLUTION_S.standard} s.`,
  );
  return new AnonymousAuth();
}

/** Says at start when the interval would run out of credits before the UTC day ends. */
function warnAboutBudget(
  config: ProducerConfig,
  options: { anonymous: boolean; log: Logger },
): void {
  // Without credentials the anonymous budget applies whatever OPENSKY_ACCOUNT says.
  const account: AccountType = options.anonymous
    ? "anonymous"
    : config.OPENSKY_ACCOUNT ?? "standard";
  const interval = config.POLL_INTERVAL_SECONDS;
  const check = checkBudget(interval, { bbox: config.OPENSKY_BBOX, account });
  const fields = {
    account,
    box_sq_deg: Math.round(boxAreaSqDeg(config.OPENSKY_BBOX)),
    credits_per_request: check.cost,
    credits_per_day: check.creditsPerDay,
    budget_per_day: check.budget,
  };
  if (!check.fits) {
    const hours = Math.round((check.budget / check.cost) * interval / 360) / 10;
    options.log.warn(
      `POLL_INTERVAL_SECONDS=${interval} would exhaust the daily OpenSky budget after about ` +
        `${hours} h (then 429 until the UTC day ends); POLL_INTERVAL_SECONDS=${check.minIntervalS} ` +
        `or more fits, or a smaller OPENSKY_BBOX costs fewer credits per request`,
      fields,
    );
  } else {
    options.log.info("poll interval fits the daily OpenSky budget", fields);
  }
  if (interval < TIME_RESOLUTION_S[account]) {
    options.log.info(
      `OpenSky serves ${account} callers a new snapshot every ${TIME_RESOLUTION_S[account]} s; ` +
        `polling every ${interval} s repeats snapshots`,
    );
  }
}

/** `\rreplay  42.0% (pass 1)` on stderr, at most every half second; a newline at 100%. */
function terminalProgress(): (percent: number, pass: number) => void {
  const encoder = new TextEncoder();
  let lastMs = 0;
  return (percent, pass) => {
    const t = Date.now();
    if (t - lastMs < 500 && percent < 100) return;
    lastMs = t;
    const end = percent >= 100 ? "\n" : "";
    Deno.stderr.writeSync(
      encoder.encode(`\rreplay ${percent.toFixed(1).padStart(5)}% (pass ${pass})${end}`),
    );
  };
}
