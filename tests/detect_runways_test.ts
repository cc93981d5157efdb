import assert from "node:assert/strict";
import { eventId, isoTime } from "../lib/detect/event.ts";
import { fnv1a64Hex } from "../lib/detect/hash.ts";
import { createRunwayIndex, parseRunwaysCsv } from "../lib/detect/runways.ts";
import { FT } from "../lib/geo/units.ts";
import { haversineM } from "../lib/geo/sphere.ts";

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);

const HEADER =
  `"id","airport_ref","airport_ident","length_ft","width_ft","surface","lighted","closed","le_ident","le_latitude_deg","le_longitude_deg","le_elevation_ft","le_heading_degT","le_displaced_threshold_ft","he_ident","he_latitude_deg","he_longitude_deg","he_elevation_ft","he_heading_degT","he_displaced_threshold_ft"`;

Deno.test("runways: parses ends, skips rows without coordinates and closed runways", () => {
  const text = [
    HEADER,
    // Real rows of the OurAirports file.
    `235936,4062,"LFBF",5906,148,"ASP",1,0,"12",43.54909896850586,1.357200026512146,534,115,,"30",43.542301177978516,1.3774100542068481,533,295,`,
    `269408,6523,"00A",80,80,"ASPH-G",1,0,"H1",,,,,,,,,,,`,
    `269335,2522,"EHLE",4495,98,"grass",0,1,"05L",,,,48,,"23R",,,,228,`,
    // The EHLE main runway with its headings and one elevation removed (derived for this test).
    `237920,2522,"EHLE",8858,148,"ASPH, grooved",1,0,"05",52.44482,5.499542,-12,,,"23",52.461208,5.52887,,,`,
    "",
  ].join("\r\n");
  const parsed = parseRunwaysCsv(text);
  assert.equal(parsed.rows, 4);
  assert.equal(parsed.skipped, 2);
  assert.deepEqual(parsed.ends.map((e) => `${e.airport} ${e.runway}`), [
    "LFBF 12",
    "LFBF 30",
    "EHLE 05",
    "EHLE 23",
  ]);
  const lfbf12 = parsed.ends[0]!;
  assert.equal(lfbf12.heading_deg, 115);
  assert.ok(Math.abs(lfbf12.elevation_m! - 534 * FT) < 1e-9);
  assert.ok(Math.abs(lfbf12.length_m! - 5906 * FT) < 1e-9);
  const [ehle05, ehle23] = [parsed.ends[2]!, parsed.ends[3]!];
  // Headings from the two ends (the file says 46/225, rounded); elevation from the other end.
  assert.ok(Math.abs(ehle05.heading_deg - 47.47) < 0.01, `${ehle05.heading_deg}`);
  assert.ok(
    Math.abs(ehle23.heading_deg - ehle05.heading_deg - 180) < 0.05,
    `${ehle23.heading_deg}`,
  );
  assert.ok(Math.abs(ehle23.elevation_m! - -12 * FT) < 1e-9);
});

Deno.test("runways: a header without the needed columns is an error", () => {
  assert.throws(() => parseRunwaysCsv(`"id","airport_ident"\n1,"X"\n`), SyntaxError);
  assert.throws(() => parseRunwaysCsv(""), SyntaxError);
});

Deno.test("runways: the OurAirports file agrees with the selected-airports fixture", async () => {
  const parsed = parseRunwaysCsv(await Deno.readTextFile(fixture("ourairports_runways.csv")));
  assert.ok(parsed.ends.length > 20_000);
  const selected = JSON.parse(
    await Deno.readTextFile(fixture("runway_thresholds_selected_airports.json")),
  ) as Record<
    string,
    {
      runway_ends: {
        runway: string;
        threshold_lat: number;
        threshold_lon: number;
        true_heading_deg: number | null;
      }[];
    }
  >;
  let compared = 0;
  for (const [airport, { runway_ends }] of Object.entries(selected)) {
    for (const want of runway_ends) {
      const got = parsed.ends.find((e) => e.airport === airport && e.runway === want.runway);
      assert.ok(got, `${airport} ${want.runway}`);
      assert.equal(got.lat, want.threshold_lat);
      assert.equal(got.lon, want.threshold_lon);
      if (want.true_heading_deg !== null) assert.equal(got.heading_deg, want.true_heading_deg);
      compared++;
    }
  }
  assert.ok(compared > 50);

  const index = createRunwayIndex(parsed.ends);
  // Toulouse-Blagnac from EZY158T's lowest point of its first go-around.
  const near = index.near(43.62048, 1.37061, 4_000);
  assert.deepEqual(
    near.map((n) => `${n.end.airport} ${n.end.runway}`).sort(),
    ["LFBO 14L", "LFBO 14R", "LFBO 32L", "LFBO 32R"],
  );
  assert.ok(near.every((n, i) => i === 0 || near[i - 1]!.distance_m <= n.distance_m));
  assert.deepEqual(index.near(0, -30, 50_000), []);
  // Cells across the antimeridian are searched too.
  const edge = parsed.ends.find((e) => Math.abs(e.lon) > 179.8);
  assert.ok(edge, "a runway end near the antimeridian");
  const across = { lat: edge.lat, lon: edge.lon > 0 ? -179.99 : 179.99 };
  const radius = haversineM(across, edge) + 1_000;
  assert.ok(index.near(across.lat, across.lon, radius).some((n) => n.end === edge));
});

Deno.test("event ids: FNV-1a 64 known vectors, deterministic ids", () => {
  assert.equal(fnv1a64Hex(""), "cbf29ce484222325");
  assert.equal(fnv1a64Hex("a"), "af63dc4c8601ec8c");
  assert.equal(fnv1a64Hex("foobar"), "85944171f73967e8");
  assert.equal(isoTime(1486310900), "2017-02-05T16:08:20.000Z");
  const id = eventId("406d95", "go_around", 1486310900);
  assert.match(id, /^[0-9a-f]{16}$/);
  assert.equal(id, fnv1a64Hex("406d95|go_around|2017-02-05T16:08:20.000Z"));
  assert.notEqual(id, eventId("406d95", "go_around", 1486310901));
  assert.notEqual(id, eventId("406d95", "holding", 1486310900));
});
