/**
 * Frames to protocol actions, per encoding, behind one interface so the
 * connection does not care where decoding happens:
 *
 * - {@link InlineDecoder}: JSON and MessagePack (v1) on the page's thread;
 * - {@link BinaryInlineDecoder}: `skysentinel.v2.bin` on the calling thread
 *   (tests, and browsers without Workers);
 * - {@link WorkerDecoder}: `skysentinel.v2.bin` in a Web Worker
 *   (v2_worker.ts), the browser's default.
 *
 * Each runs the seq rule (lib/hub/seq.ts via ProtocolState) where it
 * decodes, and hands back the actions in frame order.
 *
 * @module
 */
import { decodeServerFrame } from "./decode.ts";
import { type ProtocolAction, ProtocolState, type ProtocolStats } from "./protocol.ts";
import { type BatchAction, BinaryFeed, toProtocolAction, type WireAction } from "./v2_feed.ts";
import type { WorkerRequest } from "./v2_worker.ts";

export type FrameData = string | ArrayBuffer | Uint8Array;

/** Where the actions of decoded frames go. */
export interface DecoderSink {
  actions(actions: ProtocolAction[]): void;
  /**
   * A v2.bin snapshot or delta as its typed arrays, when the sink applies
   * them itself (no flight object per aircraft); without it batches come
   * through {@link DecoderSink.actions} as flights.
   */
  batch?(action: BatchAction): void;
  /** A frame that could not be decoded. */
  bad(reason: string): void;
}

/** `actions` to `sink` in order, batches through `sink.batch` when it has one. */
function deliver(sink: DecoderSink, actions: WireAction[]): void {
  if (actions.length === 0) return;
  if (!sink.batch) return sink.actions(actions.map(toProtocolAction));
  let run: ProtocolAction[] = [];
  for (const a of actions) {
    if (a.kind !== "batch") {
      run.push(a);
      continue;
    }
    if (run.length > 0) sink.actions(run);
    run = [];
    sink.batch(a);
  }
  if (run.length > 0) sink.actions(run);
}

export interface FrameDecoder {
  push(data: FrameData, nowMs: number): void;
  /** A new connection. */
  reset(): void;
  /** A `subscribe` was sent. */
  subscribed(): void;
  /** Re-ask for a snapshot that has not come (the actions come through the sink). */
  poll(nowMs: number): void;
  readonly stats: ProtocolStats;
  close(): void;
}

/** JSON and MessagePack frames, decoded where they arrive. */
export class InlineDecoder implements FrameDecoder {
  readonly protocol = new ProtocolState();
  readonly #sink: DecoderSink;

  constructor(sink: DecoderSink) {
    this.#sink = sink;
  }

  get stats(): ProtocolStats {
    return this.protocol.stats;
  }

  push(data: FrameData, nowMs: number): void {
    const decoded = decodeServerFrame(data);
    if (!decoded.ok) return this.#sink.bad(decoded.reason);
    this.#sink.actions(this.protocol.receive(decoded.message, nowMs));
  }

  reset(): void {
    this.protocol.reset();
  }

  subscribed(): void {
    this.protocol.subscribed();
  }

  poll(nowMs: number): void {
    const a = this.protocol.poll(nowMs);
    if (a.length > 0) this.#sink.actions(a);
  }

  close(): void {}
}

/** `skysentinel.v2.bin` decoded on the calling thread. */
export class BinaryInlineDecoder implements FrameDecoder {
  readonly feed = new BinaryFeed();
  readonly #sink: DecoderSink;

  constructor(sink: DecoderSink) {
    this.#sink = sink;
  }

  get stats(): ProtocolStats {
    return this.feed.protocol.stats;
  }

  push(data: FrameData, nowMs: number): void {
    if (typeof data === "string") return this.#sink.bad("text frame on skysentinel.v2.bin");
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    const bad = this.feed.stats.badFrames;
    const actions = this.feed.receive(bytes, nowMs);
    if (this.feed.stats.badFrames > bad) this.#sink.bad(this.feed.lastError ?? "bad frame");
    deliver(this.#sink, actions);
  }

  reset(): void {
    this.feed.reset();
  }

  subscribed(): void {
    this.feed.subscribed();
  }

  poll(nowMs: number): void {
    deliver(this.#sink, this.feed.poll(nowMs));
  }

  close(): void {}
}

/** The part of a Worker this uses. */
export interface WorkerLike {
  onmessage: ((ev: MessageEvent) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
  terminate(): void;
}

/**
 * `skysentinel.v2.bin` decoded in a Web Worker. The worker may start
 * asynchronously (`worker` is a promise): requests wait for it, in order.
 */
export class WorkerDecoder implements FrameDecoder {
  readonly #sink: DecoderSink;
  #worker: WorkerLike | null = null;
  #queue: { req: WorkerRequest; transfer: Transferable[] }[] = [];
  #stats: ProtocolStats = { snapshots: 0, deltas: 0, stale: 0, gaps: 0, resyncs: 0 };
  #badFrames = 0;
  #closed = false;

  constructor(worker: WorkerLike | Promise<WorkerLike>, sink: DecoderSink) {
    this.#sink = sink;
    Promise.resolve(worker).then((w) => {
      if (this.#closed) return w.terminate();
      w.onmessage = (ev) => this.#reply(ev.data);
      this.#worker = w;
      for (const q of this.#queue) w.postMessage(q.req, q.transfer);
      this.#queue = [];
    }, (e) => sink.bad(`decoder worker failed to start: ${(e as Error).message}`));
  }

  get stats(): ProtocolStats {
    return this.#stats;
  }

  push(data: FrameData, nowMs: number): void {
    if (typeof data === "string") return this.#sink.bad("text frame on skysentinel.v2.bin");
    // The worker takes the buffer (transferred, not copied).
    const buffer = data instanceof Uint8Array ? data.slice().buffer as ArrayBuffer : data;
    this.#post({ op: "frame", data: buffer, now: nowMs }, [buffer]);
  }

  reset(): void {
    this.#post({ op: "reset" }, []);
  }

  subscribed(): void {
    this.#post({ op: "subscribed" }, []);
  }

  poll(nowMs: number): void {
    this.#post({ op: "poll", now: nowMs }, []);
  }

  close(): void {
    this.#closed = true;
    this.#worker?.terminate();
    this.#worker = null;
  }

  #post(req: WorkerRequest, transfer: Transferable[]): void {
    if (this.#closed) return;
    if (this.#worker) this.#worker.postMessage(req, transfer);
    else this.#queue.push({ req, transfer });
  }

  #reply(data: { actions: WireAction[]; stats: ProtocolStats & { badFrames: number } }): void {
    if (this.#closed) return;
    const { badFrames, ...stats } = data.stats;
    this.#stats = stats;
    if (badFrames > this.#badFrames) {
      this.#badFrames = badFrames;
      this.#sink.bad("bad skysentinel.v2.bin frame");
    }
    deliver(this.#sink, data.actions);
  }
}

/**
 * Starts the decoding worker in a browser: the worker module is a lazy
 * chunk of the island bundle; a module worker created from a tiny blob
 * imports it by URL (same origin; the CSP allows `blob:` workers). In Deno
 * the module URL is a file and is started directly.
 */
export async function startDecoderWorker(): Promise<WorkerLike> {
  const { WORKER_MODULE_URL } = await import("./v2_worker.ts");
  if (WORKER_MODULE_URL.startsWith("file:")) {
    return new Worker(WORKER_MODULE_URL, { type: "module" });
  }
  const blob = new Blob([`import ${JSON.stringify(WORKER_MODULE_URL)};\n`], {
    type: "text/javascript",
  });
  return new Worker(URL.createObjectURL(blob), { type: "module" });
}
