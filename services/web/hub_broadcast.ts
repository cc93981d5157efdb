/**
 * The tick broadcaster: hands one tick's frames to the clients (each
 * bucket's anomalies and delta to its members), and owns the slow-client
 * policy: a client over WS_MAX_BUFFERED_BYTES is skipped, gets a snapshot at
 * the current seq (and the anomalies it missed) once it drains, and is
 * closed 4000 `slow_consumer` after the grace period. The tick never waits
 * for a socket.
 *
 * @module
 */
import type { Bucket } from "../../lib/hub/buckets.ts";
import type { HubCore, TickResult } from "../../lib/hub/core.ts";
import type { EncodedMessage } from "../../lib/hub/codec.ts";
import type { HubMetrics } from "../../lib/hub/metrics.ts";
import type { ClientSession } from "./hub_session.ts";

export interface BroadcasterOptions {
  core: HubCore<ClientSession>;
  metrics: HubMetrics;
  /** WS_MAX_BUFFERED_BYTES. */
  maxBufferedBytes: number;
  /** How long a client may stay over the limit before it is closed, ms. */
  graceMs: number;
  /** Closes and drops a client. */
  close: (client: ClientSession, code: number, reason: string) => void;
  warn: (message: string) => void;
}

interface PendingDelivery {
  client: ClientSession;
  message: EncodedMessage;
  anomalies: readonly EncodedMessage[];
}

export class TickBroadcaster {
  readonly #o: BroadcasterOptions;
  /** The v1 members of the last tick, until {@link finish}. */
  #pending: { list: PendingDelivery[]; now: number } | null = null;

  constructor(options: BroadcasterOptions) {
    this.#o = options;
  }

  /**
   * Sends one tick: per bucket, its anomalies then its delta, to every
   * member. v2.bin members first, in every bucket, then JSON and
   * MessagePack: a binary frame is the tick's segments put together, while
   * a v1 frame is encoded on first use and costs many times more (the load
   * profile: most of the sending time), so the cheap frames do not wait
   * behind the dear ones. Each client's own order (anomalies, delta) is kept.
   */
  deliver(result: TickResult<ClientSession>, now: number): void {
    this.deliverBinary(result, now);
    this.finish();
  }

  /**
   * The first half of {@link deliver}: the v2.bin members now; the JSON and
   * MessagePack members are noted for {@link finish}. Deno writes a socket's
   * frames only once the current task ends, so a caller that runs `finish`
   * in a later task lets the binary frames leave before the v1 ones are
   * encoded. It must call `finish` before the next commit and before a
   * client changes view or gets a snapshot. Returns true when v1 work is pending.
   */
  deliverBinary(result: TickResult<ClientSession>, now: number): boolean {
    this.finish();
    const later: PendingDelivery[] = [];
    for (const { bucket, message, anomalies } of result.deltas) {
      for (const client of bucket.members) {
        if (!client.open || client.awaitingView) continue;
        if (client.encoding !== "bin") {
          later.push({ client, message, anomalies });
          continue;
        }
        this.#deliverOne(client, { message, anomalies }, now);
      }
    }
    if (later.length > 0) this.#pending = { list: later, now };
    return this.#pending !== null;
  }

  /** True while {@link deliverBinary} left JSON and MessagePack members to {@link finish}. */
  get pending(): boolean {
    return this.#pending !== null;
  }

  /** Sends the JSON and MessagePack members their part of the last tick. No-op when none is pending. */
  finish(): void {
    const pending = this.#pending;
    if (!pending) return;
    this.#pending = null;
    for (const d of pending.list) {
      if (d.client.open && !d.client.awaitingView) this.#deliverOne(d.client, d, pending.now);
    }
  }

  #deliverOne(
    client: ClientSession,
    d: { message: EncodedMessage; anomalies: readonly EncodedMessage[] },
    now: number,
  ): void {
    // A client that owes a snapshot gets these anomalies with it instead.
    if (d.anomalies.length > 0 && !client.needsSnapshot) {
      for (const a of d.anomalies) client.send(a);
    }
    this.#deliverDelta(client, d.message, now);
  }

  /** The bucket's snapshot at the current seq (then the anomalies a slow client missed). */
  sendSnapshot(client: ClientSession, now: number): void {
    this.finish();
    if (client.overBuffer(this.#o.maxBufferedBytes)) return this.markSlow(client, now);
    const bucket = this.#o.core.bucketOf(client);
    if (!bucket) return;
    const missedSince = client.needsSnapshot ? client.missedSinceMs : null;
    client.needsSnapshot = false;
    client.slowSince = null;
    client.missedSinceMs = null;
    client.send(this.#o.core.snapshotMessage(bucket, now));
    if (missedSince !== null) {
      for (const a of this.#o.core.recentAnomalies(now, missedSince, bucket)) client.send(a);
    }
  }

  /**
   * The recent anomalies in the client's view (after its first snapshot);
   * with `previous` (its view before a `subscribe`), only those it did not cover.
   */
  sendRecentAnomalies(client: ClientSession, now: number, previous?: Bucket<ClientSession>): void {
    const bucket = this.#o.core.bucketOf(client);
    if (!bucket || bucket === previous) return;
    const seen = previous ? this.#o.core.recentAnomalies(now, undefined, previous) : [];
    for (const a of this.#o.core.recentAnomalies(now, undefined, bucket)) {
      if (!seen.includes(a)) client.send(a);
    }
  }

  markSlow(client: ClientSession, now: number): void {
    if (client.slowSince === null) {
      client.slowSince = performance.now();
      client.missedSinceMs = now;
      this.#o.metrics.slow.inc();
    }
    client.needsSnapshot = true;
    if (performance.now() - client.slowSince > this.#o.graceMs) {
      this.#o.warn(
        `hub: closing a slow consumer (${client.socket.bufferedAmount} bytes unsent)`,
      );
      this.#o.close(client, 4000, "slow_consumer");
    }
  }

  /** This tick's delta, or the snapshot a drained slow client is owed. */
  #deliverDelta(client: ClientSession, delta: EncodedMessage, now: number): void {
    if (client.overBuffer(this.#o.maxBufferedBytes)) return this.markSlow(client, now);
    if (client.needsSnapshot) return this.sendSnapshot(client, now);
    client.send(delta);
  }
}
