/**
 * Reads `static/borders.bin` (written by scripts/make_assets.ts): coast and
 * country-border polylines as int16 pairs, turned into line-segment
 * positions on the globe for one `THREE.LineSegments` (one draw call). Pure.
 *
 * @module
 */
import { globeCoords, relativeAltitude } from "./globe_coords.ts";

const MAGIC = 0x53424431;

/** A polyline in degrees: `[lon, lat, lon, lat, ...]`; kind 0 coast, 1 border. */
export interface Polyline {
  kind: 0 | 1;
  lonLat: Float32Array;
}

/** Decodes the file; throws on a wrong magic number or a truncated file. */
export function parseBorders(buf: ArrayBuffer): Polyline[] {
  const v = new DataView(buf);
  if (buf.byteLength < 8 || v.getUint32(0, true) !== MAGIC) {
    throw new Error("borders.bin: bad magic");
  }
  const n = v.getUint32(4, true);
  const lengths: number[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    const word = v.getUint32(8 + i * 4, true);
    lengths.push(word);
    total += word >>> 1;
  }
  let o = 8 + n * 4;
  if (buf.byteLength < o + total * 4) throw new Error("borders.bin: truncated");
  return lengths.map((word) => {
    const count = word >>> 1;
    const lonLat = new Float32Array(count * 2);
    for (let k = 0; k < count; k++) {
      lonLat[k * 2] = v.getInt16(o, true) / 32767 * 180;
      lonLat[k * 2 + 1] = v.getInt16(o + 2, true) / 32767 * 90;
      o += 4;
    }
    return { kind: (word & 1) as 0 | 1, lonLat };
  });
}

/**
 * Segment end points (x, y, z per vertex, two vertices per segment) of the
 * polylines of `kind`, lifted `altM` metres above the globe so the lines
 * are not hidden by the textured surface.
 */
export function segmentPositions(
  lines: readonly Polyline[],
  kind: 0 | 1,
  altM = 150,
): Float32Array {
  let segments = 0;
  for (const l of lines) if (l.kind === kind) segments += Math.max(0, l.lonLat.length / 2 - 1);
  const out = new Float32Array(segments * 6);
  const rel = relativeAltitude(altM);
  const a: [number, number, number] = [0, 0, 0], b: [number, number, number] = [0, 0, 0];
  let o = 0;
  for (const l of lines) {
    if (l.kind !== kind) continue;
    const p = l.lonLat;
    globeCoords(p[1]!, p[0]!, rel, a);
    for (let k = 1; k < p.length / 2; k++) {
      globeCoords(p[k * 2 + 1]!, p[k * 2]!, rel, b);
      out.set(a, o);
      out.set(b, o + 3);
      o += 6;
      a[0] = b[0];
      a[1] = b[1];
      a[2] = b[2];
    }
  }
  return out;
}
