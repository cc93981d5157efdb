/**
 * The live connection to `/ws`: MessagePack by default, the protocol state
 * machine, reconnection with exponential backoff and jitter, an
 * application-level ping to notice a dead link, and the subscription
 * re-sent after every reconnect. The socket and the timers are injectable,
 * so this runs (and is tested) without a browser.
 *
 * @module
 */
import type { ClientMessage, Subscription } from "../../contracts/ws.ts";
import { Backoff, type BackoffOptions } from "../backoff.ts";
import { decodeServerFrame } from "./decode.ts";
import { type ProtocolAction, ProtocolState } from "./protocol.ts";

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
 * `MSGPACK_SUBPROTOCOL` and `JSON_SUBPROTOCOL` of contracts/ws.ts, repeated
 * here because importing that module would bundle zod into the page
 * (tests/client_connection_test.ts checks they stay equal).
 */
export const MSGPACK_SUBPROTOCOL = "skysentinel.v1.msgpack";
export const JSON_SUBPROTOCOL = "skysentinel.v1.json";

export type SocketFactory = (url: string, protocols: string[]) => SocketLike;

export type ConnectionStatus = "connecting" | "live" | "reconnecting" | "stopped";

export interface ConnectionOptions {
  /** Absolute ws:// or wss:// URL. */
  url: string;
  /** Default `msgpack`. */
  encoding?: "msgpack" | "json";
  socket?: SocketFactory;
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
  readonly protocol = new ProtocolState();
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

  constructor(options: ConnectionOptions, handlers: ConnectionHandlers) {
    this.#options = options;
    this.#handlers = handlers;
    this.#backoff = new Backoff(options.backoff, options.random ?? Math.random);
  }

  get status(): ConnectionStatus {
    return this.#status;
  }

  /** The subprotocol asked for. */
  get subprotocol(): string {
    return (this.#options.encoding ?? "msgpack") === "msgpack"
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
    this.protocol.reset();
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
    const decoded = decodeServerFrame(data);
    this.stats.frames++;
    this.stats.bytes += decoded.bytes;
    if (!decoded.ok) {
      this.stats.badFrames++;
      return;
    }
    const actions = this.protocol.receive(decoded.message, now);
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
    this.protocol.subscribed();
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
      this.protocol.poll(this.#now()).forEach((a) => {
        if (a.kind === "send") this.send(a.message);
      });
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
