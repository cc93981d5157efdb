/**
 * The aircraft marker's shape: a plane silhouette, nose at +Y, drawn as an
 * alpha mask on one quad per aircraft. Pure (no three.js).
 *
 * @module
 */

/** The silhouette's right half, nose at +Y; the left half mirrors it. Units: the marker is 1 long. */
const SILHOUETTE: readonly [number, number][] = [
  [0, 0.5], // nose
  [0.045, 0.42],
  [0.055, 0.16],
  [0.48, -0.06], // right wing tip
  [0.48, -0.13],
  [0.055, -0.04],
  [0.045, -0.3],
  [0.2, -0.42], // right stabiliser
  [0.2, -0.48],
  [0, -0.45],
];

/** The whole outline, clockwise from the nose. */
export function silhouette(): [number, number][] {
  const right = SILHOUETTE.map(([x, y]) => [x, y] as [number, number]);
  const left = [...SILHOUETTE].reverse().slice(1, -1).map(([x, y]) => [-x, y] as [number, number]);
  return [...right, ...left];
}

/**
 * The silhouette as an RGBA alpha mask (white, 4x4 supersampled edges),
 * rows bottom-up as WebGL expects. Drawn on a quad it costs 2 triangles per
 * aircraft instead of ~16: software rasterisers pay per triangle.
 */
export function silhouetteMask(size = 64): Uint8Array {
  const poly = silhouette();
  const inside = (x: number, y: number) => {
    let c = false;
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const [xi, yi] = poly[i]!, [xj, yj] = poly[j]!;
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) c = !c;
    }
    return c;
  };
  const out = new Uint8Array(size * size * 4);
  const ss = 4;
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      let hits = 0;
      for (let a = 0; a < ss; a++) {
        for (let b = 0; b < ss; b++) {
          const x = (col + (a + 0.5) / ss) / size - 0.5;
          const y = (row + (b + 0.5) / ss) / size - 0.5;
          if (inside(x, y)) hits++;
        }
      }
      const o = (row * size + col) * 4;
      out[o] = out[o + 1] = out[o + 2] = 255;
      out[o + 3] = Math.round(hits / (ss * ss) * 255);
    }
  }
  return out;
}
