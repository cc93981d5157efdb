/**
 * Data freshness: how old the newest position written to PostgreSQL is,
 * per source (the flight's `source`, `opensky`, `replay`, `sbs`, ...; else
 * the envelope's). A stopped producer, a stuck consumer or a receiver that went
 * quiet all show as a growing age, whatever the worker itself is doing.
 *
 * `processing_freshness_seconds{source}` is computed when scraped (now minus
 * the newest time_position written for that source), so it keeps growing
 * while nothing arrives; `processing_newest_position_timestamp_seconds{source}`
 * is that time itself. The alert rules (deploy/prometheus_rules.yml) and the
 * worker's `/healthz` use the same thresholds as {@link FRESHNESS_MAX_AGE_S}
 * and {@link LAG_MAX_MESSAGES}.
 *
 * @module
 */
import { Gauge, type Registry } from "prom-client";
import type { FlightUpdateEnvelope } from "../../contracts/flight.ts";

/** Older than this, s: the data is stale (alert `SkySentinelDataStale`, `/healthz` degraded). */
export const FRESHNESS_MAX_AGE_S = 60;
/** More than this many messages behind: alert `SkySentinelConsumerLag`, `/healthz` degraded. */
export const LAG_MAX_MESSAGES = 10_000;

/**
 * Where an update came from: the flight's own `source` when it has one,
 * else the envelope's (`replay` for replays, else the provider, `opensky`).
 */
export function sourceOf(envelope: FlightUpdateEnvelope): string {
  const own = (envelope.payload as { source?: unknown }).source;
  if (typeof own === "string" && own.length > 0) return own;
  return envelope.source.mode === "replay" ? "replay" : envelope.source.provider;
}

/** The newest time_position per source among committed updates, unix s. */
export function newestBySource(envelopes: readonly FlightUpdateEnvelope[]): Map<string, number> {
  const newest = new Map<string, number>();
  for (const e of envelopes) {
    const source = sourceOf(e);
    const t = e.payload.time_position_unix;
    if (t > (newest.get(source) ?? -Infinity)) newest.set(source, t);
  }
  return newest;
}

/** Options for {@link Freshness}. */
export interface FreshnessOptions {
  registry: Registry;
  /** Wall clock, ms. Default `Date.now`. */
  now?: () => number;
  /** Default {@link FRESHNESS_MAX_AGE_S}. */
  maxAgeS?: number;
  /** Default {@link LAG_MAX_MESSAGES}. */
  maxLag?: number;
}

/** Tracks the newest position written per source. */
export class Freshness {
  #newest = new Map<string, number>();
  #now: () => number;
  #maxAgeS: number;
  #maxLag: number;

  constructor(options: FreshnessOptions) {
    this.#now = options.now ?? Date.now;
    this.#maxAgeS = options.maxAgeS ?? FRESHNESS_MAX_AGE_S;
    this.#maxLag = options.maxLag ?? LAG_MAX_MESSAGES;
    const registers = [options.registry];
    const ages = () => this.ages();
    const newest = this.#newest;
    new Gauge({
      name: "processing_freshness_seconds",
      help: "Age of the newest position written to PostgreSQL, per source, seconds",
      labelNames: ["source"],
      registers,
      collect() {
        for (const [source, age] of ages()) this.set({ source }, age);
      },
    });
    new Gauge({
      name: "processing_newest_position_timestamp_seconds",
      help: "time_position of the newest position written to PostgreSQL, per source, unix seconds",
      labelNames: ["source"],
      registers,
      collect() {
        for (const [source, t] of newest) this.set({ source }, t);
      },
    });
  }

  /** Records a committed batch's newest time_position per source (unix s). */
  written(newest: ReadonlyMap<string, number>): void {
    for (const [source, t] of newest) {
      if (t > (this.#newest.get(source) ?? -Infinity)) this.#newest.set(source, t);
    }
  }

  /** Age of the newest position per source, s (never negative). */
  ages(): Map<string, number> {
    const now = this.#now() / 1000;
    const out = new Map<string, number>();
    for (const [source, t] of this.#newest) out.set(source, Math.max(0, now - t));
    return out;
  }

  /**
   * Why the pipeline is degraded, or null: data older than the freshness
   * limit (once anything was written) or a consumer lag over the limit.
   */
  degraded(lag: number): string | null {
    const reasons: string[] = [];
    for (const [source, age] of this.ages()) {
      if (age > this.#maxAgeS) {
        reasons.push(
          `newest ${source} position is ${Math.round(age)} s old (limit ${this.#maxAgeS} s)`,
        );
      }
    }
    if (lag > this.#maxLag) {
      reasons.push(`consumer lag ${lag} messages (limit ${this.#maxLag})`);
    }
    return reasons.length > 0 ? reasons.join("; ") : null;
  }
}
