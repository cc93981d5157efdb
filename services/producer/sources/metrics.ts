/**
 * Per-source metrics of receiver and aggregator sources, on the producer's
 * registry. Label `source` is the source URL as configured (SOURCES), which
 * holds no secret (v2 API keys go in no URL we log; see README).
 *
 * @module
 */
import { Counter, Gauge, type Registry } from "prom-client";

export class SourceMetrics {
  /** Frames, lines or documents received, by source. */
  readonly messages: Counter<"source">;
  /** Input that could not be decoded or parsed (dead-lettered), by source. */
  readonly decodeErrors: Counter<"source">;
  /** Connection attempts that failed or connections that dropped, by source. */
  readonly reconnects: Counter<"source">;
  /** 1 while connected (TCP) or while the last poll succeeded (HTTP). */
  readonly connected: Gauge<"source">;
  /** Aircraft heard in the last minute, by source. */
  readonly aircraft: Gauge<"source">;
  /** Seconds since the last message, by source (NaN before the first). */
  readonly lastMessageAge: Gauge<"source">;
  #lastMessageMs = new Map<string, number>();
  #counts = new Map<string, { messages: number; errors: number }>();
  #seen = new Map<string, Map<string, number>>();
  #now: () => number;

  constructor(registry: Registry, options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
    const registers = [registry];
    this.messages = new Counter({
      name: "producer_source_messages_total",
      help: "Frames (Beast), lines (SBS) or documents (aircraft.json, v2) received, by source",
      labelNames: ["source"],
      registers,
    });
    this.decodeErrors = new Counter({
      name: "producer_source_decode_errors_total",
      help: "Input from a source that could not be decoded or parsed, by source",
      labelNames: ["source"],
      registers,
    });
    this.reconnects = new Counter({
      name: "producer_source_reconnects_total",
      help: "Failed connection attempts, dropped connections and failed polls, by source",
      labelNames: ["source"],
      registers,
    });
    this.connected = new Gauge({
      name: "producer_source_connected",
      help: "1 while the source is connected (TCP) or its last poll succeeded (HTTP)",
      labelNames: ["source"],
      registers,
    });
    const labels = () => this.labels();
    const count = (l: string) => this.aircraftCount(l);
    const age = (l: string) => this.ageSeconds(l);
    this.aircraft = new Gauge({
      name: "producer_source_aircraft",
      help: "Aircraft heard from the source in the last 60 s",
      labelNames: ["source"],
      registers,
      collect() {
        for (const label of labels()) this.set({ source: label }, count(label));
      },
    });
    this.lastMessageAge = new Gauge({
      name: "producer_source_last_message_age_seconds",
      help: "Seconds since the source's last message (NaN before the first)",
      labelNames: ["source"],
      registers,
      collect() {
        for (const label of labels()) this.set({ source: label }, age(label));
      },
    });
  }

  /** Registers a source so that its series exist before its first message. */
  register(label: string): void {
    if (!this.#seen.has(label)) this.#seen.set(label, new Map());
    this.messages.inc({ source: label }, 0);
    this.decodeErrors.inc({ source: label }, 0);
    this.reconnects.inc({ source: label }, 0);
    this.connected.set({ source: label }, 0);
  }

  message(label: string, count = 1): void {
    this.messages.inc({ source: label }, count);
    this.#count(label).messages += count;
    this.#lastMessageMs.set(label, this.#now());
  }

  decodeError(label: string): void {
    this.decodeErrors.inc({ source: label });
    this.#count(label).errors++;
  }

  #count(label: string): { messages: number; errors: number } {
    let c = this.#counts.get(label);
    if (!c) this.#counts.set(label, c = { messages: 0, errors: 0 });
    return c;
  }

  /** One line per source for /healthz: messages, aircraft, decode errors, age of the last message. */
  summary(): string {
    return this.labels().map((l) => {
      const c = this.#count(l);
      const age = this.ageSeconds(l);
      return `${l}: ${c.messages} messages, ${
        this.aircraftCount(l)
      } aircraft, ${c.errors} decode errors, ` +
        (Number.isNaN(age) ? "nothing received yet" : `last ${age.toFixed(1)} s ago`);
    }).join("; ");
  }

  aircraftSeen(label: string, icao24: string): void {
    this.#seen.get(label)?.set(icao24, this.#now());
  }

  /** Aircraft heard from `label` in the last 60 s (prunes older ones). */
  aircraftCount(label: string): number {
    const seen = this.#seen.get(label);
    if (!seen) return 0;
    const cutoff = this.#now() - 60_000;
    for (const [icao, t] of seen) if (t < cutoff) seen.delete(icao);
    return seen.size;
  }

  /** Seconds since the last message of `label`, NaN before the first. */
  ageSeconds(label: string): number {
    const t = this.#lastMessageMs.get(label);
    return t === undefined ? NaN : (this.#now() - t) / 1000;
  }

  labels(): string[] {
    return [...this.#seen.keys()];
  }
}
