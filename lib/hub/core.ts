/**
 * The hub's pure core: cache, tiles, segments and buckets, seq, tick and
 * snapshots. The WebSocket edge (services/web/hub*.ts) owns sockets and
 * timers and calls this.
 *
 * Seq: one global tick counter shared by every bucket. Each tick sends every
 * bucket a delta with the next seq, an empty one when nothing changed for
 * it (clients see continuity and liveness). A snapshot carries the seq of
 * the last tick, whose state it is; the client's next delta is seq + 1.
 *
 * Views: a subscription's bbox is rounded out to the fixed tiles covering it
 * (lib/hub/tiles.ts); its other constraints form a filter group. Each tick
 * routes every committed change to the segments (tile × filter group, or the
 * whole world × filter group) it concerns, once, and encodes each segment's
 * binary part once; a bucket's delta is made of its segments'. So the cost of
 * a tick grows with changes × filter groups, segments and distinct views,
 * never with clients.
 *
 * @module
 */
import type { AnomalyEvent } from "../../contracts/anomaly.ts";
import type { Flight } from "../../contracts/flight.ts";
import type { DeltaMessage, Subscription } from "../../contracts/ws.ts";
import { AnomalyLog } from "./anomalies.ts";
import { Bucket, type BucketDelta, viewSpec } from "./buckets.ts";
import { type ChangeSet, FlightCache, type UpsertOptions, type UpsertResult } from "./cache.ts";
import {
  composeJsonDelta,
  composeMsgpackDelta,
  type DeltaParts,
  encode as defaultEncode,
  EncodedMessage,
  type EncodeFn,
  type FrameBuilders,
  type SizedText,
} from "./codec.ts";
import { compileFilter, subscriptionKey } from "./filter.ts";
import { type CommittedState, FilterGroup, type Segment } from "./segments.ts";
import { tileOf } from "./tiles.ts";
import { composeFrame, FRAME_DELTA, FRAME_SNAPSHOT, timeBase } from "./v2/frame.ts";
import { TIME_UNIT_S } from "./v2/record.ts";

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
  /** Anomaly messages in this bucket's view, to send before the delta. */
  anomalies: readonly EncodedMessage[];
}

export interface TickResult<M> {
  seq: number;
  serverTimeMs: number;
  /** One entry per bucket (buckets without changes share one empty delta message). */
  deltas: BucketFrames<M>[];
  /** Every anomaly message of this tick, in arrival order (each bucket gets those in its view). */
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
  readonly #groups = new Map<string, FilterGroup>();
  /** Tile of every committed aircraft, and the aircraft of every tile. */
  readonly #tileOf = new Map<string, number>();
  readonly #byTile = new Map<number, Set<string>>();
  readonly #state: CommittedState;
  #pendingAnomalies: { event: AnomalyEvent; message: EncodedMessage }[] = [];
  #seq = 0;
  #lastTickMs: number | undefined;
  /** The world count of the last tick (v2.bin deltas repeat it only when it changed). */
  #lastTotal: number | undefined;

  constructor(options: HubCoreOptions) {
    this.#encode = options.encode ?? defaultEncode;
    this.#cache = new FlightCache({ staleAfterSeconds: options.staleAfterSeconds });
    this.#anomalies = new AnomalyLog({ windowMs: options.anomalyWindowMs, encode: this.#encode });
    const cache = this.#cache;
    const byTile = this.#byTile;
    this.#state = {
      get: (id) => cache.getCommitted(id),
      all: () => cache.committed(),
      inTile: (tile) => byTile.get(tile) ?? [],
    };
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
    if (message) this.#pendingAnomalies.push({ event, message });
    return message !== null;
  }

  /** Puts `member` in the bucket of `filter`'s view (leaving its previous one). */
  join(member: M, filter: Subscription = {}): Bucket<M> {
    const spec = viewSpec(filter);
    const groupKey = subscriptionKey(spec.rest);
    const key = `${groupKey}@${spec.tiles ? spec.tiles.join(",") : "world"}`;
    const previous = this.#memberOf.get(member);
    if (previous?.key === key) return previous;
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      let group = this.#groups.get(groupKey);
      if (!group) this.#groups.set(groupKey, group = new FilterGroup(groupKey, spec.rest));
      bucket = new Bucket<M>(key, filter, { group, tiles: spec.tiles, state: this.#state });
      this.#buckets.set(key, bucket);
    }
    // Join the new bucket before leaving the old one, so shared segments survive the move.
    bucket.members.add(member);
    if (previous) this.leave(member);
    this.#memberOf.set(member, bucket);
    return bucket;
  }

  /** Takes `member` out of its bucket; an empty bucket (and unused segments) are dropped. */
  leave(member: M): void {
    const bucket = this.#memberOf.get(member);
    if (!bucket) return;
    this.#memberOf.delete(member);
    bucket.members.delete(member);
    if (bucket.members.size > 0) return;
    this.#buckets.delete(bucket.key);
    bucket.dispose();
    if (bucket.group.empty) this.#groups.delete(bucket.group.key);
  }

  bucketOf(member: M): Bucket<M> | undefined {
    return this.#memberOf.get(member);
  }

  /**
   * Commits the cache, routes the changes to the segments and builds every
   * bucket's delta with the next seq. JSON and MessagePack frames are
   * encoded on first use; binary segments are encoded here, once each.
   */
  tick(nowMs: number): TickResult<M> {
    const changes = this.#cache.commit();
    const seq = ++this.#seq;
    this.#lastTickMs = nowMs;
    const groups = [...this.#groups.values()];
    for (const g of groups) {
      g.world?.reset();
      for (const s of g.tiles.values()) s.reset();
    }
    for (const f of changes.upserts) {
      const tile = tileOf(f.position.lat, f.position.lon);
      const prev = this.#tileOf.get(f.icao24);
      for (const g of groups) g.route(f, tile, prev);
      if (prev !== tile) {
        if (prev !== undefined) this.#byTile.get(prev)?.delete(f.icao24);
        let set = this.#byTile.get(tile);
        if (!set) this.#byTile.set(tile, set = new Set());
        set.add(f.icao24);
        this.#tileOf.set(f.icao24, tile);
      }
    }
    for (const id of changes.removes) {
      const prev = this.#tileOf.get(id);
      for (const g of groups) g.routeRemove(id, prev);
      if (prev !== undefined) this.#byTile.get(prev)?.delete(id);
      this.#tileOf.delete(id);
    }
    const base = timeBase(nowMs);
    const lc0 = commonLastContact(changes.upserts, base);
    for (const g of groups) {
      g.world?.encodeBinary(base, lc0);
      for (const s of g.tiles.values()) s.encodeBinary(base, lc0);
    }
    // The whole world's count, for "in view / in total"; v2.bin deltas carry it when it changed.
    const total = this.#cache.committedSize;
    const binTotal = total === this.#lastTotal ? undefined : total;
    this.#lastTotal = total;
    let empty: EncodedMessage | undefined;
    const pending = this.#pendingAnomalies;
    this.#pendingAnomalies = [];
    const deltas: BucketFrames<M>[] = [];
    const info: TickInfo = { seq, nowMs, total, binTotal, lc0 };
    for (const bucket of this.#buckets.values()) {
      bucket.dropSnapshotBefore(seq);
      let count = 0;
      for (const s of bucket.segments) count += s.upserts.length + s.removes.length;
      const anomalies = pending.length === 0
        ? NO_ANOMALIES
        : pending.filter((a) => inView(bucket, a.event)).map((a) => a.message);
      if (count === 0) {
        empty ??= this.#message(
          { type: "delta", seq, server_time_ms: nowMs, upserts: [], removes: [], total },
          () => composeFrame(FRAME_DELTA, { seq, serverTimeMs: nowMs, total: binTotal }, []),
        );
        deltas.push({ bucket, message: empty, changes: 0, anomalies });
        continue;
      }
      // One object per changed view and tick, its frames built by its methods on first use.
      const frames = bucket.segments.length === 1
        ? new DeltaFrames(bucket, info)
        : new ComposedDeltaFrames(bucket, info);
      deltas.push(
        new BucketTick(bucket, new EncodedMessage(undefined, this.#encode, frames), anomalies),
      );
    }
    return {
      seq,
      serverTimeMs: nowMs,
      deltas,
      anomalies: pending.map((a) => a.message),
      changes,
    };
  }

  /** The snapshot message of `bucket` at the current seq (built once per bucket and seq). */
  snapshotMessage(bucket: Bucket<M>, nowMs: number): EncodedMessage {
    const seq = this.#seq;
    return bucket.snapshotMessage(seq, () => {
      // The binary snapshot is timed at its tick, so segments built for other buckets fit.
      const at = this.#lastTickMs ?? nowMs;
      return this.#message(
        {
          type: "snapshot",
          seq,
          server_time_ms: nowMs,
          flights: bucket.flights(this.#state),
          // The whole world's count, for "in view / in total".
          total: this.#cache.committedSize,
        },
        () =>
          composeFrame(
            FRAME_SNAPSHOT,
            { seq, serverTimeMs: at, total: this.#cache.committedSize },
            bucket.segments.map((s) => s.binarySnapshot(seq, timeBase(at), this.#state)),
          ),
      );
    });
  }

  /** Committed flights matching `filter` exactly (the last tick's state), for the HTTP API. */
  snapshot(filter: Subscription = {}): Flight[] {
    const match = compileFilter(filter);
    const out: Flight[] = [];
    for (const f of this.#cache.committed()) if (match(f)) out.push(f);
    return out;
  }

  /**
   * Anomaly messages in the window (received since `sinceMs`, if given, and
   * in `bucket`'s view, if given), except those still waiting for the next
   * tick's broadcast.
   */
  recentAnomalies(nowMs: number, sinceMs?: number, bucket?: Bucket<M>): EncodedMessage[] {
    const recent = this.#anomalies.recent(
      nowMs,
      sinceMs,
      bucket && ((e) => inView(bucket, e)),
    );
    if (this.#pendingAnomalies.length === 0) return recent;
    const pending = new Set(this.#pendingAnomalies.map((a) => a.message));
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

  /** Segments kept (tiles and whole-world views, per filter group). */
  get segmentCount(): number {
    let n = 0;
    for (const g of this.#groups.values()) n += g.tiles.size + (g.world ? 1 : 0);
    return n;
  }

  get anomalyCount(): number {
    return this.#anomalies.size;
  }

  #message(
    message: ConstructorParameters<typeof EncodedMessage>[0],
    binary: () => Uint8Array<ArrayBuffer>,
  ): EncodedMessage {
    return new EncodedMessage(message, this.#encode, { binary });
  }
}

/** True when an event is in the bucket's view; events without a position go to every view. */
function inView<M>(
  bucket: Bucket<M>,
  event: { position?: { lat: number; lon: number } | null },
): boolean {
  const p = event.position;
  return !p || typeof p.lat !== "number" || bucket.covers(p.lat, p.lon);
}

/**
 * The last_contact most of a tick's upserts share (unix tenths of a
 * second, as v2.bin quantises it), or `base` when there are none: v2.bin
 * records with it need not carry it (docs/protocol.md).
 */
function commonLastContact(upserts: readonly Flight[], base: number): number {
  const counts = new Map<number, number>();
  let best = base;
  let most = 0;
  for (const f of upserts) {
    const lc = Math.round(f.last_contact_unix / TIME_UNIT_S);
    const n = (counts.get(lc) ?? 0) + 1;
    counts.set(lc, n);
    if (n > most) [best, most] = [lc, n];
  }
  return best;
}

/** What every view's delta of one tick shares. */
interface TickInfo {
  seq: number;
  nowMs: number;
  /** The whole world's count (v1 frames carry it every tick). */
  total: number;
  /** The same for v2.bin, undefined when unchanged since the last tick. */
  binTotal: number | undefined;
  /** The tick's common last_contact (v2.bin). */
  lc0: number;
}

const NO_ANOMALIES: readonly EncodedMessage[] = Object.freeze([]);

/**
 * The delta of one view in one tick, built on first use: its v2.bin frame
 * from the segments' binary parts, its message (merged upserts and removes)
 * only when read. Methods, not closures and accessor literals: a tick makes
 * one of these per changed view.
 */
class DeltaFrames<M> implements FrameBuilders {
  readonly type = "delta";
  protected readonly bucket: Bucket<M>;
  protected readonly info: TickInfo;
  #merged: BucketDelta | undefined;
  #removes: string[] | undefined;

  constructor(bucket: Bucket<M>, info: TickInfo) {
    this.bucket = bucket;
    this.info = info;
  }

  binary(): Uint8Array<ArrayBuffer> {
    const { seq, nowMs, binTotal, lc0 } = this.info;
    const parts: Uint8Array[] = [];
    for (const s of this.bucket.segments) if (s.binary) parts.push(s.binary);
    return composeFrame(FRAME_DELTA, { seq, serverTimeMs: nowMs, total: binTotal, lc0 }, parts);
  }

  message(): DeltaMessage {
    const merged = this.#merged ??= this.bucket.delta();
    return {
      type: "delta",
      seq: this.info.seq,
      server_time_ms: this.info.nowMs,
      upserts: merged.upserts,
      removes: this.removes(),
      total: this.info.total,
    };
  }

  /** The view's removes, without merging its upserts unless already merged. */
  removes(): string[] {
    return this.#removes ??= this.#merged ? this.#merged.removes : this.bucket.removes();
  }
}

/**
 * A view of several tiles: its JSON and MessagePack frames are made of the
 * segments' upserts, encoded once per tick for every view that has them.
 */
class ComposedDeltaFrames<M> extends DeltaFrames<M> {
  json(): SizedText {
    return composeJsonDelta(this.#parts());
  }

  msgpack(): Uint8Array<ArrayBuffer> {
    return composeMsgpackDelta(this.#parts());
  }

  /** What both encodings compose the frame of. */
  #parts(): DeltaParts {
    const { seq, nowMs, total } = this.info;
    return {
      ...partsOf(this.bucket.segments),
      seq,
      serverTimeMs: nowMs,
      removes: this.removes(),
      total,
    };
  }
}

/** One bucket's part of a tick (a class: its `changes` is read only by benchmarks). */
class BucketTick<M> implements BucketFrames<M> {
  readonly bucket: Bucket<M>;
  readonly message: EncodedMessage;
  readonly anomalies: readonly EncodedMessage[];

  constructor(bucket: Bucket<M>, message: EncodedMessage, anomalies: readonly EncodedMessage[]) {
    this.bucket = bucket;
    this.message = message;
    this.anomalies = anomalies;
  }

  get changes(): number {
    const m = this.message.message as DeltaMessage;
    return m.upserts.length + m.removes.length;
  }
}

/** The per-segment upsert fragments of a view. */
function partsOf(segments: readonly Segment[]) {
  return {
    json: () => segments.map((s) => ({ text: s.jsonUpserts(), bytes: s.jsonUpsertsBytes() })),
    msgpack: () => segments.map((s) => ({ count: s.upserts.length, bytes: s.msgpackUpserts() })),
  };
}
