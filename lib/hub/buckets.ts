/**
 * Buckets: clients with the same view share one bucket. A view is a filter
 * (without its bbox) and the set of tiles covering its bbox, or the whole
 * world; the bucket's delta each tick is made of its segments' deltas
 * (lib/hub/segments.ts), so per-tick work grows with segments and distinct
 * views, not with clients.
 *
 * @module
 */
import type { Flight } from "../../contracts/flight.ts";
import type { Subscription } from "../../contracts/ws.ts";
import type { EncodedMessage } from "./codec.ts";
import { compileFilter, normaliseSubscription } from "./filter.ts";
import { type CommittedState, type FilterGroup, NOWHERE, type Segment, WORLD } from "./segments.ts";
import { tileOf, tilesCovering } from "./tiles.ts";

/** A bucket's part of one tick's changes. */
export interface BucketDelta {
  upserts: Flight[];
  removes: string[];
}

/** The view a subscription gets: its filter without bbox, and its tiles (null: the whole world). */
export interface ViewSpec {
  /** The normalised subscription without bbox. */
  rest: Subscription;
  /** Tiles covering the bbox, ascending; null for the whole world. */
  tiles: number[] | null;
}

/** Splits a subscription into the filter of its segments and the tiles of its bbox. */
export function viewSpec(sub: Subscription = {}): ViewSpec {
  const n = normaliseSubscription(sub);
  const { bbox, ...rest } = n;
  return { rest, tiles: bbox ? tilesCovering(bbox) : null };
}

/**
 * What a client with subscription `sub` receives: its filter without the
 * bbox, within the tiles covering the bbox (a superset of `matches(f, sub)`).
 */
export function viewPredicate(sub: Subscription = {}): (flight: Flight) => boolean {
  const { rest, tiles } = viewSpec(sub);
  const match = compileFilter(rest);
  if (tiles === null) return match;
  const set = new Set(tiles);
  return (f) => match(f) && set.has(tileOf(f.position.lat, f.position.lon));
}

/** Clients (`M`, whatever the edge uses) sharing one view. */
export class Bucket<M> {
  /** Canonical key of the view (filter group key and tiles). */
  readonly key: string;
  /** The normalised subscription of its first client (all share its view). */
  readonly filter: Subscription;
  /** The clients in this bucket. */
  readonly members: Set<M> = new Set();
  /** Its segments, in tile order (one, {@link WORLD}, for a whole-world view). */
  readonly segments: readonly Segment[];
  readonly group: FilterGroup;
  readonly #tiles: Set<number> | null;
  #snapshot: { seq: number; message: EncodedMessage } | undefined;

  constructor(key: string, filter: Subscription, options: {
    group: FilterGroup;
    tiles: number[] | null;
    state: CommittedState;
  }) {
    this.key = key;
    this.filter = normaliseSubscription(filter);
    this.group = options.group;
    this.#tiles = options.tiles ? new Set(options.tiles) : null;
    const tiles = options.tiles ?? [WORLD];
    this.segments = tiles.map((t) => options.group.segment(t, options.state));
    for (const s of this.segments) s.refs++;
  }

  /** Releases its segments (the bucket is being dropped). */
  dispose(): void {
    for (const s of this.segments) {
      s.refs--;
      this.group.release(s);
    }
  }

  /** True for a whole-world view. */
  get world(): boolean {
    return this.#tiles === null;
  }

  /** True when `flight` is in this view (its filter and tiles). */
  matches(flight: Flight): boolean {
    return this.group.match(flight) && this.covers(flight.position.lat, flight.position.lon);
  }

  /** True when the position is in this view's tiles (anomalies are sent by position). */
  covers(lat: number, lon: number): boolean {
    return this.#tiles === null || this.#tiles.has(tileOf(lat, lon));
  }

  /**
   * This tick's delta from its segments. An aircraft that moved between two
   * of its tiles is an upsert and not a remove.
   */
  delta(): BucketDelta {
    if (this.segments.length === 1) {
      const s = this.segments[0]!;
      return { upserts: s.upserts, removes: s.removes };
    }
    const upserts: Flight[] = [];
    for (const s of this.segments) for (const f of s.upserts) upserts.push(f);
    return { upserts, removes: this.removes() };
  }

  /**
   * This tick's removes (those of {@link delta}), without merging the
   * upserts: a remove whose aircraft moved to another of this view's tiles
   * is an upsert there (the v1 frames need only these; their upserts are
   * the segments' pieces).
   */
  removes(): string[] {
    if (this.segments.length === 1) return this.segments[0]!.removes;
    const tiles = this.#tiles;
    const out: string[] = [];
    for (const s of this.segments) {
      const { removes, movedTo } = s;
      for (let i = 0; i < removes.length; i++) {
        const to = movedTo[i]!;
        if (to === NOWHERE || tiles === null || !tiles.has(to)) out.push(removes[i]!);
      }
    }
    return out;
  }

  /** The committed flights this view sees. */
  flights(state: CommittedState): Flight[] {
    if (this.segments.length === 1) return this.segments[0]!.flights(state);
    const out: Flight[] = [];
    for (const s of this.segments) for (const f of s.flights(state)) out.push(f);
    return out;
  }

  /** Forgets a memoised snapshot older than `seq` (it can be megabytes; it is never sent again). */
  dropSnapshotBefore(seq: number): void {
    if (this.#snapshot && this.#snapshot.seq < seq) this.#snapshot = undefined;
  }

  /** The memoised snapshot message for `seq`, built by `build` on first use. */
  snapshotMessage(seq: number, build: () => EncodedMessage): EncodedMessage {
    if (this.#snapshot?.seq !== seq) this.#snapshot = { seq, message: build() };
    return this.#snapshot.message;
  }
}
