/**
 * The hub's pure core: cache, buckets, seq, tick and snapshots. The WebSocket
 * edge (services/web/hub.ts) owns sockets and timers and calls this.
 *
 * Seq: one global tick counter shared by every bucket. Each tick sends every
 * bucket a delta with the next seq, an empty one when nothing changed for
 * it (clients see continuity and liveness). A snapshot carries the seq of
 * the last tick, whose state it is; the client's next delta is seq + 1.
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type { Flight } from "../../contracts/flight.ts";
import type { Subscription } from "../../contracts/ws.ts";
import { AnomalyLog } from "./anomalies.ts";
import { Bucket } from "./buckets.ts";
import { type ChangeSet, FlightCache, type UpsertOptions, type UpsertResult } from "./cache.ts";
import { encode as defaultEncode, EncodedMessage, type EncodeFn } from "./codec.ts";
import { compileFilter, subscriptionKey } from "./filter.ts";

export interface HubCoreOptions {
  /** Seconds without contact after which an aircraft is removed. */
  staleAfterSeconds: number;
  /** How long anomaly events are kept for new clients, ms. */
  anomalyWindowMs: number;
  /** Encoder (tests count its calls). */
  encode?: EncodeFn;
}

/** One bucket's part of a tick. */
export interface BucketFrames<M> {
  bucket: Bucket<M>;
  /** The delta, encoded at most once per encoding. */
  message: EncodedMessage;
  /** upserts + removes in it. */
  changes: number;
}

export interface TickResult<M> {
  seq: number;
  serverTimeMs: number;
  /** One entry per bucket (buckets without changes share one empty delta message). */
  deltas: BucketFrames<M>[];
  /** Anomaly messages to broadcast to every client, in arrival order. */
  anomalies: EncodedMessage[];
  /** What the cache committed. */
  changes: ChangeSet;
}

export class HubCore<M> {
  readonly #cache: FlightCache;
  readonly #anomalies: AnomalyLog;
  readonly #encode: EncodeFn;
  readonly #buckets = new Map<string, Bucket<M>>();
  readonly #memberOf = new Map<M, Bucket<M>>();
  #pendingAnomalies: EncodedMessage[] = [];
  #seq = 0;

  constructor(options: HubCoreOptions) {
    this.#encode = options.encode ?? defaultEncode;
    this.#cache = new FlightCache({ staleAfterSeconds: options.staleAfterSeconds });
    this.#anomalies = new AnomalyLog({ windowMs: options.anomalyWindowMs, encode: this.#encode });
  }

  /** Offers one flight state to the cache; sent with the next tick when taken. */
  ingest(flight: Flight, options: UpsertOptions): UpsertResult {
    return this.#cache.upsert(flight, options);
  }

  /** Removes one aircraft at the next tick (relay mode). */
  remove(icao24: string): boolean {
    return this.#cache.remove(icao24);
  }

  /** Removes aircraft unseen for the stale threshold at `nowSeconds`; returns them. */
  sweep(nowSeconds: number): string[] {
    return this.#cache.sweepStale(nowSeconds);
  }

  /** Records an anomaly event; queued for the next tick when new or changed. */
  ingestAnomaly(event: AnomalyEvent, nowMs: number): boolean {
    const message = this.#anomalies.add(event, nowMs);
    if (message) this.#pendingAnomalies.push(message);
    return message !== null;
  }

  /** Puts `member` in the bucket of `filter` (leaving its previous one). */
  join(member: M, filter: Subscription = {}): Bucket<M> {
    const key = subscriptionKey(filter);
    const previous = this.#memberOf.get(member);
    if (previous?.key === key) return previous;
    if (previous) this.leave(member);
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = new Bucket<M>(key, filter, this.#cache.committed());
      this.#buckets.set(key, bucket);
    }
    bucket.members.add(member);
    this.#memberOf.set(member, bucket);
    return bucket;
  }

  /** Takes `member` out of its bucket; an empty bucket is dropped. */
  leave(member: M): void {
    const bucket = this.#memberOf.get(member);
    if (!bucket) return;
    this.#memberOf.delete(member);
    bucket.members.delete(member);
    if (bucket.members.size === 0) this.#buckets.delete(bucket.key);
  }

  bucketOf(member: M): Bucket<M> | undefined {
    return this.#memberOf.get(member);
  }

  /**
   * Commits the cache and builds every bucket's delta with the next seq.
   * Nothing is encoded here: frames are encoded on first use, once per
   * encoding.
   */
  tick(nowMs: number): TickResult<M> {
    const changes = this.#cache.commit();
    const seq = ++this.#seq;
    // The whole world's count, for "aircraft in view / in total" on viewport clients.
    const total = this.#cache.committedSize;
    let empty: EncodedMessage | undefined;
    const deltas: BucketFrames<M>[] = [];
    for (const bucket of this.#buckets.values()) {
      const { upserts, removes } = bucket.apply(changes);
      const count = upserts.length + removes.length;
      if (count === 0) {
        empty ??= this.#message({
          type: "delta",
          seq,
          server_time_ms: nowMs,
          upserts: [],
          removes: [],
          total,
        });
        deltas.push({ bucket, message: empty, changes: 0 });
      } else {
        const message = this.#message({
          type: "delta",
          seq,
          server_time_ms: nowMs,
          upserts,
          removes,
          total,
        });
        deltas.push({ bucket, message, changes: count });
      }
    }
    const anomalies = this.#pendingAnomalies;
    this.#pendingAnomalies = [];
    return { seq, serverTimeMs: nowMs, deltas, anomalies, changes };
  }

  /** The snapshot message of `bucket` at the current seq (built once per bucket and seq). */
  snapshotMessage(bucket: Bucket<M>, nowMs: number): EncodedMessage {
    return bucket.snapshotMessage(this.#seq, () =>
      this.#message({
        type: "snapshot",
        seq: this.#seq,
        server_time_ms: nowMs,
        flights: bucket.flights(this.#cache.committed(), (id) => this.#cache.getCommitted(id)),
        total: this.#cache.committedSize,
      }));
  }

  /** Committed flights matching `filter` (the last tick's state), for the HTTP API. */
  snapshot(filter: Subscription = {}): Flight[] {
    const bucket = this.#buckets.get(subscriptionKey(filter));
    if (bucket) {
      return bucket.flights(this.#cache.committed(), (id) => this.#cache.getCommitted(id));
    }
    const match = compileFilter(filter);
    const out: Flight[] = [];
    for (const f of this.#cache.committed()) if (match(f)) out.push(f);
    return out;
  }

  /**
   * Anomaly messages in the window (received since `sinceMs`, if given),
   * except those still waiting for the next tick's broadcast.
   */
  recentAnomalies(nowMs: number, sinceMs?: number): EncodedMessage[] {
    const recent = this.#anomalies.recent(nowMs, sinceMs);
    if (this.#pendingAnomalies.length === 0) return recent;
    const pending = new Set(this.#pendingAnomalies);
    return recent.filter((m) => !pending.has(m));
  }

  /** Seq of the last tick (0 before the first). */
  get seq(): number {
    return this.#seq;
  }

  /** Aircraft in the cache (latest view). */
  get flightCount(): number {
    return this.#cache.size;
  }

  get bucketCount(): number {
    return this.#buckets.size;
  }

  get anomalyCount(): number {
    return this.#anomalies.size;
  }

  #message(message: ConstructorParameters<typeof EncodedMessage>[0]): EncodedMessage {
    return new EncodedMessage(message, this.#encode);
  }
}
