/**
 * The WebSocket hub's edge: sockets, timers and metrics around the pure core
 * in `lib/hub/`. The web server serves `/ws` with {@link Hub.handleUpgrade},
 * `GET /api/flights` with {@link Hub.snapshot} and `/healthz` with
 * {@link Hub.stats}; a source (`hub_sources.ts`) feeds {@link Hub.ingest}.
 * The concerns live in their own files: upgrade policy (`hub_upgrade.ts`),
 * client session, rate limit and slow-client state (`hub_session.ts`), the
 * tick broadcaster (`hub_broadcast.ts`), metrics (`lib/hub/metrics.ts`).
 *
 * Per client: `hello`, then `snapshot` (seq of the last tick) once its first
 * `subscribe` or `resync` comes or `firstSnapshotDelayMs` has passed
 * (whichever is first: a client that names its view at once never gets the
 * whole world's snapshot), then the
 * recent anomalies in its view, then a `delta` every tick (empty when nothing
 * changed; seq is global and continuous, see `lib/hub/core.ts`) and `anomaly`
 * events in its view. A `subscribe` with a `bbox` is the viewport: rounded
 * out to the hub's 3° tiles (docs/protocol.md); after it, the new view's
 * snapshot and the recent anomalies the old view did not show.
 *
 * Policies:
 * - Encoding: `skysentinel.v2.bin` when offered (compact binary), else
 *   MessagePack binary frames when the client offers a subprotocol
 *   containing `msgpack`, else JSON text frames. A client that offers only
 *   unknown subprotocols gets none back (and its browser refuses the socket).
 * - Origin: WS_ALLOWED_ORIGINS (`*` allows any), or the request's own host
 *   when that is empty; requests without Origin (tools, other hubs) are
 *   allowed. 403 otherwise.
 * - Capacity: beyond WS_MAX_CLIENTS the socket gets an `error`
 *   `too_many_clients` and close 1013 (try again later).
 * - Slow clients: a client whose `bufferedAmount` exceeds
 *   WS_MAX_BUFFERED_BYTES is skipped (deltas and anomalies are not queued for
 *   it); once it drains below the limit it gets a fresh snapshot at the
 *   current seq and the anomalies it missed, instead of the missed deltas.
 *   Over the limit for longer than `slowClientGraceMs` (30 s): close 4000
 *   `slow_consumer`. The tick never waits for a socket.
 * - Abuse: a bad, unknown or oversized frame gets an `error` (`bad_frame`,
 *   `bad_message`, `frame_too_large`); more than 10 messages/s sustained
 *   (burst 20) gets `rate_limited`. After `maxBadFrames` (20) of these the
 *   socket is closed with 1008. Other clients are never affected.
 * - Liveness: quiet clients are normal and are never closed for it. Deno
 *   sends WebSocket pings every `idleTimeoutSeconds` and closes a socket
 *   that does not answer (browsers answer pings themselves); clients that
 *   want an application-level check send `ping` and get `pong`.
 * - Shutdown: {@link Hub.stop} sends `error` `server_shutdown` and closes
 *   every socket with 1001.
 *
 * @module
 */
import { Registry } from "prom-client";
import type { AlertEvent } from "../../contracts/alerts.ts";
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type { Flight } from "../../contracts/flight.ts";
import {
  BINARY_PROTOCOL_VERSION,
  PROTOCOL_VERSION,
  type Subscription,
} from "../../contracts/ws.ts";
import type { WebConfig } from "../../lib/config.ts";
import {
  decodeClientFrame,
  EncodedMessage,
  type EncodeFn,
  type Encoding,
} from "../../lib/hub/codec.ts";
import { HubCore, type TickResult } from "../../lib/hub/core.ts";
import type { UpsertResult } from "../../lib/hub/cache.ts";
import { HubMetrics } from "../../lib/hub/metrics.ts";
import { TickBroadcaster } from "./hub_broadcast.ts";
import { TickScheduler } from "./hub_ticker.ts";
import { ClientSession, closed, RATE_PER_SECOND, sendRaw } from "./hub_session.ts";
import {
  negotiateEncoding,
  offeredProtocols,
  originAllowed,
  plain,
  useVectoredWrites,
} from "./hub_upgrade.ts";

export { negotiateEncoding } from "./hub_upgrade.ts";

/** The settings the hub reads. */
export type HubConfig = Pick<
  WebConfig,
  | "WS_DELTA_INTERVAL_MS"
  | "WS_STALE_THRESHOLD_SECONDS"
  | "WS_MAX_CLIENTS"
  | "WS_MAX_BUFFERED_BYTES"
  | "WS_ALLOWED_ORIGINS"
  | "ANOMALY_WINDOW_HOURS"
>;

/** Where the hub's data comes from (sent in `hello`). */
export type HubSourceKind = "kafka" | "memory" | "relay";

/** What a source reports about itself. */
export interface HubSourceStatus {
  kind: HubSourceKind;
  /** True once the cache is caught up (bus) or synced with the upstream (relay). */
  ready: boolean;
  /** Why not ready, for /healthz. */
  detail?: string;
}

export interface HubLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface HubOptions {
  config: HubConfig;
  /** Registry for the hub's metrics; a private one when absent (never the global one). */
  registry?: Registry;
  /** Initial source status; sources update it with {@link Hub.setSourceStatus}. */
  source?: HubSourceStatus;
  /** How long a client may stay over WS_MAX_BUFFERED_BYTES before it is closed, ms. Default 30,000. */
  slowClientGraceMs?: number;
  /** Bad frames (and rate-limit hits) before close 1008. Default 20. */
  maxBadFrames?: number;
  /** Seconds between Deno's WebSocket pings (and to wait for the pong). Default 60. */
  idleTimeoutSeconds?: number;
  /** Called once per tick, when it is whole, with its own duration in ms (benchmarks). */
  onTick?: (ms: number) => void;
  /**
   * How long a new client's first snapshot waits for its first `subscribe` (or `resync`), ms.
   * Default 250 (a round trip on most networks: the globe subscribes on `hello`). A client that names its view at once then gets only that
   * view's snapshot, never the whole world's first (which would cost the whole world's frame in
   * native memory for the connection's life: see ClientSession.send).
   */
  firstSnapshotDelayMs?: number;
  /** Milliseconds between stale sweeps. Default 1,000. */
  sweepIntervalMs?: number;
  /**
   * Longest time between two ticks when nothing changes (heartbeat deltas),
   * ms. Default max(1,000, 2 x WS_DELTA_INTERVAL_MS). With changes pending
   * a tick comes once WS_DELTA_INTERVAL_MS has passed since the last one.
   */
  heartbeatMs?: number;
  /**
   * Wall clock, unix ms, for staleness, anomaly windows and `server_time_ms`
   * (tests move it). Default Date.now. Grace periods and rate limits use the
   * monotonic clock.
   */
  now?: () => number;
  /** Frame encoder (tests count its calls). */
  encode?: EncodeFn;
  logger?: HubLogger;
}

/** `/healthz` and operator figures. */
export interface HubStats {
  /** True when started, not stopped and the source is ready. */
  ready: boolean;
  source: HubSourceStatus;
  clients: number;
  clients_by_encoding: Record<Encoding, number>;
  /** Clients currently over the buffer limit (skipped). */
  slow_clients: number;
  /** Bytes waiting in the clients' socket send queues, in all (server memory outside the JS heap). */
  buffered_bytes: number;
  flights: number;
  /** Distinct views (filter and tiles) clients share. */
  buckets: number;
  /** Tile (and whole-world) segments kept, per filter. */
  segments: number;
  /** Seq of the last tick. */
  seq: number;
  /** Anomaly events kept for new clients. */
  anomalies: number;
}

const CLOSE_WAIT_MS = 2_000;

export class Hub {
  readonly #config: HubConfig;
  readonly #core: HubCore<ClientSession>;
  readonly #clients = new Set<ClientSession>();
  readonly #now: () => number;
  readonly #log: HubLogger;
  readonly #maxBadFrames: number;
  /** Clients closed for abuse whose frames still arrive: when the last one came (ms). */
  readonly #draining = new WeakMap<ClientSession, number>();
  readonly #idleTimeout: number;
  readonly #sweepMs: number;
  readonly #firstSnapshotMs: number;
  readonly #metrics: HubMetrics;
  readonly #broadcast: TickBroadcaster;
  /** The tick whose second half ({@link finishTick}) has not run yet. */
  #unfinished: { spentMs: number; result: TickResult<ClientSession> } | null = null;
  readonly #onTick: ((ms: number) => void) | undefined;
  #finishTimer: ReturnType<typeof setTimeout> | undefined;
  #source: HubSourceStatus;
  readonly #ticker: TickScheduler;
  #lastSweepMs = -Infinity;
  #started = false;
  #stopping: Promise<void> | undefined;

  constructor(options: HubOptions) {
    this.#config = options.config;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? console;
    this.#maxBadFrames = options.maxBadFrames ?? 20;
    this.#idleTimeout = options.idleTimeoutSeconds ?? 60;
    this.#sweepMs = options.sweepIntervalMs ?? 1_000;
    this.#firstSnapshotMs = options.firstSnapshotDelayMs ?? 250;
    this.#onTick = options.onTick;
    this.#source = options.source ?? { kind: "memory", ready: true };
    // Before any upgrade: without it each socket keeps a buffer as large as its largest frame.
    useVectoredWrites(this.#log);
    const interval = options.config.WS_DELTA_INTERVAL_MS;
    this.#ticker = new TickScheduler({
      minIntervalMs: interval,
      heartbeatMs: options.heartbeatMs ?? Math.max(1_000, 2 * interval),
      tick: () => this.tick(),
    });
    this.#core = new HubCore<ClientSession>({
      staleAfterSeconds: options.config.WS_STALE_THRESHOLD_SECONDS,
      anomalyWindowMs: options.config.ANOMALY_WINDOW_HOURS * 3_600_000,
      encode: options.encode,
    });
    this.#metrics = new HubMetrics(options.registry ?? new Registry(), {
      clients: (encoding) => this.#countClients(encoding),
      flights: () => this.#core.flightCount,
      buckets: () => this.#core.bucketCount,
      segments: () => this.#core.segmentCount,
    });
    this.#broadcast = new TickBroadcaster({
      core: this.#core,
      metrics: this.#metrics,
      maxBufferedBytes: options.config.WS_MAX_BUFFERED_BYTES,
      graceMs: options.slowClientGraceMs ?? 30_000,
      close: (client, code, reason) => this.#close(client, code, reason),
      warn: (m) => this.#log.warn(m),
    });
  }

  /**
   * Offers one flight state (sent with the next tick). `producedAt` (ISO
   * string or unix ms) is the envelope's publish time, for the end-to-end
   * latency histogram.
   */
  ingest(flight: Flight, options: { producedAt?: string | number } = {}): UpsertResult {
    const p = options.producedAt;
    const producedAtMs = typeof p === "string" ? Date.parse(p) : p;
    const result = this.#core.ingest(flight, { nowSeconds: this.#now() / 1000, producedAtMs });
    if (result.accepted) this.#ticker.wake();
    else this.#metrics.rejected.inc({ reason: result.reason });
    return result;
  }

  /** Removes one aircraft with the next tick (relay mode). */
  remove(icao24: string): boolean {
    const removed = this.#core.remove(icao24);
    if (removed) this.#ticker.wake();
    return removed;
  }

  /** Offers an anomaly event: broadcast with the next tick when new or changed, kept for new clients. */
  ingestAnomaly(event: AnomalyEvent): boolean {
    const queued = this.#core.ingestAnomaly(event, this.#now());
    if (queued) this.#ticker.wake();
    return queued;
  }

  /**
   * Ticks now, without waiting for the minimum interval: a relay calls it
   * after each upstream frame, so the frame is forwarded as soon as it
   * arrives (the upstream already spaced its ticks). No-op before start.
   */
  flush(): void {
    this.#ticker.now();
  }

  /**
   * Sends an alert event to every open client now (alerts are rare and not
   * tied to a viewport, so no bucket or tick is involved; a slow client
   * misses it). Returns how many clients got it.
   */
  broadcastAlert(event: AlertEvent): number {
    this.finishTick();
    const message = new EncodedMessage({ type: "alert", event });
    let sent = 0;
    for (const client of this.#clients) {
      if (!client.open || client.overBuffer(this.#config.WS_MAX_BUFFERED_BYTES)) continue;
      client.send(message);
      sent++;
    }
    return sent;
  }

  /** Sources report readiness and kind here. */
  setSourceStatus(status: HubSourceStatus): void {
    this.#source = { ...status };
  }

  /**
   * Starts ticking (hub_ticker.ts): as soon as changes are pending and
   * WS_DELTA_INTERVAL_MS has passed since the last tick, and a heartbeat
   * tick when nothing changes (stale sweeps run with the ticks). Idempotent.
   */
  start(): void {
    if (this.#started || this.#stopping) return;
    this.#started = true;
    this.#ticker.start();
  }

  /**
   * One tick: sweep stale aircraft (at most every sweep interval), commit,
   * send each bucket its anomalies and its delta. Called by the scheduler;
   * public so tests can commit what they ingested without waiting for it.
   */
  tick(): void {
    this.finishTick();
    const started = performance.now();
    this.#ticker.ticked();
    const now = this.#now();
    if (now - this.#lastSweepMs >= this.#sweepMs) {
      this.#lastSweepMs = now;
      this.#core.sweep(now / 1000);
    }
    const result = this.#core.tick(now);
    // The binary frames leave when this task ends; the v1 ones are encoded in the next task
    // (hub_broadcast.ts), or at once when something needs the tick finished first.
    const v1 = this.#broadcast.deliverBinary(result, now);
    this.#unfinished = { spentMs: performance.now() - started, result };
    if (v1) this.#finishTimer = setTimeout(() => this.finishTick(), 0);
    else this.finishTick();
  }

  /**
   * The second half of a tick: JSON and MessagePack clients get their frames,
   * and the tick's metrics are recorded. Runs in the task after {@link tick}, and
   * before anything that must see the tick whole (the next tick, a client's
   * message, a snapshot, an alert, shutdown). No-op when nothing is pending.
   */
  finishTick(): void {
    const t = this.#unfinished;
    if (!t) return;
    this.#unfinished = null;
    if (this.#finishTimer !== undefined) clearTimeout(this.#finishTimer);
    this.#finishTimer = undefined;
    const resumed = performance.now();
    this.#broadcast.finish();
    // Latency is real elapsed time: the wall clock, not the (test-shiftable) hub clock.
    const sentAt = Date.now();
    for (const p of t.result.changes.producedAtMs) {
      this.#metrics.latency.observe(Math.max(0, sentAt - p) / 1000);
    }
    this.#metrics.flush();
    // The tick's own work, not the time other tasks took between its halves.
    const ms = t.spentMs + performance.now() - resumed;
    this.#metrics.tickDuration.observe(ms / 1000);
    this.#onTick?.(ms);
  }

  /**
   * Answers a `/ws` request: 426 without an upgrade, 403 for a foreign
   * Origin, 503 after {@link stop}; otherwise the 101 response.
   */
  handleUpgrade(request: Request): Response {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return plain(426, "/ws speaks WebSocket: send Upgrade: websocket", {
        Upgrade: "websocket",
        Connection: "Upgrade",
      });
    }
    if (this.#stopping) return plain(503, "server shutting down");
    if (!originAllowed(request, this.#config.WS_ALLOWED_ORIGINS)) {
      return plain(403, "origin not allowed");
    }
    const { encoding, protocol } = negotiateEncoding(offeredProtocols(request));
    let upgraded: { socket: WebSocket; response: Response };
    try {
      upgraded = Deno.upgradeWebSocket(request, { protocol, idleTimeout: this.#idleTimeout });
    } catch (error) {
      return plain(400, `bad WebSocket handshake: ${(error as Error).message}`);
    }
    const { socket, response } = upgraded;
    socket.binaryType = "arraybuffer";
    if (this.#clients.size >= this.#config.WS_MAX_CLIENTS) {
      socket.onopen = () => {
        sendRaw(socket, encoding, {
          type: "error",
          code: "too_many_clients",
          message: `the server has ${this.#config.WS_MAX_CLIENTS} clients; try again later`,
        }, this.#metrics);
        socket.close(1013, "too_many_clients");
      };
      return response;
    }
    const client = new ClientSession(socket, encoding, this.#metrics);
    this.#clients.add(client);
    socket.onopen = () => this.#onOpen(client);
    socket.onmessage = (e) => this.#onMessage(client, e.data);
    socket.onclose = () => this.#drop(client);
    socket.onerror = () => this.#drop(client);
    return response;
  }

  /** Committed flights matching `filter` (the last tick's state), for `GET /api/flights`. */
  snapshot(filter: Subscription = {}): Flight[] {
    return this.#core.snapshot(filter);
  }

  stats(): HubStats {
    const byEncoding: Record<Encoding, number> = { json: 0, msgpack: 0, bin: 0 };
    let slow = 0;
    let buffered = 0;
    for (const c of this.#clients) {
      byEncoding[c.encoding]++;
      if (c.slowSince !== null) slow++;
      buffered += c.socket.bufferedAmount;
    }
    return {
      ready: this.#started && !this.#stopping && this.#source.ready,
      source: { ...this.#source },
      clients: this.#clients.size,
      clients_by_encoding: byEncoding,
      slow_clients: slow,
      buffered_bytes: buffered,
      flights: this.#core.flightCount,
      buckets: this.#core.bucketCount,
      segments: this.#core.segmentCount,
      seq: this.#core.seq,
      anomalies: this.#core.anomalyCount,
    };
  }

  /** Stops the timer and closes every socket with 1001; resolves once they closed (at most ~2 s). Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#shutdown();
    return this.#stopping;
  }

  async #shutdown(): Promise<void> {
    this.#ticker.stop();
    this.finishTick();
    const closing: Promise<void>[] = [];
    for (const client of [...this.#clients]) {
      closing.push(closed(client.socket, CLOSE_WAIT_MS));
      if (client.open) {
        sendRaw(client.socket, client.encoding, {
          type: "error",
          code: "server_shutdown",
          message: "the server is shutting down",
        }, this.#metrics);
      }
      this.#close(client, 1001, "server_shutdown");
    }
    await Promise.all(closing);
    this.#metrics.flush();
  }

  #onOpen(client: ClientSession): void {
    if (this.#stopping) return this.#close(client, 1001, "server_shutdown");
    this.finishTick();
    client.open = true;
    this.#core.join(client, {});
    const now = this.#now();
    client.send(
      new EncodedMessage({
        type: "hello",
        protocol: client.encoding === "bin" ? BINARY_PROTOCOL_VERSION : PROTOCOL_VERSION,
        server_time_ms: now,
        encoding: client.encoding,
        delta_interval_ms: this.#config.WS_DELTA_INTERVAL_MS,
        stale_threshold_s: this.#config.WS_STALE_THRESHOLD_SECONDS,
        source: this.#source.kind,
      }),
    );
    // The first snapshot waits a moment for the client's first subscribe: clients that name
    // their view at once (the globe, after hello) get that view's snapshot only.
    client.awaitingView = true;
    client.firstSnapshotTimer = setTimeout(() => {
      client.firstSnapshotTimer = undefined;
      if (!client.open || !client.awaitingView) return;
      this.finishTick();
      this.#sendFirstView(client, this.#now());
    }, this.#firstSnapshotMs);
  }

  /** A new client's first snapshot and the recent anomalies in its view. */
  #sendFirstView(client: ClientSession, now: number): void {
    client.awaitingView = false;
    if (client.firstSnapshotTimer !== undefined) clearTimeout(client.firstSnapshotTimer);
    client.firstSnapshotTimer = undefined;
    this.#broadcast.sendSnapshot(client, now);
    this.#broadcast.sendRecentAnomalies(client, now);
  }

  #onMessage(client: ClientSession, data: unknown): void {
    if (!client.open) {
      if (this.#draining.has(client)) this.#draining.set(client, performance.now());
      return;
    }
    // A subscribe or resync must come after the tick its client is owed.
    this.finishTick();
    const now = this.#now();
    if (!client.takeToken()) {
      return this.#reject(client, "rate_limited", `more than ${RATE_PER_SECOND} messages/s`);
    }
    if (!(typeof data === "string" || data instanceof ArrayBuffer)) {
      return this.#reject(client, "bad_frame", "unsupported frame type");
    }
    const decoded = decodeClientFrame(data);
    if (!decoded.ok) return this.#reject(client, decoded.code, decoded.message);
    const message = decoded.message;
    switch (message.type) {
      case "ping":
        client.send(
          new EncodedMessage(
            message.id === undefined
              ? { type: "pong", server_time_ms: now }
              : { type: "pong", id: message.id, server_time_ms: now },
          ),
        );
        return;
      case "resync":
        if (client.awaitingView) return this.#sendFirstView(client, now);
        return this.#broadcast.sendSnapshot(client, now);
      case "subscribe": {
        if (client.awaitingView) {
          this.#core.join(client, message.filter);
          return this.#sendFirstView(client, now);
        }
        // A new viewport: its snapshot, then the recent anomalies it shows that the old one did not.
        const previous = this.#core.bucketOf(client);
        this.#core.join(client, message.filter);
        this.#broadcast.sendSnapshot(client, now);
        if (!client.needsSnapshot) this.#broadcast.sendRecentAnomalies(client, now, previous);
        return;
      }
    }
  }

  #reject(
    client: ClientSession,
    code: "bad_frame" | "bad_message" | "frame_too_large" | "rate_limited",
    text: string,
  ): void {
    client.send(new EncodedMessage({ type: "error", code, message: text }));
    client.abuse++;
    if (client.abuse >= this.#maxBadFrames) {
      this.#log.warn(`hub: closing a client after ${client.abuse} bad frames (last: ${code})`);
      this.#closeWhenQuiet(client, 1008, code === "rate_limited" ? "rate_limited" : "bad_frames");
    }
  }

  /**
   * Closes an abusive client once its frames stop coming (200 ms quiet, 5 s at most).
   * Closing the socket while its frames still arrive makes the kernel answer them with a
   * TCP reset, and the reset throws away, on the client's side, the `error` frame and the
   * close 1008 that say why (issue #14). Meanwhile its frames are read and ignored.
   */
  #closeWhenQuiet(client: ClientSession, code: number, reason: string): void {
    this.#drop(client);
    const started = performance.now();
    this.#draining.set(client, started);
    const check = () => {
      const now = performance.now();
      if (now - this.#draining.get(client)! < 200 && now - started < 5_000) {
        setTimeout(check, 50);
        return;
      }
      this.#draining.delete(client);
      client.close(code, reason);
    };
    setTimeout(check, 50);
  }

  #close(client: ClientSession, code: number, reason: string): void {
    this.#drop(client);
    client.close(code, reason);
  }

  #drop(client: ClientSession): void {
    client.open = false;
    if (client.firstSnapshotTimer !== undefined) clearTimeout(client.firstSnapshotTimer);
    client.firstSnapshotTimer = undefined;
    if (!this.#clients.delete(client)) return;
    this.#core.leave(client);
  }

  #countClients(encoding: Encoding): number {
    let n = 0;
    for (const c of this.#clients) if (c.encoding === encoding) n++;
    return n;
  }
}
