/**
 * The hub's fixed tile grid (docs/protocol.md, "Viewport tiles"): 3° × 3°
 * cells, 60 rows from the south pole and 120 columns from the antimeridian.
 * A subscription's bbox is rounded out to the tiles that cover it; the hub
 * builds each tile's delta once per tick and a client receives the segments
 * of its tiles.
 *
 * @module
 */

/** Tile edge, degrees. */
export const TILE_DEG = 3;
export const TILE_ROWS = 180 / TILE_DEG;
export const TILE_COLS = 360 / TILE_DEG;
export const TILE_COUNT = TILE_ROWS * TILE_COLS;
/**
 * A bbox covering more tiles than this is served as the whole world: a
 * frame made of that many segments costs more (per-segment overhead,
 * composition) than the few extra aircraft.
 */
export const MAX_VIEW_TILES = Math.floor(TILE_COUNT / 4);

/** The tile of a position: `row * TILE_COLS + col`. */
export function tileOf(lat: number, lon: number): number {
  const row = Math.min(TILE_ROWS - 1, Math.max(0, Math.floor((lat + 90) / TILE_DEG)));
  const col = ((Math.floor((lon + 180) / TILE_DEG) % TILE_COLS) + TILE_COLS) % TILE_COLS;
  return row * TILE_COLS + col;
}

/** `[lamin, lomin, lamax, lomax]` of a tile, degrees. */
export function tileBounds(tile: number): [number, number, number, number] {
  const row = Math.floor(tile / TILE_COLS);
  const col = tile % TILE_COLS;
  return [
    row * TILE_DEG - 90,
    col * TILE_DEG - 180,
    (row + 1) * TILE_DEG - 90,
    (col + 1) * TILE_DEG - 180,
  ];
}

/**
 * The tiles covering `bbox` (`lomin > lomax` crosses the antimeridian), in
 * ascending order; null when that is more than {@link MAX_VIEW_TILES} (the
 * whole world is served instead). Edges count as inside, as in the filter.
 */
export function tilesCovering(bbox: readonly [number, number, number, number]): number[] | null {
  const [lamin, lomin, lamax, lomax] = bbox;
  const r0 = Math.floor(tileOf(lamin, 0) / TILE_COLS);
  const r1 = Math.floor(tileOf(lamax, 0) / TILE_COLS);
  const c0 = tileOf(0, lomin) % TILE_COLS;
  const c1 = lomax >= 180 ? TILE_COLS - 1 : tileOf(0, lomax) % TILE_COLS;
  const cols = new Set<number>();
  if (lomin <= lomax) { for (let c = c0; c <= c1; c++) cols.add(c); }
  else {
    // Across the antimeridian.
    for (let c = c0; c < TILE_COLS; c++) cols.add(c);
    for (let c = 0; c <= c1; c++) cols.add(c);
  }
  // 180° itself lies in the tile of -180°.
  if (lomax >= 180) cols.add(0);
  if ((r1 - r0 + 1) * cols.size > MAX_VIEW_TILES) return null;
  const out: number[] = [];
  for (let r = r0; r <= r1; r++) for (const c of cols) out.push(r * TILE_COLS + c);
  return out.sort((a, b) => a - b);
}
