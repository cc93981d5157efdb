/**
 * Makes the globe's static assets (committed, so the app needs none of
 * this at run time and never reaches the internet):
 *
 * - `static/airports.json`: large and medium airports with an IATA code from
 *   the bundled OurAirports GeoJSON (fixtures/), as compact rows.
 * - `static/earth.png`: a stylised dark equirectangular Earth texture
 *   (4096 x 2048): land from Natural Earth 1:50m (npm `world-atlas`, public
 *   domain), coast and country borders, a 10-degree graticule, and airports
 *   glowing like city lights. Rasterised here (scanline fill, 2x
 *   supersampling) and written as a PNG with the platform's zlib stream.
 * - `static/borders.bin`: the same coast and border lines as int16 polylines,
 *   drawn by the globe as one crisp line layer when zoomed in.
 *
 * Run: `deno task assets`.
 *
 * @module
 */

/**
 * Natural Earth 1:50m as TopoJSON from npm `world-atlas`, loaded at run time
 * so that type-checking the project does not need the package.
 */
async function worldAtlas(name: string): Promise<unknown> {
  const specifier = `world-atlas/${name}`;
  try {
    return (await import(specifier, { with: { type: "json" } })).default;
  } catch (error) {
    throw new Error(
      `cannot load ${specifier}: add "world-atlas/": "npm:/world-atlas@2.0.2/" to the ` +
        `import map in deno.json (${(error as Error).message})`,
    );
  }
}

const ROOT = new URL("../", import.meta.url);
const W = 4096, H = 2048, SS = 2;
const SW = W * SS, SH = H * SS;

// --- TopoJSON (the few operations needed, instead of a dependency) ----------

interface Topology {
  transform: { scale: [number, number]; translate: [number, number] };
  arcs: number[][][];
  objects: Record<string, TopoObject>;
}
interface TopoObject {
  type: string;
  arcs?: unknown;
  geometries?: TopoObject[];
}
type Ring = [number, number][];

/** Arcs in degrees (delta-decoded, de-quantised). */
function decodeArcs(topo: Topology): Ring[] {
  const [sx, sy] = topo.transform.scale;
  const [tx, ty] = topo.transform.translate;
  return topo.arcs.map((arc) => {
    let x = 0, y = 0;
    return arc.map(([dx, dy]) => {
      x += dx!;
      y += dy!;
      return [x * sx + tx, y * sy + ty] as [number, number];
    });
  });
}

function ringOf(arcs: Ring[], indices: number[]): Ring {
  const ring: Ring = [];
  for (const i of indices) {
    const arc = i >= 0 ? arcs[i]! : [...arcs[~i]!].reverse();
    ring.push(...(ring.length ? arc.slice(1) : arc));
  }
  return ring;
}

/** Polygons (outer ring + holes) of every geometry of an object. */
function polygonsOf(arcs: Ring[], obj: TopoObject): Ring[][] {
  const out: Ring[][] = [];
  const visit = (g: TopoObject) => {
    if (g.type === "GeometryCollection") g.geometries?.forEach(visit);
    if (g.type === "Polygon") out.push((g.arcs as number[][]).map((r) => ringOf(arcs, r)));
    if (g.type === "MultiPolygon") {
      for (const p of g.arcs as number[][][]) out.push(p.map((r) => ringOf(arcs, r)));
    }
  };
  visit(obj);
  return out;
}

/** Arc indices with the number of geometries using each: 1 = coast, 2 = border. */
function arcUse(obj: TopoObject): Map<number, number> {
  const use = new Map<number, number>();
  for (const g of obj.geometries ?? []) {
    const mine = new Set<number>();
    const walk = (v: unknown) => {
      if (typeof v === "number") mine.add(v < 0 ? ~v : v);
      else if (Array.isArray(v)) v.forEach(walk);
    };
    walk(g.arcs);
    for (const a of mine) use.set(a, (use.get(a) ?? 0) + 1);
  }
  return use;
}

// --- raster ------------------------------------------------------------------

const px = (lon: number) => (lon + 180) / 360 * SW;
const py = (lat: number) => (90 - lat) / 180 * SH;

/**
 * A ring with its longitudes made continuous (no ±180 jumps). A ring that
 * winds around a pole (Antarctica) is closed along that pole.
 */
function unwrapRing(ring: Ring): Ring {
  const out: Ring = [];
  let shift = 0;
  for (let i = 0; i < ring.length; i++) {
    const [lon, lat] = ring[i]!;
    if (i > 0) {
      const prev = ring[i - 1]![0];
      if (lon - prev > 180) shift -= 360;
      else if (prev - lon > 180) shift += 360;
    }
    out.push([lon + shift, lat]);
  }
  if (Math.abs(shift) >= 360) {
    const poleLat = out.reduce((n, p) => n + p[1], 0) / out.length < 0 ? -90 : 90;
    out.push([out[out.length - 1]![0], poleLat], [out[0]![0], poleLat]);
  }
  return out;
}

/**
 * Even-odd scanline fill of one polygon into a supersampled mask. Rings are
 * unwrapped across the antimeridian and the polygon is drawn again shifted
 * by 360 degrees where it spills over an edge of the map.
 */
function fillPolygon(mask: Uint8Array, polygon: Ring[]): void {
  const rings = polygon.map(unwrapRing);
  let min = Infinity, max = -Infinity;
  for (const r of rings) {
    for (const [lon] of r) [min, max] = [Math.min(min, lon), Math.max(max, lon)];
  }
  for (const offset of [-360, 0, 360]) {
    if (max + offset < -180 || min + offset > 180) continue;
    fillRings(
      mask,
      rings.map((r) => r.map(([lon, lat]) => [lon + offset, lat] as [number, number])),
    );
  }
}

function fillRings(mask: Uint8Array, rings: Ring[]): void {
  const rows = new Map<number, number[]>();
  for (const ring of rings) {
    for (let i = 0; i < ring.length; i++) {
      const [lon1, lat1] = ring[i]!;
      const [lon2, lat2] = ring[(i + 1) % ring.length]!;
      const x1 = px(lon1), y1 = py(lat1), x2 = px(lon2), y2 = py(lat2);
      if (y1 === y2) continue;
      const [ya, yb, xa, xb] = y1 < y2 ? [y1, y2, x1, x2] : [y2, y1, x2, x1];
      for (let y = Math.ceil(ya - 0.5); y + 0.5 < yb; y++) {
        if (y < 0 || y >= SH) continue;
        const x = xa + (y + 0.5 - ya) / (yb - ya) * (xb - xa);
        const row = rows.get(y);
        if (row) row.push(x);
        else rows.set(y, [x]);
      }
    }
  }
  for (const [y, xs] of rows) {
    xs.sort((a, b) => a - b);
    for (let i = 0; i + 1 < xs.length; i += 2) {
      const from = Math.max(0, Math.ceil(xs[i]! - 0.5));
      const to = Math.min(SW - 1, Math.floor(xs[i + 1]! - 0.5));
      if (from <= to) mask.fill(1, y * SW + from, y * SW + to + 1);
    }
  }
}

/** A line of `width` supersampled pixels (round brush) into a mask. */
function drawLine(mask: Uint8Array, line: Ring, width: number): void {
  const r = width / 2;
  for (let i = 0; i + 1 < line.length; i++) {
    const [lon1, lat1] = line[i]!;
    const [lon2, lat2] = line[i + 1]!;
    if (Math.abs(lon2 - lon1) > 180) continue;
    const x1 = px(lon1), y1 = py(lat1), x2 = px(lon2), y2 = py(lat2);
    const steps = Math.max(1, Math.ceil(Math.hypot(x2 - x1, y2 - y1) * 2));
    for (let s = 0; s <= steps; s++) {
      const x = x1 + (x2 - x1) * s / steps, y = y1 + (y2 - y1) * s / steps;
      for (let yy = Math.floor(y - r); yy <= Math.ceil(y + r); yy++) {
        if (yy < 0 || yy >= SH) continue;
        for (let xx = Math.floor(x - r); xx <= Math.ceil(x + r); xx++) {
          if ((xx + 0.5 - x) ** 2 + (yy + 0.5 - y) ** 2 > r * r) continue;
          mask[yy * SW + ((xx % SW) + SW) % SW] = 1;
        }
      }
    }
  }
}

/** Supersampled mask to coverage 0..1 per output pixel. */
function downsample(mask: Uint8Array): Float32Array {
  const out = new Float32Array(W * H);
  for (let y = 0; y < SH; y++) {
    for (let x = 0; x < SW; x++) {
      if (mask[y * SW + x]) out[((y / SS) | 0) * W + ((x / SS) | 0)]! += 1 / (SS * SS);
    }
  }
  return out;
}

/** Two passes of a (2r+1)-wide box blur in each direction (about a Gaussian). */
function blur(src: Float32Array, r: number): Float32Array {
  let a: Float32Array = src, b: Float32Array = new Float32Array(W * H);
  for (let pass = 0; pass < 2; pass++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let sum = 0;
        for (let k = -r; k <= r; k++) sum += a[y * W + ((x + k + W) % W)]!;
        b[y * W + x] = sum / (2 * r + 1);
      }
    }
    [a, b] = [b, a];
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let sum = 0;
        for (let k = -r; k <= r; k++) sum += a[Math.min(H - 1, Math.max(0, y + k)) * W + x]!;
        b[y * W + x] = sum / (2 * r + 1);
      }
    }
    [a, b] = [b, a];
  }
  return a;
}

type Rgb = [number, number, number];
const hex = (h: string): Rgb => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)) as Rgb;

// --- PNG ---------------------------------------------------------------------

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
async function encodePng(rgb: Uint8Array, w: number, h: number): Promise<Uint8Array> {
  // Filter "Up" on every row: long runs of equal colour compress well.
  const raw = new Uint8Array(h * (1 + w * 3));
  for (let y = 0; y < h; y++) {
    const o = y * (1 + w * 3);
    raw[o] = 2;
    for (let i = 0; i < w * 3; i++) {
      const cur = rgb[y * w * 3 + i]!;
      const up = y > 0 ? rgb[(y - 1) * w * 3 + i]! : 0;
      raw[o + 1 + i] = (cur - up) & 0xff;
    }
  }
  const zlib = new Uint8Array(
    await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate")))
      .arrayBuffer(),
  );
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, w);
  v.setUint32(4, h);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const sig = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]);
  const parts = [sig, chunk("IHDR", ihdr), chunk("IDAT", zlib), chunk("IEND", new Uint8Array())];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// --- airports ----------------------------------------------------------------

interface AirportFeature {
  geometry: { coordinates: [number, number] };
  properties: { ident: string; iata_code: string; name: string; type: string; iso_country: string };
}

async function makeAirports(): Promise<[number, number, boolean][]> {
  const geo = JSON.parse(
    await Deno.readTextFile(new URL("fixtures/ourairports_airports_with_iata.geojson", ROOT)),
  ) as { features: AirportFeature[] };
  const rows = geo.features
    .filter((f) => f.properties.type === "large_airport" || f.properties.type === "medium_airport")
    .map((f) => {
      const p = f.properties;
      const [lon, lat] = f.geometry.coordinates;
      return [
        p.ident,
        p.iata_code,
        p.name,
        Math.round(lat * 1e4) / 1e4,
        Math.round(lon * 1e4) / 1e4,
        p.type === "large_airport" ? "L" : "M",
        p.iso_country,
      ] as const;
    })
    .sort((a, b) => a[0].localeCompare(b[0]));
  const file = {
    source: "OurAirports (public domain), via fixtures/ourairports_airports_with_iata.geojson; " +
      "large and medium airports with an IATA code. Made by scripts/make_assets.ts.",
    fields: ["ident", "iata", "name", "lat", "lon", "size", "country"],
    airports: rows,
  };
  const body = `{"source":${JSON.stringify(file.source)},"fields":${
    JSON.stringify(file.fields)
  },"airports":[\n${rows.map((r) => JSON.stringify(r)).join(",\n")}\n]}\n`;
  await Deno.writeTextFile(new URL("static/airports.json", ROOT), body);
  console.log(`static/airports.json: ${rows.length} airports`);
  return rows.map((r) => [r[4], r[3], r[5] === "L"]);
}

// --- main ----------------------------------------------------------------------

async function main(): Promise<void> {
  const airports = await makeAirports();
  const landTopo = await worldAtlas("land-50m.json") as Topology;
  const countriesTopo = await worldAtlas("countries-50m.json") as Topology;
  const landArcs = decodeArcs(landTopo);
  const countryArcs = decodeArcs(countriesTopo);

  const landMask = new Uint8Array(SW * SH);
  for (const p of polygonsOf(landArcs, landTopo.objects.land!)) fillPolygon(landMask, p);

  const use = arcUse(countriesTopo.objects.countries!);
  const coastLines: Ring[] = [], borderLines: Ring[] = [];
  for (const [i, n] of use) (n >= 2 ? borderLines : coastLines).push(countryArcs[i]!);
  const coastMask = new Uint8Array(SW * SH), borderMask = new Uint8Array(SW * SH);
  for (const l of coastLines) drawLine(coastMask, l, 2.2);
  for (const l of borderLines) drawLine(borderMask, l, 1.4);
  const gratMask = new Uint8Array(SW * SH);
  for (let lon = -180; lon < 180; lon += 10) {
    drawLine(
      gratMask,
      Array.from({ length: 181 }, (_, k) => [lon, -90 + k] as [number, number]),
      1.2,
    );
  }
  for (let lat = -80; lat <= 80; lat += 10) {
    drawLine(
      gratMask,
      Array.from({ length: 361 }, (_, k) => [-180 + k, lat] as [number, number]),
      1.2,
    );
  }

  // Soft land edges: at regional zoom a texel is ~10 km, and a hard edge
  // would show its staircase; the crisp coastline comes from borders.bin.
  const landC = blur(downsample(landMask), 2), coastC = downsample(coastMask);
  const borderC = downsample(borderMask), gratC = downsample(gratMask);
  landMask.fill(0);

  // Airports glow like city lights: a soft warm dot, brighter for large ones.
  const glow = new Float32Array(W * H);
  for (const [lon, lat, large] of airports) {
    const cx = (lon + 180) / 360 * W, cy = (90 - lat) / 180 * H;
    const r = large ? 2.4 : 1.5;
    const peak = large ? 0.5 : 0.22;
    for (let y = Math.floor(cy - r * 2); y <= Math.ceil(cy + r * 2); y++) {
      for (let x = Math.floor(cx - r * 2); x <= Math.ceil(cx + r * 2); x++) {
        if (y < 0 || y >= H) continue;
        const d2 = ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2) / (r * r);
        const xi = ((x % W) + W) % W;
        glow[y * W + xi] = Math.min(1, glow[y * W + xi]! + peak * Math.exp(-d2 * 1.6));
      }
    }
  }

  const ocean = hex("#07111f"), oceanPole = hex("#050b15"), landCol = hex("#15233a");
  const landHigh = hex("#1b2d48"), coastCol = hex("#3b6290"), borderCol = hex("#2c4a70");
  const gratCol = hex("#11233d"), lightCol = hex("#ffc46b");
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    const lat = 90 - (y + 0.5) / H * 180;
    const pole = Math.min(1, Math.abs(lat) / 90) ** 2;
    // A faint latitude gradient on land keeps it from looking flat.
    const band = 0.5 + 0.5 * Math.cos(lat * Math.PI / 180);
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const c: Rgb = [0, 0, 0];
      for (let k = 0; k < 3; k++) {
        let v = ocean[k]! + (oceanPole[k]! - ocean[k]!) * pole;
        v += (gratCol[k]! - v) * Math.min(1, gratC[i]!) * (1 - landC[i]!) * 0.9;
        const l = landCol[k]! + (landHigh[k]! - landCol[k]!) * band;
        v += (l - v) * landC[i]!;
        v += (borderCol[k]! - v) * Math.min(1, borderC[i]!) * 0.9;
        v += (coastCol[k]! - v) * Math.min(1, coastC[i]!) * 0.85;
        v += (lightCol[k]! - v) * glow[i]! * 0.75;
        c[k] = v;
      }
      rgb.set(c.map((v) => Math.max(0, Math.min(255, Math.round(v)))), i * 3);
    }
  }
  const png = await encodePng(rgb, W, H);
  await Deno.writeFile(new URL("static/earth.png", ROOT), png);
  console.log(`static/earth.png: ${W}x${H}, ${(png.length / 1024).toFixed(0)} KiB`);

  await writeBorders([
    ...coastLines.map((l) => ({ l, kind: 0 })),
    ...borderLines.map((l) => ({ l, kind: 1 })),
  ]);
}

/**
 * `static/borders.bin`, little-endian: u32 magic `0x53424431` ("SBD1"),
 * u32 line count, then per line u32 `(points << 1) | kind` (kind 0 coast, 1
 * border), then all points as i16 pairs: lon x 32767/180, lat x 32767/90.
 */
async function writeBorders(lines: { l: Ring; kind: number }[]): Promise<void> {
  // Drop points closer than ~3 km to the previous one: invisible at the zoom levels where
  // the lines show, and fewer vertices for software WebGL.
  const simplified = lines.map(({ l, kind }) => {
    const out: Ring = [l[0]!];
    for (let i = 1; i < l.length; i++) {
      const [a, b] = out[out.length - 1]!;
      const [c, d] = l[i]!;
      if (i === l.length - 1 || Math.abs(c - a) + Math.abs(d - b) > 0.03) out.push([c, d]);
    }
    return { l: out, kind };
  }).filter((x) => x.l.length >= 2);
  const points = simplified.reduce((n, x) => n + x.l.length, 0);
  const buf = new ArrayBuffer(8 + simplified.length * 4 + points * 4);
  const v = new DataView(buf);
  v.setUint32(0, 0x53424431, true);
  v.setUint32(4, simplified.length, true);
  let o = 8;
  for (const { l, kind } of simplified) {
    v.setUint32(o, (l.length << 1) | kind, true);
    o += 4;
  }
  for (const { l } of simplified) {
    for (const [lon, lat] of l) {
      v.setInt16(o, Math.round(lon / 180 * 32767), true);
      v.setInt16(o + 2, Math.round(lat / 90 * 32767), true);
      o += 4;
    }
  }
  await Deno.writeFile(new URL("static/borders.bin", ROOT), new Uint8Array(buf));
  console.log(`static/borders.bin: ${simplified.length} lines, ${points} points`);
}

if (import.meta.main) await main();
