/**
 * Exports, parsed back: `GET /api/flights/{icao24}/track?format=geojson|csv|kml`
 * (streamed in several chunks, not one body built in memory) and
 * `deno task export` (GeoJSON lines and CSV, with its progress line), on
 * PostgreSQL, over the real EZY158T recording
 * (2017-02-05, 1 s) stored as the worker stores it (minus smoothing).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Flight } from "../contracts/flight.ts";
import type { Sql } from "../lib/db/mod.ts";
import { encodeStream, TRACK_FORMATS, trackEncoder } from "../lib/export/formats.ts";
import { serveApi } from "./_api_server.ts";
import { freshPostgres, measuredColumns, type TestDatabase } from "./_db.ts";
import { recordedFlights } from "./_recordings.ts";
import { skipWithoutPostgres } from "./_services.ts";

const EZY = "406d95";
const FROM = "2017-02-05T15:30:00Z";
const TO = "2017-02-05T16:30:00Z";
const flights = await recordedFlights(
  "opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl",
);

/** The first flight per time_position (what the tier keeps), in time order. */
function stored(): Flight[] {
  const seen = new Map<string, Flight>();
  for (const f of flights) {
    const key = `${f.icao24}|${f.time_position_unix}`;
    if (!seen.has(key)) seen.set(key, f);
  }
  return [...seen.values()].sort((a, b) => a.time_position_unix - b.time_position_unix);
}

async function fill(sql: Sql): Promise<Flight[]> {
  const rows = stored();
  await sql`SELECT flights_history_ensure_partition('2017-02-05')`;
  for (let i = 0; i < rows.length; i += 500) {
    await sql`INSERT INTO flights_history ${
      sql(
        rows.slice(i, i + 500).map((f) => ({
          icao24: f.icao24,
          ts: new Date(f.time_position_unix * 1000),
          ...measuredColumns(f),
        })),
      )
    }`;
  }
  const inRange = rows.filter((f) =>
    f.time_position_unix >= Date.parse(FROM) / 1000 && f.time_position_unix <= Date.parse(TO) / 1000
  );
  assert.ok(inRange.length > 2500, `${inRange.length} positions in the range`);
  return inRange;
}

/** Reads a body chunk by chunk; returns the text and how many chunks came. */
async function readChunks(res: Response): Promise<{ text: string; chunks: number }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let chunks = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks++;
    text += decoder.decode(value, { stream: true });
  }
  return { text, chunks };
}

/** RFC 4180 lines without quoted line breaks (none here) into records. */
function parseCsv(text: string): Record<string, string>[] {
  const lines = text.split("\r\n").filter((l) => l.length > 0);
  const header = lines[0]!.split(",");
  return lines.slice(1).map((l) => {
    const cells = l.split(",");
    assert.equal(cells.length, header.length, l);
    return Object.fromEntries(header.map((h, i) => [h, cells[i]!]));
  });
}

async function exports(db: TestDatabase): Promise<void> {
  const expected = await fill(db.sql);
  const server = await serveApi(db.sql);
  const get = (format: string, icao24 = EZY) =>
    fetch(
      `${server.origin}/api/flights/${icao24}/track?from=${FROM}&to=${TO}&format=${format}`,
    );
  try {
    // GeoJSON: a FeatureCollection, one Point per stored position, in order.
    const geo = await get("geojson");
    assert.equal(geo.status, 200);
    assert.equal(geo.headers.get("content-type"), "application/geo+json");
    assert.equal(geo.headers.get("x-history-resolution"), "fine");
    const geoBody = await readChunks(geo);
    assert.ok(geoBody.chunks >= 3, `streamed in ${geoBody.chunks} chunks`);
    const collection = JSON.parse(geoBody.text);
    assert.equal(collection.type, "FeatureCollection");
    assert.equal(collection.properties.resolution, "fine");
    assert.equal(collection.features.length, expected.length);
    for (const [i, feature] of collection.features.entries()) {
      const f = expected[i]!;
      assert.equal(feature.geometry.type, "Point");
      assert.deepEqual(
        feature.geometry.coordinates,
        f.altitude_m === null
          ? [f.position.lon, f.position.lat]
          : [f.position.lon, f.position.lat, f.altitude_m],
      );
      assert.equal(feature.properties.ts, new Date(f.time_position_unix * 1000).toISOString());
    }

    // CSV: header, one line per position, numbers as stored.
    const csv = await get("csv");
    assert.match(csv.headers.get("content-type") ?? "", /^text\/csv/);
    const records = parseCsv((await readChunks(csv)).text);
    assert.equal(records.length, expected.length);
    for (const [i, r] of records.entries()) {
      const f = expected[i]!;
      assert.equal(r.icao24, EZY);
      assert.equal(Number(r.raw_lat), f.position.lat);
      assert.equal(Number(r.raw_lon), f.position.lon);
      assert.equal(r.altitude_m === "" ? null : Number(r.altitude_m), f.altitude_m);
      assert.equal(Date.parse(r.ts!), f.time_position_unix * 1000);
    }

    // KML: a LineString of lon,lat,alt triples and the range as its TimeSpan.
    const kml = await get("kml");
    assert.equal(kml.headers.get("content-type"), "application/vnd.google-earth.kml+xml");
    const kmlText = (await readChunks(kml)).text;
    assert.match(kmlText, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<kml xmlns=/);
    assert.match(kmlText, /<TimeSpan><begin>2017-02-05T15:30:00\.000Z<\/begin>/);
    assert.match(kmlText, /<\/coordinates><\/LineString><\/Placemark><\/Document><\/kml>\n$/);
    const coordinates = /<coordinates>\n([\s\S]*)<\/coordinates>/.exec(kmlText)![1]!
      .trim().split("\n").map((l) => l.split(",").map(Number));
    assert.equal(coordinates.length, expected.length);
    assert.deepEqual(coordinates[0], [
      expected[0]!.position.lon,
      expected[0]!.position.lat,
      expected[0]!.altitude_m ?? 0,
    ]);

    // Unknown aircraft and unknown formats are clear errors, not empty files.
    assert.equal((await get("csv", "abcdef")).status, 404);
    const bad = await get("shapefile");
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(await bad.json()), /format/);
  } finally {
    await server.shutdown();
  }

  // deno task export: the same positions as GeoJSON lines and CSV, a progress line on stderr.
  for (const format of ["geojson", "csv"] as const) {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["task", "-q", "export", "--from", FROM, "--to", TO, "--format", format],
      env: { DATABASE_URL: db.url },
      cwd: new URL("../", import.meta.url).pathname,
    }).output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 0, err);
    assert.match(err, new RegExp(`exported ${expected.length} positions up to `));
    assert.match(err, /resolution: fine/);
    const out = new TextDecoder().decode(stdout);
    if (format === "geojson") {
      const features = out.trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(features.length, expected.length);
      assert.deepEqual(features.map((f) => f.properties.flight), expected);
      assert.equal(features[0].type, "Feature");
    } else {
      const records = parseCsv(out);
      assert.equal(records.length, expected.length);
      assert.deepEqual(
        records.map((r) => r.icao24 + "@" + Date.parse(r.ts!) / 1000),
        expected.map(
          (f) => f.icao24 + "@" + f.time_position_unix,
        ),
      );
      assert.equal(records[0]!.tier, "fine");
    }
  }
}

Deno.test({
  name: "history export/postgres: track as GeoJSON, CSV and KML, and deno task export",
  ignore: skipWithoutPostgres(),
  async fn() {
    const db = await freshPostgres({ migrate: true });
    try {
      await exports(db);
    } finally {
      await db.close();
    }
  },
});

Deno.test("history export: the encoders stream, pulling one batch per chunk sent", async () => {
  const points = stored().slice(0, 50).map((f) => ({
    ts: new Date(f.time_position_unix * 1000).toISOString(),
    lat: f.position.lat,
    lon: f.position.lon,
    altitude_m: f.altitude_m,
    velocity_mps: f.velocity_mps,
    heading_deg: f.heading_deg,
    vertical_rate_mps: f.vertical_rate_mps,
    raw: { lat: f.position.lat, lon: f.position.lon, altitude_m: f.altitude_m },
  }));
  for (const format of TRACK_FORMATS) {
    let pulled = 0;
    const batches = async function* () {
      for (let i = 0; i < points.length; i += 10) {
        pulled++;
        yield points.slice(i, i + 10);
      }
    };
    const meta = { icao24: EZY, from: FROM, to: TO, resolution: "fine" };
    const reader = encodeStream(trackEncoder(format, meta), batches()).getReader();
    await reader.read(); // the head
    await reader.read(); // the first batch
    assert.equal(pulled, 1, `${format}: one batch read from the database per chunk sent`);
    let rest = 0;
    while (!(await reader.read()).done) rest++;
    assert.equal(pulled, 5);
    assert.ok(rest >= 4, `${format}: ${rest} more chunks`);
  }
});
