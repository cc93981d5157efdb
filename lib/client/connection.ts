/**
 * The live connection to `/ws`: `skysentinel.v2.bin` by default, decoded in
 * a Web Worker (JSON and MessagePack remain selectable), the protocol state
 * machine, reconnection with exponential backoff and jitter, an
 * application-level ping to notice a dead link, and the subscription
 * re-sent after every reconnect. The socket and the timers are injectable,
 * so this runs (and is tested) without a browser.
 *
 * @module
 */
import type { ClientMessage, Subscription } from "../../contracts/ws.ts";
import { Backoff, type BackoffOptions } from "../backoff.ts";
import {
  BinaryInlineDecoder,
  type DecoderSink,
  type FrameDecoder,
  InlineDecoder,
  startDecoderWorker,
  WorkerDecoder,
} from "./frame_decoder.ts";
import type { ProtocolAction, ProtocolStats } from "./protocol.ts";
import type { BatchAction } from "./v2_feed.ts";

/** The part of a WebSocket this client uses. */
export interface SocketLike {
  readonly readyState: number;
  binaryType: string;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/**
 * `BINARY_SUBPROTOCOL`, `MSGPACK_SUBPROTOCOL` and `JSON_SUBPROTOCOL` of
 * contracts/ws.ts, repeated here because importing that module would bundle
 * zod into the page (tests/client_protocol_test.ts checks they stay equal).
 */
export const BINARY_SUBPROTOCOL = "skysentinel.v2.bin";
export const MSGPACK_SUBPROTOCOL = "skysentinel.v1.msgpack";
export const JSON_SUBPROTOCOL = "skysentinel.v1.json";

export type SocketFactory = (url: string, protocols: string[]) => SocketLike;

/** `bin` (skysentinel.v2.bin, the default), `msgpack` or `json`. */
export type Encoding = "bin" | "msgpack" | "json";

export type ConnectionStatus = "connecting" | "live" | "reconnecting" | "stopped";

export interface ConnectionOptions {
  /** Absolute ws:// or wss:// URL. */
  url: string;
  /** Default `bin`. */
  encoding?: Encoding;
  socket?: SocketFactory;
  /**
   * Decoder of v2.bin frames. Default: a Web Worker where the platform has
   * them (the browser), else decoding on this thread.
   */
  binaryDecoder?: "worker" | "inline";
  backoff?: BackoffOptions;
  /** Ping every this many ms while connected. Default 20,000. */
  pingIntervalMs?: number;
  /** Reconnect when no message at all arrived for this long, ms. Default 45,000. */
  silenceTimeoutMs?: number;
  random?: () => number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => number;
  clearTimer?: (id: number) => void;
}

export interface ConnectionHandlers {
  /** Protocol actions to apply (snapshot, delta, anomaly, hello, ...); sends are done already. */
  onAction(action: ProtocolAction): void;
  /**
   * A v2.bin snapshot or delta as typed arrays (applied without a flight
   * object per aircraft); without this handler they come to
   * {@link ConnectionHandlers.onAction} as flights.
   */
  onBatch?(action: BatchAction): void;
  onStatus(status: ConnectionStatus, detail: { attempt: number; retryInMs?: number }): void;
}

/** Counters for the status bar. */
export interface ConnectionStats {
  bytes: number;
  frames: number;
  badFrames: number;
  connects: number;
  /** Client clock of the last frame, ms; null before any. */
  lastFrameAtMs: number | null;
}

export class LiveConnection {
  readonly stats: ConnectionStats = {
    bytes: 0,
    frames: 0,
    badFrames: 0,
    connects: 0,
    lastFrameAtMs: null,
  };
  readonly #options: ConnectionOptions;
  readonly #handlers: ConnectionHandlers;
  #socket: SocketLike | null = null;
  readonly #backoff: Backoff;
  #status: ConnectionStatus = "stopped";
  #retryTimer: number | null = null;
  #pingTimer: number | null = null;
  #filter: Subscription = {};
  #pingId = 0;
  readonly #decoder: FrameDecoder;

  constructor(options: ConnectionOptions, handlers: ConnectionHandlers) {
    this.#options = options;
    this.#handlers = handlers;
    this.#backoff = new Backoff(options.backoff, options.random ?? Math.random);
    const sink: DecoderSink = {
      actions: (a) => this.#onActions(a),
      bad: () => void this.stats.badFrames++,
    };
    if (handlers.onBatch) sink.batch = (a) => handlers.onBatch!(a);
    const encoding = options.encoding ?? "bin";
    const inWorker =
      (options.binaryDecoder ?? (typeof Worker === "undefined" ? "inline" : "worker")) ===
        "worker";
    this.#decoder = encoding !== "bin"
      ? new InlineDecoder(sink)
      : inWorker
      ? new WorkerDecoder(startDecoderWorker(), sink)
      : new BinaryInlineDecoder(sink);
  }

  /** Where frames are decoded: `worker` (v2.bin in a Web Worker), `inline` (v2.bin here) or `main` (v1). */
  get decoding(): "worker" | "inline" | "main" {
    return this.#decoder instanceof WorkerDecoder
      ? "worker"
      : this.#decoder instanceof BinaryInlineDecoder
      ? "inline"
      : "main";
  }

  /** The seq protocol's counters (snapshots, deltas, stale, gaps, resyncs). */
  get protocolStats(): ProtocolStats {
    return this.#decoder.stats;
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  /** The subprotocol asked for. */
  get subprotocol(): string {
    const e = this.#options.encoding ?? "bin";
    return e === "bin"
      ? BINARY_SUBPROTOCOL
      : e === "msgpack"
      ? MSGPACK_SUBPROTOCOL
      : JSON_SUBPROTOCOL;
  }

  start(): void {
    if (this.#status !== "stopped") return;
    this.#open();
  }

  stop(): void {
    this.#setStatus("stopped");
    this.#clearTimers();
    this.#detach(1000, "client stopped");
  }

  /** Stops for good and ends the decoding worker. */
  close(): void {
    this.stop();
    this.#decoder.close();
  }

  /** Closes the socket without letting its late events reach this connection. */
  #detach(code: number, reason: string): void {
    const s = this.#socket;
    this.#socket = null;
    if (!s) return;
    s.onclose =
      s.onmessage =
      s.onerror =
      s.onopen =
        null;
    s.close(code, reason);
  }

  /** Sets the server-side filter; sent now when connected and after every reconnect. */
  subscribe(filter: Subscription): void {
    this.#filter = filter;
    if (this.#status === "live") this.#sendSubscribe();
  }

  send(message: ClientMessage): void {
    const s = this.#socket;
    if (s && s.readyState === 1) s.send(JSON.stringify(message));
  }

  #open(): void {
    this.#setStatus(this.#backoff.attempt === 0 ? "connecting" : "reconnecting");
    this.#decoder.reset();
    const factory = this.#options.socket ??
      ((url: string, protocols: string[]) =>
        new WebSocket(url, protocols) as unknown as SocketLike);
    let socket: SocketLike;
    try {
      socket = factory(this.#options.url, [this.subprotocol]);
    } catch {
      return this.#scheduleReconnect();
    }
    this.#socket = socket;
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      this.stats.connects++;
      this.#touch();
    };
    socket.onmessage = (ev) => this.#onFrame(ev.data);
    socket.onerror = () => {};
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = null;
      this.#scheduleReconnect();
    };
  }

  #onFrame(data: unknown): void {
    const now = this.#now();
    this.stats.lastFrameAtMs = now;
    this.#touch();
    if (!(typeof data === "string" || data instanceof ArrayBuffer || data instanceof Uint8Array)) {
      this.stats.badFrames++;
      return;
    }
    this.stats.frames++;
    this.stats.bytes += typeof data === "string" ? data.length : data.byteLength;
    this.#decoder.push(data, now);
  }

  #onActions(actions: ProtocolAction[]): void {
    for (const action of actions) {
      if (action.kind === "hello") {
        // A working session: the next failure starts the backoff from scratch.
        this.#backoff.reset();
        this.#setStatus("live");
        if (Object.keys(this.#filter).length > 0) this.#sendSubscribe();
      }
      if (action.kind === "send") this.send(action.message);
      this.#handlers.onAction(action);
    }
  }

  #sendSubscribe(): void {
    this.send({ type: "subscribe", filter: this.#filter });
    this.#decoder.subscribed();
  }

  /** Restarts the silence watchdog and the ping timer. */
  #touch(): void {
    if (this.#pingTimer !== null) this.#clear(this.#pingTimer);
    const pingMs = this.#options.pingIntervalMs ?? 20_000;
    const silenceMs = this.#options.silenceTimeoutMs ?? 45_000;
    let quietMs = 0;
    const tick = () => {
      quietMs += pingMs;
      if (quietMs >= silenceMs) {
        // No frame at all for too long (deltas come every few hundred ms): the
        // link is dead even if the socket has not noticed yet.
        this.#detach(4001, "silent");
        return this.#scheduleReconnect();
      }
      this.send({ type: "ping", id: ++this.#pingId });
      this.#decoder.poll(this.#now());
      this.#pingTimer = this.#timer(tick, pingMs);
    };
    this.#pingTimer = this.#timer(tick, pingMs);
  }

  #scheduleReconnect(): void {
    if (this.#status === "stopped") return;
    this.#clearTimers();
    const delay = this.#backoff.next();
    this.#setStatus("reconnecting", delay);
    this.#retryTimer = this.#timer(() => {
      this.#retryTimer = null;
      this.#open();
    }, delay);
  }

  #setStatus(status: ConnectionStatus, retryInMs?: number): void {
    this.#status = status;
    this.#handlers.onStatus(status, {
      attempt: this.#backoff.attempt,
      ...(retryInMs === undefined ? {} : { retryInMs }),
    });
  }

  #clearTimers(): void {
    if (this.#retryTimer !== null) this.#clear(this.#retryTimer);
    if (this.#pingTimer !== null) this.#clear(this.#pingTimer);
    this.#retryTimer = this.#pingTimer = null;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  #timer(fn: () => void, ms: number): number {
    return (this.#options.setTimer ?? ((f, t) => setTimeout(f, t) as unknown as number))(fn, ms);
  }

  #clear(id: number): void {
    (this.#options.clearTimer ?? ((i) => clearTimeout(i)))(id);
  }
}
