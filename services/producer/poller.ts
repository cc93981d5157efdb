/**
 * Live and record mode: polls OpenSky on a fixed-rate schedule and publishes
 * each reply. Polls sit on a grid anchored at the start (start + k x
 * interval), so they never drift; a poll that overruns skips the ticks it
 * missed rather than overlapping the next one. Failures wait (429: as long as
 * OpenSky says; timeouts, network errors and 5xx: exponential backoff with
 * jitter, capped) and then rejoin the grid; nothing here ends the loop except
 * the stop signal.
 *
 * @module
 */
import type { Flight, Source } from "../../contracts/flight.ts";
import type { OpenSkyClient, StatesResult } from "../../lib/opensky/client.ts";
import { sleep } from "../../lib/async.ts";
import type { Logger } from "../../lib/log.ts";
import type { ProducerMetrics } from "./metrics.ts";
import type { Publisher } from "./publisher.ts";
import type { RecordingWriter } from "./recorder.ts";

/** Backoff after consecutive failures. */
export interface BackoffOptions {
  /** First delay, ms. */
  baseMs: number;
  /** Largest delay, ms. */
  capMs: number;
}

/**
 * Delay before retry number `attempt` (1 = first failure): base x 2^(attempt-1),
 * capped, with "equal jitter" (half fixed, half random) so that many producers
 * restarted together do not hit OpenSky in lockstep, yet each still waits.
 */
export function backoffDelayMs(
  attempt: number,
  options: BackoffOptions & { random?: () => number },
): number {
  const random = options.random ?? Math.random;
  const exp = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return exp / 2 + random() * (exp / 2);
}

/**
 * Index of the next grid tick: the first tick after `previous` that is not
 * earlier than `earliestMs`.
 */
export function nextTick(
  previous: number,
  options: { startMs: number; intervalMs: number; earliestMs: number },
): number {
  const { startMs, intervalMs, earliestMs } = options;
  const atOrAfter = Math.ceil((earliestMs - startMs) / intervalMs);
  return Math.max(previous + 1, atOrAfter);
}

/** Options for {@link runPoller}. */
export interface PollerOptions {
  client: OpenSkyClient;
  publisher: Publisher;
  metrics: ProducerMetrics;
  log: Logger;
  source: Source;
  intervalS: number;
  backoff: BackoffOptions;
  /** Record mode: every good reply is also written here. */
  recorder?: RecordingWriter;
  /** Valid flights go here instead of the bus (the receivers' merger); see PublishOptions. */
  intake?: (flights: Flight[]) => void;
  /** Called after every poll that published (health). */
  onPublished?: () => void;
  now: () => number;
  random?: () => number;
}

/** Polls until `signal` fires; the poll in flight finishes publishing before it returns. */
export async function runPoller(signal: AbortSignal, options: PollerOptions): Promise<void> {
  const { client, metrics, log } = options;
  const intervalMs = options.intervalS * 1000;
  const startMs = options.now();
  let tick = 0;
  let failures = 0;
  let lastErrorType = "";
  while (!signal.aborted) {
    const began = options.now();
    const result = await client.fetchStates(signal);
    if (result.kind === "aborted") break;
    if (result.remaining !== null) metrics.creditsRemaining.set(result.remaining);
    let waitMs = 0;
    if (result.kind === "ok") {
      metrics.pollLatency.observe((options.now() - began) / 1000);
      if (failures > 0) log.info("OpenSky polling recovered", { after_failures: failures });
      failures = 0;
      lastErrorType = "";
      const published = await publishReply(result, options);
      metrics.polls.inc({ status: published ? "ok" : "error" });
      if (published) options.onPublished?.();
    } else if (result.kind === "rate_limited") {
      metrics.polls.inc({ status: "rate_limited" });
      metrics.apiErrors.inc({ type: "rate_limited" });
      failures++;
      // Without the header, fall back to the backoff rather than hammering.
      waitMs = result.retryAfterS !== null
        ? result.retryAfterS * 1000
        : backoffDelayMs(failures, { ...options.backoff, random: options.random });
      log.warn("OpenSky rate limit reached (429): waiting", {
        retry_after_s: result.retryAfterS,
        wait_s: round(waitMs / 1000),
        credits_remaining: result.remaining,
      });
    } else {
      metrics.polls.inc({ status: "error" });
      metrics.apiErrors.inc({ type: result.type });
      if (result.type === "bad_json" || result.type === "bad_reply") {
        // The API answered; the content is the problem. Keep the normal rhythm.
        log.warn(result.message, { type: result.type, bytes: result.raw?.length ?? 0 });
        await deadLetterReply(result, options);
      } else {
        failures++;
        waitMs = backoffDelayMs(failures, { ...options.backoff, random: options.random });
        // One line per failure streak at warn, the rest at debug, so an outage does not flood logs.
        const level = result.type === lastErrorType ? "debug" : "warn";
        log[level](`${result.message}: backing off`, {
          type: result.type,
          status: result.status ?? undefined,
          attempt: failures,
          wait_s: round(waitMs / 1000),
        });
        lastErrorType = result.type;
      }
    }
    tick = nextTick(tick, { startMs, intervalMs, earliestMs: options.now() + waitMs });
    await sleep(startMs + tick * intervalMs - options.now(), signal);
  }
}

async function publishReply(
  result: Extract<StatesResult, { kind: "ok" }>,
  options: PollerOptions,
): Promise<boolean> {
  const { reply } = result;
  try {
    // Record first: the file keeps the reply even if the bus is down.
    await options.recorder?.write(reply);
  } catch (error) {
    options.log.error("cannot write the recording", { error: String(error) });
  }
  try {
    const out = await options.publisher.publish(
      [{
        reply,
        source: options.source,
        shiftSeconds: 0,
        origin: `poll at ${reply.time}`,
      }],
      [],
      { intake: options.intake },
    );
    options.metrics.currentFlights.set(out.flights[0] ?? 0);
    options.log.debug("poll published", {
      time: reply.time,
      flights: out.flights[0] ?? 0,
      rejected: out.rejected,
    });
    return true;
  } catch (error) {
    // The next poll carries fresher state anyway; say so loudly and go on.
    options.log.error("publishing a poll failed; its snapshot is skipped", {
      error: error instanceof Error ? error.message : String(error),
    });
    return false;
  }
}

async function deadLetterReply(
  result: Extract<StatesResult, { kind: "error" }>,
  options: PollerOptions,
): Promise<void> {
  try {
    await options.publisher.deadLetter([{
      reason: result.message,
      raw: result.raw ?? "",
      key: null,
    }]);
  } catch (error) {
    options.log.error("dead-lettering a bad reply failed", { error: String(error) });
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
