/**
 * The live side of the page: the `/ws` connection, the store it fills,
 * and the server clock (smoothed offset), without DOM. The subscription
 * (filters plus viewport) is set from outside; this only keeps it sent.
 *
 * @module
 */
import type { AlertEvent } from "../../contracts/alerts.ts";
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type { Subscription } from "../../contracts/ws.ts";
import {
  type ConnectionOptions,
  type ConnectionStatus,
  LiveConnection,
  type SocketFactory,
} from "./connection.ts";
import { FlightStore } from "./flight_store.ts";
import type { ProtocolAction } from "./protocol.ts";
import { type BatchAction, BatchReader } from "./v2_feed.ts";

export interface LiveFeedOptions {
  wsUrl: string;
  encoding?: ConnectionOptions["encoding"];
  socket?: SocketFactory;
  /** Client wall clock, unix ms. */
  now: () => number;
}

export interface LiveFeedHandlers {
  /** A snapshot or delta was applied to the store. */
  onData(kind: "snapshot" | "delta"): void;
  onAnomaly(event: AnomalyEvent): void;
  /** An alert pushed by the hub. */
  onAlert?(event: AlertEvent): void;
  /** Connection status changed. */
  onStatus(): void;
}

export class LiveFeed {
  readonly store = new FlightStore();
  readonly connection: LiveConnection;
  readonly #now: () => number;
  readonly #handlers: LiveFeedHandlers;
  #clockOffsetMs: number | null = null;
  #status: ConnectionStatus = "stopped";
  #retryInMs: number | null = null;
  #total: number | null = null;
  readonly #reader = new BatchReader();

  constructor(options: LiveFeedOptions, handlers: LiveFeedHandlers) {
    this.#now = options.now;
    this.#handlers = handlers;
    this.connection = new LiveConnection(
      {
        url: options.wsUrl,
        ...(options.encoding ? { encoding: options.encoding } : {}),
        ...(options.socket ? { socket: options.socket } : {}),
        now: options.now,
      },
      {
        onAction: (a) => this.#onAction(a),
        onBatch: (a) => this.applyBatch(a),
        onStatus: (status, d) => {
          this.#status = status;
          this.#retryInMs = d.retryInMs ?? null;
          handlers.onStatus();
        },
      },
    );
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  /** Milliseconds until the next reconnect attempt, while reconnecting. */
  get retryInMs(): number | null {
    return this.#retryInMs;
  }

  /**
   * Aircraft the hub tracks in the whole world (its `total` field), whatever
   * this client subscribed to; null until the hub said.
   */
  get total(): number | null {
    return this.#total;
  }

  start(): void {
    this.connection.start();
  }

  /** Disconnects for good (ends the decoding worker too). */
  stop(): void {
    this.connection.close();
  }

  /** The server-side filter (filters plus viewport); re-sent after every reconnect. */
  subscribe(sub: Subscription): void {
    this.connection.subscribe(sub);
  }

  /** Live data time (server clock), unix seconds. */
  nowS(): number {
    return (this.#now() + (this.#clockOffsetMs ?? 0)) / 1000;
  }

  #onAction(a: ProtocolAction): void {
    switch (a.kind) {
      case "snapshot":
      case "delta": {
        this.#syncClock(a.serverTimeMs);
        if (a.total !== undefined) this.#total = a.total;
        const now = this.nowS();
        if (a.kind === "snapshot") this.store.replace(a.flights, now);
        else {
          // Removes first: an aircraft that moved between two tiles of the view is in both.
          for (const id of a.removes) this.store.remove(id);
          for (const f of a.upserts) this.store.upsert(f, now);
        }
        this.#handlers.onData(a.kind);
        return;
      }
      case "anomaly":
        this.#handlers.onAnomaly(a.event);
        return;
      case "alert":
        this.#handlers.onAlert?.(a.event);
        return;
      case "hello":
        this.#syncClock(a.hello.server_time_ms);
        return;
    }
  }

  /**
   * A v2.bin snapshot or delta straight from its typed arrays: each held
   * aircraft is written from the batch's columns into the store's own
   * objects, so a delta allocates nothing per aircraft (arrivals excepted).
   * `perFlight`: through a flight object per aircraft and
   * {@link FlightStore.upsert} instead (the page's way before, kept for
   * `deno task bench:globe` to compare in the same run).
   */
  applyBatch(a: BatchAction, options: { perFlight?: boolean } = {}): void {
    this.#syncClock(a.serverTimeMs);
    // v2.bin carries the world count in snapshots and when it changed.
    if (a.total !== undefined) this.#total = a.total;
    const now = this.nowS();
    const batch = a.batch;
    if (a.type === "snapshot") {
      const keep = new Set<string>();
      this.#reader.each(batch, (f) => keep.add(f.icao24));
      this.store.removeExcept(keep);
    } else {
      // Removes first: an aircraft that moved between two tiles of the view is in both.
      for (const id of batch.removes) this.store.remove(id);
    }
    if (options.perFlight) this.#reader.each(batch, (f) => void this.store.upsert(f, now));
    else this.#reader.applyTo(batch, this.store, now);
    this.#handlers.onData(a.type);
  }

  #syncClock(serverMs: number): void {
    const offset = serverMs - this.#now();
    // Smoothed, so one late frame does not shift every aircraft.
    this.#clockOffsetMs = this.#clockOffsetMs === null
      ? offset
      : this.#clockOffsetMs * 0.9 + offset * 0.1;
  }
}
