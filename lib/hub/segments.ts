/**
 * Segments: one tile (or the whole world) of one filter. The hub keeps the
 * aircraft each segment's clients see, and each tick computes every
 * segment's part of the changes once (and, for the binary encoding, encodes
 * it once), whatever the number of clients whose view includes it.
 *
 * @module
 */
import type { Flight } from "../../contracts/flight.ts";
import type { Subscription } from "../../contracts/ws.ts";
import { msgpackElements, utf8Length } from "./codec.ts";
import { compileFilter, type FlightPredicate, isUnfiltered } from "./filter.ts";
import { BinaryTracker } from "./v2/tracker.ts";

/** The tile number of the whole-world segment. */
export const WORLD = -1;
/** {@link Segment.movedTo} of a remove that is not a move to another tile of the same filter. */
export const NOWHERE = -2;

/** Read access to the committed state, by tile. */
export interface CommittedState {
  get(icao24: string): Flight | undefined;
  all(): Iterable<Flight>;
  /** icao24 of the committed aircraft in `tile`. */
  inTile(tile: number): Iterable<string>;
}

export class Segment {
  /** {@link WORLD} or a tile of lib/hub/tiles.ts. */
  readonly tile: number;
  readonly group: FilterGroup;
  /** Buckets (views) that include this segment. */
  refs = 0;
  /** This tick's part of the changes (reset every tick). */
  upserts: Flight[] = [];
  removes: string[] = [];
  /**
   * Per remove, the tile of this filter the aircraft moved to in this tick
   * (an upsert there), or {@link NOWHERE}: a view of several tiles drops the
   * removes of moves within it without merging its segments' upserts.
   */
  movedTo: number[] = [];
  /** This tick's binary segment, or null when nothing changed for it (or no tracker). */
  binary: Uint8Array<ArrayBuffer> | null = null;
  #json: string | undefined;
  #jsonBytes = -1;
  #msgpack: Uint8Array<ArrayBuffer> | undefined;
  /** Aircraft seen here; unused for the unfiltered world (every committed aircraft). */
  readonly #visible = new Set<string>();
  readonly #all: boolean;
  #tracker: BinaryTracker | undefined;
  #snapshot: { seq: number; base: number; bytes: Uint8Array<ArrayBuffer> } | undefined;

  constructor(group: FilterGroup, tile: number, state: CommittedState) {
    this.group = group;
    this.tile = tile;
    this.#all = tile === WORLD && group.unfiltered;
    if (this.#all) return;
    if (tile === WORLD) {
      for (const f of state.all()) if (group.match(f)) this.#visible.add(f.icao24);
    } else {
      for (const id of state.inTile(tile)) {
        const f = state.get(id);
        if (f && group.match(f)) this.#visible.add(id);
      }
    }
  }

  /** Adds an upsert for this tick. */
  upsert(f: Flight): void {
    if (!this.#all) this.#visible.add(f.icao24);
    this.upserts.push(f);
  }

  /**
   * Takes `icao24` out; adds a remove for this tick when it was seen here.
   * `movedTo`: the tile of this filter it was upserted in this tick, if any.
   */
  remove(icao24: string, movedTo = NOWHERE): void {
    if (this.#all || this.#visible.delete(icao24)) {
      this.removes.push(icao24);
      this.movedTo.push(movedTo);
    }
  }

  /** True when `icao24` is seen here. */
  has(icao24: string): boolean {
    return this.#all || this.#visible.has(icao24);
  }

  /** Forgets last tick's changes (and its snapshot bytes, now out of date). */
  reset(): void {
    if (this.upserts.length > 0) this.upserts = [];
    if (this.removes.length > 0) [this.removes, this.movedTo] = [[], []];
    this.binary = null;
    this.#json = undefined;
    this.#jsonBytes = -1;
    this.#msgpack = undefined;
    this.#snapshot = undefined;
  }

  /**
   * This tick's upserts as JSON objects joined by commas, encoded once for
   * every view: the array's JSON without its brackets (one native call, not
   * one string per flight and a join).
   */
  jsonUpserts(): string {
    return this.#json ??= this.upserts.length === 0
      ? ""
      : JSON.stringify(this.upserts).slice(1, -1);
  }

  /** UTF-8 size of {@link jsonUpserts}, bytes (the views' JSON frame sizes are sums of these). */
  jsonUpsertsBytes(): number {
    if (this.#jsonBytes < 0) this.#jsonBytes = utf8Length(this.jsonUpserts());
    return this.#jsonBytes;
  }

  /** This tick's upserts as concatenated MessagePack maps, encoded once for every view. */
  msgpackUpserts(): Uint8Array<ArrayBuffer> {
    return this.#msgpack ??= msgpackElements(this.upserts);
  }

  /**
   * Encodes this tick's binary segment when a tracker exists (after the
   * changes are in), relative to the frame's time base and last_contact
   * reference.
   */
  encodeBinary(base: number, lc0: number): void {
    if (!this.#tracker) return;
    this.binary = this.upserts.length || this.removes.length
      ? this.#tracker.advance(this.upserts, this.removes, base, {
        lc0,
        // A whole-world segment is its views' only one.
        alone: this.tile === WORLD,
      })
      : null;
  }

  /** The committed flights seen here. */
  flights(state: CommittedState): Flight[] {
    if (this.#all) return [...state.all()];
    const out: Flight[] = [];
    for (const id of this.#visible) {
      const f = state.get(id);
      if (f) out.push(f);
    }
    return out;
  }

  /**
   * The binary snapshot segment at `seq` (relative to `base`), memoised.
   * Starts the tracker on first use: from then on the segment is encoded
   * every tick.
   */
  binarySnapshot(seq: number, base: number, state: CommittedState): Uint8Array<ArrayBuffer> {
    this.#tracker ??= new BinaryTracker(this.flights(state));
    if (this.#snapshot?.seq !== seq || this.#snapshot.base !== base) {
      this.#snapshot = { seq, base, bytes: this.#tracker.snapshot(base) };
    }
    return this.#snapshot.bytes;
  }

  /** True once a binary client has asked for this segment. */
  get tracked(): boolean {
    return this.#tracker !== undefined;
  }
}

/** Clients' filters without their bbox: the segments of one such filter. */
export class FilterGroup {
  readonly key: string;
  /** The normalised filter, bbox removed. */
  readonly filter: Subscription;
  readonly match: FlightPredicate;
  readonly unfiltered: boolean;
  readonly tiles: Map<number, Segment> = new Map();
  world: Segment | undefined;

  constructor(key: string, filter: Subscription) {
    this.key = key;
    this.filter = filter;
    this.match = compileFilter(filter);
    this.unfiltered = isUnfiltered(filter);
  }

  /** The segment of `tile`, created (from the committed state) when missing. */
  segment(tile: number, state: CommittedState): Segment {
    if (tile === WORLD) return this.world ??= new Segment(this, WORLD, state);
    let s = this.tiles.get(tile);
    if (!s) this.tiles.set(tile, s = new Segment(this, tile, state));
    return s;
  }

  /** Drops a segment no bucket uses. */
  release(segment: Segment): void {
    if (segment.refs > 0) return;
    if (segment.tile === WORLD) this.world = undefined;
    else this.tiles.delete(segment.tile);
  }

  get empty(): boolean {
    return this.world === undefined && this.tiles.size === 0;
  }

  /**
   * Routes one committed upsert: `tile` is the aircraft's tile now, `prevTile`
   * the one of its previous committed state (undefined when new).
   */
  route(f: Flight, tile: number, prevTile: number | undefined): void {
    const match = this.match(f);
    if (this.world) {
      if (match) this.world.upsert(f);
      else this.world.remove(f.icao24);
    }
    if (this.tiles.size === 0) return;
    const here = this.tiles.get(tile);
    if (prevTile !== undefined && prevTile !== tile) {
      // A view with both tiles has it as an upsert (here exists when a view has `tile`).
      this.tiles.get(prevTile)?.remove(f.icao24, match && here ? tile : NOWHERE);
    }
    if (!here) return;
    if (match) here.upsert(f);
    else here.remove(f.icao24);
  }

  /** Routes one removal. */
  routeRemove(icao24: string, prevTile: number | undefined): void {
    this.world?.remove(icao24);
    if (prevTile !== undefined) this.tiles.get(prevTile)?.remove(icao24);
  }
}
