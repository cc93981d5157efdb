/**
 * A uniform grid over latitude/longitude that maps a position to the rules
 * whose area may contain it, so that evaluating an update costs per rule
 * near the aircraft, not per rule in the system.
 *
 * Cells are {@link CELL_DEG} degrees square. A rule is listed in every cell
 * its bounding box touches; a rule that would need more than
 * {@link MAX_CELLS_PER_RULE} cells (a continent-sized circle) is kept in a
 * short "everywhere" list instead and tested on every update, which keeps
 * the memory bounded. Lookups return candidates: the caller still tests the
 * exact geometry.
 *
 * @module
 */
import type { Bounds } from "./geofence.ts";

/** Grid cell size, degrees. 1 degree is ~111 km: about one airport's surroundings. */
export const CELL_DEG = 1;
/** Above this many cells a rule goes to the everywhere list. */
export const MAX_CELLS_PER_RULE = 2_000;

const LAT_CELLS = Math.ceil(180 / CELL_DEG);
const LON_CELLS = Math.ceil(360 / CELL_DEG);

/** A grid of items (rules) by area. */
export class SpatialIndex<T> {
  #cells = new Map<number, T[]>();
  #everywhere: T[] = [];
  #size = 0;

  /** Number of items inserted. */
  get size(): number {
    return this.#size;
  }

  /** Items tested everywhere (too large for the grid). */
  get everywhere(): readonly T[] {
    return this.#everywhere;
  }

  /** Adds `item` covering `bounds`. */
  insert(bounds: Bounds, item: T): void {
    this.#size++;
    const [minLat, minLon, maxLat, maxLon] = bounds;
    const r0 = latRow(minLat);
    const r1 = latRow(maxLat);
    const lonRanges: [number, number][] = minLon <= maxLon
      ? [[lonCol(minLon), lonCol(maxLon)]]
      : [[lonCol(minLon), LON_CELLS - 1], [0, lonCol(maxLon)]];
    let cells = 0;
    for (const [c0, c1] of lonRanges) cells += (r1 - r0 + 1) * (c1 - c0 + 1);
    if (cells > MAX_CELLS_PER_RULE) {
      this.#everywhere.push(item);
      return;
    }
    for (let r = r0; r <= r1; r++) {
      for (const [c0, c1] of lonRanges) {
        for (let c = c0; c <= c1; c++) {
          const key = r * LON_CELLS + c;
          const list = this.#cells.get(key);
          if (list) list.push(item);
          else this.#cells.set(key, [item]);
        }
      }
    }
  }

  /** The items of the cell holding `(lat, lon)` (not including {@link everywhere}). */
  cell(lat: number, lon: number): readonly T[] {
    return this.#cells.get(latRow(lat) * LON_CELLS + lonCol(lon)) ?? EMPTY;
  }
}

const EMPTY: readonly never[] = Object.freeze([]);

function latRow(lat: number): number {
  return Math.min(LAT_CELLS - 1, Math.max(0, Math.floor((lat + 90) / CELL_DEG)));
}

function lonCol(lon: number): number {
  return Math.min(LON_CELLS - 1, Math.max(0, Math.floor((lon + 180) / CELL_DEG)));
}
