/**
 * What feeds the hub: the bus (flights.state and flights.anomalies, read
 * from the beginning on every start) or, in relay mode, another hub's `/ws`.
 *
 * @module
 */
import { Decoder } from "@msgpack/msgpack";
import { AlertEvent } from "../../contracts/alerts.ts";
import { AnomalyEvent } from "../../contracts/anomaly.ts";
import { FlightStateEnvelope } from "../../contracts/flight.ts";
import { TOPICS } from "../../contracts/topics.ts";
import {
  BINARY_SUBPROTOCOL,
  MSGPACK_SUBPROTOCOL,
  ServerMessage,
  type Subscription,
} from "../../contracts/ws.ts";
import { Backoff } from "../../lib/backoff.ts";
import type { Bus, BusSubscription } from "../../lib/bus/types.ts";
import { subscribeValidated } from "../../lib/bus/deadletter.ts";
import { FlightView } from "../../lib/hub/view.ts";
import { BinaryDecoder } from "../../lib/hub/v2/decoder.ts";
import { formatZodError } from "../../lib/zod_error.ts";
import type { Hub, HubLogger } from "./hub.ts";

/** A running source. */
export interface HubSource {
  /** True once caught up (bus) or synced with the upstream (relay). */
  readonly ready: boolean;
  /** False while the source cannot deliver (broker unreachable, upstream disconnected). */
  healthy(): boolean;
  /** Stops reading. Idempotent. */
  stop(): Promise<void>;
}

// --- bus ---------------------------------------------------------------------

/** Topics the hub reads; injectable so tests use their own. */
export interface HubTopics {
  state: string;
  anomalies: string;
  deadletter: string;
  /** Alert events, pushed to every client as they arrive (default flights.alerts). */
  alerts?: string;
}

/** Alerts published this long before the hub started are still pushed, ms. */
const ALERT_REPLAY_MS = 60_000;

export const DEFAULT_HUB_TOPICS: Readonly<HubTopics> = Object.freeze({
  state: TOPICS.state.name,
  anomalies: TOPICS.anomalies.name,
  deadletter: TOPICS.deadletter.name,
  alerts: TOPICS.alerts.name,
});

export interface BusSourceOptions {
  /**
   * Anomaly events that ended (or, while open, started) longer ago than
   * this are skipped while reading flights.anomalies from its beginning,
   * hours (the hub's ANOMALY_WINDOW_HOURS).
   */
  anomalyWindowHours: number;
  topics?: Partial<HubTopics>;
  /** Milliseconds between readiness checks. Default 200. */
  readinessPollMs?: number;
  logger?: HubLogger;
}

/**
 * Rebuilds the hub's cache from flights.state (an ephemeral subscription
 * from the beginning of the compacted topic, then live) and follows
 * flights.anomalies the same way. Messages that fail validation go to the
 * dead-letter topic and reading carries on. The hub is reported ready once
 * the state subscription has joined and has no lag left (it caught up with
 * the end of the topic as it was when it joined). Updates read while
 * catching up do not count in the end-to-end latency histogram.
 */
export async function startBusSource(
  hub: Hub,
  bus: Bus,
  options: BusSourceOptions,
): Promise<HubSource> {
  const topics = { ...DEFAULT_HUB_TOPICS, ...options.topics };
  const log = options.logger ?? console;
  const kind = bus.kind;
  const windowMs = options.anomalyWindowHours * 3_600_000;
  const seenAlerts = new Set<string>();
  hub.setSourceStatus({ kind, ready: false, detail: `reading ${topics.state} from the beginning` });
  let ready = false;
  const onError = (error: unknown) =>
    log.warn(
      `hub: bus batch failed, will be delivered again: ${(error as Error).message ?? error}`,
    );

  const state = await subscribeValidated(bus, {
    topics: [topics.state],
    ephemeral: true,
    schema: FlightStateEnvelope,
    deadletterTopic: topics.deadletter,
    source: "hub",
    onError,
    onMessage: (envelope) => {
      hub.ingest(envelope.payload, { producedAt: ready ? envelope.produced_at : undefined });
    },
  });
  let anomalies: BusSubscription;
  try {
    anomalies = await subscribeValidated(bus, {
      topics: [topics.anomalies],
      ephemeral: true,
      schema: AnomalyEvent,
      deadletterTopic: topics.deadletter,
      source: "hub",
      onError,
      onMessage: (event) => {
        if (Date.parse(event.ended_at ?? event.started_at) >= Date.now() - windowMs) {
          hub.ingestAnomaly(event);
        }
      },
    });
  } catch (error) {
    await state.stop();
    throw error;
  }
  // Alerts are live news: those published since shortly before the start, not 30 days of them.
  const startedAt = Date.now();
  let alerts: BusSubscription | null = null;
  try {
    const name = topics.alerts ?? TOPICS.alerts.name;
    await bus.ensureTopics([{ ...TOPICS.alerts, name }]);
    alerts = await subscribeValidated(bus, {
      topics: [name],
      ephemeral: true,
      schema: AlertEvent,
      deadletterTopic: topics.deadletter,
      source: "hub",
      onError,
      onMessage: (event, message) => {
        if (message.timestamp < startedAt - ALERT_REPLAY_MS) return;
        // Republished versions (at-least-once) within the last minute are shown once.
        if (seenAlerts.has(event.id)) return;
        seenAlerts.add(event.id);
        if (seenAlerts.size > 1000) seenAlerts.delete(seenAlerts.values().next().value!);
        hub.broadcastAlert(event);
      },
    });
  } catch (error) {
    log.warn(`hub: not forwarding alerts: ${(error as Error).message ?? error}`);
  }
  log.info(
    `hub: reading ${topics.state} and ${topics.anomalies} (last ${options.anomalyWindowHours} h) from ${kind}`,
  );

  let stopped = false;
  const timer = setInterval(() => {
    const healthy = bus.healthy();
    if (!ready && state.ready && state.lag() === 0) {
      ready = true;
      log.info(`hub: cache rebuilt from ${topics.state}, ${hub.stats().flights} aircraft`);
    }
    hub.setSourceStatus({
      kind,
      ready: ready && healthy,
      detail: healthy
        ? (ready ? undefined : `catching up (lag ${state.lag()})`)
        : `${kind} unreachable`,
    });
  }, options.readinessPollMs ?? 200);

  return {
    get ready() {
      return ready;
    },
    healthy: () => bus.healthy(),
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await Promise.all([state.stop(), anomalies.stop(), alerts?.stop()]);
    },
  };
}

// --- relay -------------------------------------------------------------------

export interface RelaySourceOptions {
  /** The upstream hub's `ws://` / `wss://` URL (HUB_UPSTREAM_URL). */
  upstreamUrl: string;
  /** Ask the upstream for a subset only. Default: everything. */
  filter?: Subscription;
  /** First reconnect delay, ms (doubles up to maxBackoffMs, with jitter). Default 500. */
  minBackoffMs?: number;
  /** Longest reconnect delay, ms. Default 30,000. */
  maxBackoffMs?: number;
  /** Reconnect when the upstream sends nothing (it sends a delta every tick) for this long, ms. Default 15,000. */
  silenceTimeoutMs?: number;
  /**
   * Upstream frames that keep arriving back to back share one tick of this
   * hub for at most this long, ms, before it ticks anyway. Default 1,000.
   */
  maxCoalesceMs?: number;
  logger?: HubLogger;
}

/**
 * Relay mode: connects to another hub's `/ws` with `skysentinel.v2.bin`
 * (MessagePack when the upstream is an older hub that does not offer it)
 * and mirrors it into `hub` (snapshot, deltas, anomalies). A seq gap or an
 * undecodable frame asks the upstream for `resync` and ignores deltas until
 * the snapshot comes; a lost connection reconnects with exponential backoff.
 * Healthy and ready only while connected and synced. The relay's clients see
 * the upstream's quantised values (docs/protocol.md). Each upstream snapshot
 * or delta is forwarded at once ({@link Hub.flush}), not on this hub's next
 * tick; frames that queued up while the relay was busy share one tick.
 */
export function startRelaySource(hub: Hub, options: RelaySourceOptions): HubSource {
  const relay = new Relay(hub, options);
  relay.connect();
  return relay;
}

class Relay implements HubSource {
  readonly #hub: Hub;
  readonly #url: string;
  readonly #filter: Subscription | undefined;
  readonly #silenceMs: number;
  readonly #log: HubLogger;
  readonly #decoder = new Decoder();
  /** Field-delta state of the binary encoding (replaced on every connection). */
  #binary = new BinaryDecoder();
  /** The upstream's state as we know it; its seq is null while waiting for a snapshot. */
  readonly #view = new FlightView();
  #socket: WebSocket | null = null;
  readonly #backoff: Backoff;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #silenceTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  /** The tick for the frames applied since the last one (see #flushSoon). */
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #flushDueMs = 0;
  readonly #maxCoalesceMs: number;

  constructor(hub: Hub, options: RelaySourceOptions) {
    this.#hub = hub;
    this.#url = options.upstreamUrl;
    this.#filter = options.filter;
    this.#silenceMs = options.silenceTimeoutMs ?? 15_000;
    this.#maxCoalesceMs = options.maxCoalesceMs ?? 1_000;
    this.#log = options.logger ?? console;
    this.#backoff = new Backoff({
      initialMs: options.minBackoffMs ?? 500,
      maxMs: options.maxBackoffMs ?? 30_000,
      jitter: 0.2,
    });
    this.#status("connecting");
  }

  get ready(): boolean {
    return this.healthy();
  }

  healthy(): boolean {
    return this.#socket?.readyState === WebSocket.OPEN && this.#view.seq !== null;
  }

  connect(): void {
    if (this.#stopped) return;
    let socket: WebSocket;
    try {
      socket = new WebSocket(this.#url, [BINARY_SUBPROTOCOL, MSGPACK_SUBPROTOCOL]);
    } catch (error) {
      this.#log.warn(`hub relay: cannot connect to ${this.#url}: ${(error as Error).message}`);
      return this.#scheduleReconnect();
    }
    this.#socket = socket;
    this.#binary = new BinaryDecoder();
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      if (this.#filter) this.#sendUpstream({ type: "subscribe", filter: this.#filter });
      this.#armSilenceTimer();
    };
    socket.onmessage = (e) => {
      // A frame of a socket this relay has already replaced belongs to another field-delta state.
      if (this.#socket !== socket) return;
      this.#armSilenceTimer();
      this.#onFrame(e.data, socket.protocol);
    };
    socket.onclose = (e) => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#view.reset();
      clearTimeout(this.#silenceTimer);
      if (this.#stopped) return;
      this.#log.warn(`hub relay: upstream closed (${e.code} ${e.reason || "no reason"})`);
      this.#scheduleReconnect();
    };
    socket.onerror = () => {}; // a close event follows
  }

  stop(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#silenceTimer);
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const socket = this.#socket;
    this.#socket = null;
    this.#view.reset();
    this.#status("stopped");
    if (!socket || socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      socket.addEventListener("close", () => {
        clearTimeout(timer);
        resolve();
      });
      socket.close(1000, "relay stopped");
    });
  }

  #onFrame(data: unknown, protocol: string): void {
    let value: unknown;
    const binary = protocol === BINARY_SUBPROTOCOL && typeof data !== "string";
    try {
      if (typeof data === "string") value = JSON.parse(data);
      else if (binary) value = this.#binary.decode(new Uint8Array(data as ArrayBuffer));
      else value = this.#decoder.decode(data as ArrayBuffer);
    } catch (error) {
      this.#log.warn(`hub relay: undecodable frame: ${(error as Error).message}`);
      if (binary) {
        // The field-delta state is lost: start again from a snapshot.
        this.#view.reset();
        this.#status("resyncing after a bad frame");
        this.#sendUpstream({ type: "resync" });
      }
      return;
    }
    if (
      binary && (value as { type?: string }).type === "delta" && this.#binary.seq === null &&
      this.#view.seq !== null
    ) {
      // The binary decoder could not apply this delta (a gap): the view must not take it either.
      this.#view.reset();
      this.#log.warn(`hub relay: seq gap at ${(value as { seq: number }).seq}; resync`);
      this.#status("resyncing after a seq gap");
      return this.#sendUpstream({ type: "resync" });
    }
    let message: ServerMessage;
    const type = (value as { type?: unknown }).type;
    if (binary && (type === "snapshot" || type === "delta")) {
      // Built by the binary decoder, field by field from a frame it checked: validating every
      // flight again with zod would cost the relay a few ms per frame, on its latency path.
      message = value as ServerMessage;
    } else {
      const parsed = ServerMessage.safeParse(value);
      if (!parsed.success) {
        return this.#log.warn(`hub relay: invalid message: ${formatZodError(parsed.error)}`);
      }
      message = parsed.data;
    }
    switch (message.type) {
      case "snapshot":
      case "delta": {
        const change = this.#view.apply(message);
        if (!change.ok) {
          if (change.reason !== "gap") return; // stale, or waiting for the snapshot we asked for
          this.#log.warn(
            `hub relay: seq gap (expected ${change.expected}, got ${change.got}); resync`,
          );
          this.#status("resyncing after a seq gap");
          return this.#sendUpstream({ type: "resync" });
        }
        for (const f of change.upserts) this.#hub.ingest(f);
        for (const icao24 of change.removes) this.#hub.remove(icao24);
        if (message.type === "snapshot") {
          this.#backoff.reset();
          this.#status();
        }
        // Forward the frame at once, re-encoded for this hub's own views, rather than on the
        // next tick of its own (which made the hop cost up to a whole interval); frames that
        // queued up while this relay was busy share one tick.
        this.#flushSoon();
        return;
      }
      case "anomaly":
        this.#hub.ingestAnomaly(message.event);
        return;
      case "alert":
        this.#hub.broadcastAlert(message.event);
        return;
      case "error":
        this.#log.warn(`hub relay: upstream error ${message.code}: ${message.message}`);
        return;
      case "hello":
      case "pong":
        return;
    }
  }

  /**
   * One tick of this hub for the upstream frames applied since the last:
   * on a zero timer, because frames already waiting on the socket are all
   * delivered before timers run, so a relay that fell behind (a slow tick,
   * a busy process) catches up in one tick (commit, route, encode, send)
   * instead of paying one per queued frame. Its clients get one delta of
   * its own seq with the combined changes. While frames keep arriving for
   * `maxCoalesceMs` without a timer getting to run, it ticks anyway.
   */
  #flushSoon(): void {
    if (this.#flushTimer === undefined) {
      this.#flushDueMs = performance.now() + this.#maxCoalesceMs;
      this.#flushTimer = setTimeout(() => this.#flushNow(), 0);
      return;
    }
    if (performance.now() >= this.#flushDueMs) this.#flushNow();
  }

  #flushNow(): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#hub.flush();
  }

  #sendUpstream(message: unknown): void {
    if (this.#socket?.readyState !== WebSocket.OPEN) return;
    this.#socket.send(JSON.stringify(message));
  }

  #armSilenceTimer(): void {
    clearTimeout(this.#silenceTimer);
    this.#silenceTimer = setTimeout(() => {
      this.#log.warn(`hub relay: upstream silent for ${this.#silenceMs} ms; reconnecting`);
      this.#socket?.close(1000, "silent upstream");
    }, this.#silenceMs);
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    const delay = this.#backoff.next();
    this.#status(`disconnected; retrying in ${delay} ms`);
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  #status(detail?: string): void {
    const ready = this.healthy();
    this.#hub.setSourceStatus({
      kind: "relay",
      ready,
      detail: ready ? undefined : `${this.#url}: ${detail ?? "not synced"}`,
    });
  }
}
