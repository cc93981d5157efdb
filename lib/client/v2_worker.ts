/**
 * The Web Worker that decodes `skysentinel.v2.bin` off the page's thread:
 * a {@link BinaryFeed} behind `postMessage`. Page to worker:
 * `{op: "frame", data: ArrayBuffer, now}`, `{op: "reset"}`,
 * `{op: "subscribed"}`, `{op: "poll", now}`; worker to page:
 * `{actions: WireAction[], stats: FeedStats}`, batch arrays transferred
 * (not copied).
 *
 * Imported in a worker scope it serves at once. The page loads this module
 * as a lazy chunk, takes its URL ({@link WORKER_MODULE_URL}) and starts a
 * module worker that imports it (connection.ts), so the island build needs
 * no separate worker entry.
 *
 * @module
 */
import { BinaryFeed, type WireAction } from "./v2_feed.ts";

/** This module's URL once bundled (the chunk a worker imports). */
export const WORKER_MODULE_URL: string = import.meta.url;

/** Page-to-worker messages. */
export type WorkerRequest =
  | { op: "frame"; data: ArrayBuffer; now: number }
  | { op: "reset" }
  | { op: "subscribed" }
  | { op: "poll"; now: number };

interface Scope {
  onmessage: ((ev: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: unknown, transfer: Transferable[]): void;
}

/** Answers the page's requests in `scope` (a worker's global). */
export function serveBinaryFeed(scope: Scope): void {
  const feed = new BinaryFeed();
  scope.onmessage = (ev) => {
    const req = ev.data;
    let actions: WireAction[] = [];
    switch (req.op) {
      case "frame":
        actions = feed.receive(new Uint8Array(req.data), req.now);
        break;
      case "reset":
        feed.reset();
        break;
      case "subscribed":
        feed.subscribed();
        break;
      case "poll":
        actions = feed.poll(req.now);
        break;
    }
    const transfer: Transferable[] = [];
    for (const a of actions) if (a.kind === "batch") transfer.push(a.batch.nums.buffer);
    scope.postMessage({ actions, stats: feed.stats }, transfer);
  };
}

if ("WorkerGlobalScope" in globalThis) serveBinaryFeed(globalThis as unknown as Scope);
