/**
 * Receiver and aggregator sources of the producer (SOURCES): runs every
 * `sbs://`, `beast://`, aircraft.json and v2 source at once, feeds their
 * updates into one {@link FlightMerger}, and every `flushIntervalMs`
 * (default 200 ms, so a receiver's message reaches the hub within a tick)
 * publishes the aircraft that changed to flights.state and flights.updates
 * through the producer's {@link Publisher} (so its outbox holds and resends
 * them while the broker is away, in order, like OpenSky polls). What cannot be
 * parsed goes to flights.deadletter with the source and the reason. Record mode writes each flush as one OpenSky-format reply line, so
 * `deno task replay` plays receiver recordings like any other.
 *
 * @module
 */
import type { Flight, Source } from "../../../contracts/flight.ts";
import type { OpenSkyReply } from "../../../contracts/opensky.ts";
import type { Logger } from "../../../lib/log.ts";
import { BeastReader, decodeModeS, modeACode } from "../../../lib/modes/mod.ts";
import type { LatLon } from "../../../lib/modes/cpr.ts";
import { flightToStateVector } from "../../../lib/opensky/state_vector.ts";
import {
  DocumentError,
  parseAdsbxV2,
  parseAircraftJson,
} from "../../../lib/sources/aircraft_json.ts";
import { FlightMerger, flightToUpdate } from "../../../lib/sources/merge.ts";
import { ModeSTracker } from "../../../lib/sources/modes_tracker.ts";
import { LineSplitter, parseSbsLine, SBS_IGNORED } from "../../../lib/sources/sbs.ts";
import type { AircraftUpdate } from "../../../lib/sources/types.ts";
import type { ReceiverSpec } from "../../../lib/sources/url.ts";
import { bytesToHex } from "../../../lib/modes/bits.ts";
import type { Registry } from "prom-client";
import { runHttpSource } from "./http.ts";
import { SourceMetrics } from "./metrics.ts";
import { sleep } from "../../../lib/async.ts";
import type { Publisher, Rejection } from "../publisher.ts";
import { type Backoff, runTcpSource } from "./tcp.ts";

export { SourceMetrics } from "./metrics.ts";

export interface ReceiverSourcesOptions {
  specs: readonly ReceiverSpec[];
  /** The producer's publisher: its outbox holds what the broker does not take yet. */
  publisher: Publisher;
  /** Registry for the per-source metrics (the producer's). */
  registry: Registry;
  log: Logger;
  /** RECEIVER_LAT/RECEIVER_LON, or null. */
  receiver: LatLon | null;
  /** Default 200 ms. */
  flushIntervalMs?: number;
  /** Reconnect / retry delays. Default 1 s doubling to 60 s. */
  backoff?: Backoff;
  /** Record mode: every flush as an OpenSky-format reply. */
  record?: (reply: OpenSkyReply) => Promise<void>;
  /** Called after each flush that queued flights for the bus. */
  onPublished?: (flights: number) => void;
  fetch?: typeof fetch;
  now?: () => number;
}

export interface ReceiverSources {
  readonly metrics: SourceMetrics;
  readonly merger: FlightMerger;
  /**
   * Merges whole flights from another source (a live OpenSky poll) with the receivers': they
   * go out with the next flush, one flight per aircraft.
   */
  ingest(flights: readonly Flight[]): void;
  /** Settles after the signal aborted and the last flush was sent (or held by the outbox). */
  readonly done: Promise<void>;
  /**
   * Healthy while every source delivered within the last 60 s (or in the first 60 s after
   * start); degraded (still ok) while only some did; unhealthy when none did.
   */
  health(): { ok: boolean; reason: string; degraded?: boolean };
}

const MAX_PENDING_REJECTS = 1_000;

export function startReceiverSources(
  signal: AbortSignal,
  options: ReceiverSourcesOptions,
): ReceiverSources {
  const { log, publisher } = options;
  const now = options.now ?? Date.now;
  const metrics = new SourceMetrics(options.registry, { now });
  const merger = new FlightMerger();
  const backoff = options.backoff ?? { baseMs: 1_000, capMs: 60_000 };
  const startedMs = now();
  let rejects: Rejection[] = [];
  let droppedRejects = 0;

  const accept = (label: string, u: AircraftUpdate) => {
    merger.apply(u);
    metrics.aircraftSeen(label, u.icao24);
  };
  const reject = (label: string, reason: string, raw: string, key: string | null = null) => {
    metrics.decodeError(label);
    // A garbage stream must not grow memory while the bus is slow.
    if (rejects.length >= MAX_PENDING_REJECTS) droppedRejects++;
    else rejects.push({ reason: `${label}: ${reason}`, raw, key });
  };

  const runners: Promise<void>[] = [];
  for (const spec of options.specs) {
    metrics.register(spec.label);
    if (spec.kind === "beast") {
      const tracker = new ModeSTracker({ receiver: options.receiver, source: "beast" });
      runners.push(runTcpSource(signal, {
        label: spec.label,
        host: spec.host,
        port: spec.port,
        log,
        metrics,
        backoff,
        now,
        connection: () => {
          const reader = new BeastReader();
          return (chunk, atMs) => {
            const { frames, garbage } = reader.push(chunk);
            for (const g of garbage) {
              reject(spec.label, `Beast ${g.reason} (${g.bytes} bytes)`, bytesToHex(g.sample));
            }
            if (frames.length > 0) metrics.message(spec.label, frames.length);
            for (const frame of frames) {
              if (frame.type === "mode_ac") {
                // Mode A/C carries no address: nothing to merge; a bad code is noise worth counting.
                if (modeACode(frame.payload) === null) {
                  reject(spec.label, "Mode A/C code is not octal", bytesToHex(frame.payload));
                }
                continue;
              }
              const decoded = decodeModeS(frame.payload);
              if (!decoded.ok) {
                // CRC failures are normal radio noise: counted, not dead-lettered one by one.
                if (decoded.reason === "crc") metrics.decodeError(spec.label);
                else if (decoded.reason === "bad_length") {
                  reject(
                    spec.label,
                    `DF${decoded.df} with ${frame.payload.length} bytes`,
                    bytesToHex(frame.payload),
                  );
                }
                continue;
              }
              const update = tracker.ingest(decoded.message, atMs);
              if (update) accept(spec.label, update);
            }
            tracker.prune(atMs);
          };
        },
      }));
    } else if (spec.kind === "sbs") {
      runners.push(runTcpSource(signal, {
        label: spec.label,
        host: spec.host,
        port: spec.port,
        log,
        metrics,
        backoff,
        now,
        connection: () => {
          const lines = new LineSplitter();
          return (chunk, atMs) => {
            for (const line of lines.push(chunk)) {
              const parsed = parseSbsLine(line, atMs);
              if (parsed === SBS_IGNORED) continue;
              metrics.message(spec.label);
              if ("reason" in parsed) reject(spec.label, parsed.reason, line.slice(0, 1024));
              else accept(spec.label, parsed);
            }
          };
        },
      }));
    } else if (spec.kind === "aircraft_json" || spec.kind === "adsbx_v2") {
      const parse = spec.kind === "adsbx_v2" ? parseAdsbxV2 : parseAircraftJson;
      runners.push(runHttpSource(signal, {
        label: spec.label,
        url: spec.url,
        intervalMs: spec.intervalMs,
        log,
        metrics,
        backoff,
        fetch: options.fetch,
        now,
        handle: (body) => {
          let doc;
          try {
            doc = parse(body);
          } catch (error) {
            if (error instanceof DocumentError) throw error;
            throw new DocumentError(String(error));
          }
          for (const u of doc.updates) accept(spec.label, u);
          for (const r of doc.rejected) reject(spec.label, `row ${r.index}: ${r.reason}`, r.raw);
        },
        reject: (reason, raw) => {
          if (rejects.length < MAX_PENDING_REJECTS) rejects.push({ reason, raw, key: null });
        },
      }));
    }
  }

  const flushEvery = options.flushIntervalMs ?? 200;
  let sending: Promise<unknown> = Promise.resolve();
  const flush = async () => {
    const t = now();
    const flights = merger.flush(t);
    const bad = rejects;
    rejects = [];
    if (droppedRejects > 0) {
      log.warn("dead letters dropped while the bus was behind", { count: droppedRejects });
      droppedRejects = 0;
    }
    if (flights.length === 0 && bad.length === 0) return;
    // Queued at once, not awaited: while the broker is slow or away the next flushes keep
    // taking every position as it comes (awaiting would fold the positions received meanwhile
    // into one per aircraft), and the outbox sends them in order once it can. Never rejects.
    sending = publisher.publishFlights(flights, { source: envelopeSource, rejections: bad });
    if (flights.length > 0) options.onPublished?.(flights.length);
    // OpenSky positions are in the recording already, as the poller wrote its replies.
    const recorded = flights.filter((f) => f.source !== "opensky");
    if (options.record && recorded.length > 0) {
      await options.record(recordedReply(recorded, t))
        .catch((error) => log.error("recording failed", { error: String(error) }));
    }
  };
  const flusher = (async () => {
    while (!signal.aborted) {
      await sleep(flushEvery, signal);
      await flush();
    }
  })();

  const done = (async () => {
    await Promise.all(runners);
    await flusher;
    await sending;
  })();

  return {
    metrics,
    merger,
    done,
    ingest(flights) {
      for (const f of flights) merger.apply(flightToUpdate(f));
    },
    health() {
      const t = now();
      const ages = metrics.labels().map((l) => [l, metrics.ageSeconds(l)] as const);
      // NaN (nothing yet) is not fresh.
      const stale = ages.filter(([, age]) => !(age <= 60)).map(([l]) => l);
      if (t - startedMs < 60_000 || stale.length === 0) {
        return { ok: true, reason: metrics.summary() };
      }
      if (stale.length < ages.length) {
        // Serving, with fewer receivers than configured: 200 "degraded", naming the silent ones.
        return {
          ok: true,
          degraded: true,
          reason: `silent for 60 s: ${stale.join(", ")} (${metrics.summary()})`,
        };
      }
      return {
        ok: false,
        reason: `no receiver source delivered for 60 s (${metrics.summary()})`,
      };
    },
  };
}

/** The envelope `source` of a receiver flight: its source kind is the provider. */
const ENVELOPE_SOURCES = new Map<string, Source>();
function envelopeSource(flight: Flight): Source {
  const provider = flight.source ?? "receiver";
  let source = ENVELOPE_SOURCES.get(provider);
  if (!source) {
    source = { provider, mode: "live", bbox: null, poll_interval_s: 0 };
    ENVELOPE_SOURCES.set(provider, source);
  }
  return source;
}

/**
 * A flush as record mode writes it: an OpenSky reply (so replay plays it like any recording),
 * plus the declared emergencies a state vector has no column for.
 */
export function recordedReply(flights: readonly Flight[], atMs: number): OpenSkyReply {
  const reply: OpenSkyReply = {
    time: Math.floor(atMs / 1000),
    states: flights.map(flightToStateVector),
  };
  for (const f of flights) {
    if (f.emergency !== undefined) (reply.emergency ??= {})[f.icao24] = f.emergency;
  }
  return reply;
}
