/**
 * Subscription buckets: clients with the same normalised filter share one
 * bucket, so each tick computes and encodes a delta once per bucket, not
 * once per client. A bucket remembers which aircraft its clients currently
 * see, so one that leaves the filter is sent as a remove.
 *
 * @module
 */
import type { Flight } from "../../contracts/flight.ts";
import type { Subscription } from "../../contracts/ws.ts";
import type { ChangeSet } from "./cache.ts";
import type { EncodedMessage } from "./codec.ts";
import {
  compileFilter,
  type FlightPredicate,
  isUnfiltered,
  normaliseSubscription,
} from "./filter.ts";

/** A bucket's part of one tick's changes. */
export interface BucketDelta {
  upserts: Flight[];
  removes: string[];
}

/** Clients (`M`, whatever the edge uses) sharing one filter. */
export class Bucket<M> {
  /** Canonical key of {@link filter} (see `subscriptionKey`). */
  readonly key: string;
  /** The normalised filter. */
  readonly filter: Subscription;
  /** The clients in this bucket. */
  readonly members: Set<M> = new Set();
  readonly #match: FlightPredicate;
  /** Unfiltered buckets see every committed aircraft and need no visible set. */
  readonly #all: boolean;
  readonly #visible = new Set<string>();
  #snapshot: { seq: number; message: EncodedMessage } | undefined;

  /** `committed`: the cache's committed flights, to seed the visible set. */
  constructor(key: string, filter: Subscription, committed: Iterable<Flight>) {
    this.key = key;
    this.filter = normaliseSubscription(filter);
    this.#all = isUnfiltered(this.filter);
    this.#match = compileFilter(this.filter);
    if (!this.#all) {
      for (const f of committed) if (this.#match(f)) this.#visible.add(f.icao24);
    }
  }

  /** True when `flight` passes this bucket's filter. */
  matches(flight: Flight): boolean {
    return this.#match(flight);
  }

  /** This bucket's delta for one commit; updates the visible set. */
  apply(changes: ChangeSet): BucketDelta {
    if (this.#all) return { upserts: changes.upserts, removes: changes.removes };
    const upserts: Flight[] = [];
    const removes: string[] = [];
    for (const f of changes.upserts) {
      if (this.#match(f)) {
        upserts.push(f);
        this.#visible.add(f.icao24);
      } else if (this.#visible.delete(f.icao24)) removes.push(f.icao24);
    }
    for (const icao24 of changes.removes) {
      if (this.#visible.delete(icao24)) removes.push(icao24);
    }
    return { upserts, removes };
  }

  /** The committed flights this bucket sees; `lookup` maps icao24 to the committed state. */
  flights(committed: Iterable<Flight>, lookup: (icao24: string) => Flight | undefined): Flight[] {
    if (this.#all) return [...committed];
    const out: Flight[] = [];
    for (const icao24 of this.#visible) {
      const f = lookup(icao24);
      if (f) out.push(f);
    }
    return out;
  }

  /** The memoised snapshot message for `seq`, built by `build` on first use. */
  snapshotMessage(seq: number, build: () => EncodedMessage): EncodedMessage {
    if (this.#snapshot?.seq !== seq) this.#snapshot = { seq, message: build() };
    return this.#snapshot.message;
  }
}
