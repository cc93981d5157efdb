/**
 * The hub's Prometheus metrics, registered on a registry passed in (never
 * the global one). Per-send counts are summed locally and flushed once per
 * tick (and on scrape), so sending to many clients costs no label lookups.
 *
 * @module
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ServerMessage } from "../../contracts/ws.ts";
import { REJECT_REASONS } from "./cache.ts";
import { type Encoding, ENCODINGS } from "./codec.ts";

type MessageType = ServerMessage["type"];

export class HubMetrics {
  readonly rejected: Counter<"reason">;
  readonly slow: Counter;
  readonly tickDuration: Histogram;
  readonly latency: Histogram;
  readonly #messages: Counter<"type" | "encoding">;
  readonly #bytes: Counter<"type" | "encoding">;
  readonly #tally = new Map<
    string,
    { type: MessageType; encoding: Encoding; n: number; bytes: number }
  >();

  constructor(registry: Registry, sources: {
    clients: (encoding: Encoding) => number;
    flights: () => number;
    /** Distinct views (buckets) and segments (tiles per filter): the per-tick work. */
    buckets?: () => number;
    segments?: () => number;
  }) {
    const registers = [registry];
    new Gauge({
      name: "hub_clients",
      help: "Connected WebSocket clients.",
      labelNames: ["encoding"],
      registers,
      collect() {
        for (const e of ENCODINGS) this.set({ encoding: e }, sources.clients(e));
      },
    });
    new Gauge({
      name: "hub_flights",
      help: "Aircraft in the hub's cache.",
      registers,
      collect() {
        this.set(sources.flights());
      },
    });
    new Gauge({
      name: "hub_buckets",
      help: "Distinct client views (filter and tiles); each gets one delta per tick and encoding.",
      registers,
      collect() {
        this.set(sources.buckets?.() ?? 0);
      },
    });
    new Gauge({
      name: "hub_segments",
      help: "Tile (and whole-world) segments per filter, each routed and encoded once per tick.",
      registers,
      collect() {
        this.set(sources.segments?.() ?? 0);
      },
    });
    const flush = () => this.flush();
    this.#messages = new Counter({
      name: "hub_messages_sent_total",
      help: "WebSocket messages sent, by message type and encoding.",
      labelNames: ["type", "encoding"],
      registers,
      collect: flush,
    });
    this.#bytes = new Counter({
      name: "hub_bytes_sent_total",
      help: "WebSocket payload bytes sent, by message type and encoding.",
      labelNames: ["type", "encoding"],
      registers,
      collect: flush,
    });
    this.tickDuration = new Histogram({
      name: "hub_tick_duration_seconds",
      help: "Time to compute, encode and hand out one tick, seconds.",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.latency = new Histogram({
      name: "hub_e2e_latency_seconds",
      help: "From the envelope's produced_at to the tick that sent the update, seconds.",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.slow = new Counter({
      name: "hub_slow_clients_total",
      help: "Times a client went over WS_MAX_BUFFERED_BYTES and was skipped.",
      registers,
    });
    this.rejected = new Counter({
      name: "hub_rejected_updates_total",
      help: "Flight updates not taken into the cache, by reason.",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of REJECT_REASONS) this.rejected.inc({ reason }, 0);
  }

  sent(type: MessageType, encoding: Encoding, bytes: number): void {
    const key = `${type}|${encoding}`;
    const t = this.#tally.get(key);
    if (t) {
      t.n++;
      t.bytes += bytes;
    } else this.#tally.set(key, { type, encoding, n: 1, bytes });
  }

  flush(): void {
    for (const t of this.#tally.values()) {
      if (t.n === 0) continue;
      this.#messages.inc({ type: t.type, encoding: t.encoding }, t.n);
      this.#bytes.inc({ type: t.type, encoding: t.encoding }, t.bytes);
      t.n = 0;
      t.bytes = 0;
    }
  }
}
