/**
 * The globe page's small pure modules: geometry, colours, filters (against
 * the hub's own matching), search, URL state, airports, anomalies, time
 * travel, the borders file, formatting.
 */
import assert from "node:assert/strict";
import type { AnomalyEvent } from "../contracts/anomaly.ts";
import type { Flight } from "../contracts/flight.ts";
import { AirportIndex, type AirportsFile, describePlace } from "../lib/client/airports.ts";
import { AnomalyFeed, isActiveEmergency, kindLabel } from "../lib/client/anomalies.ts";
import { parseBorders, segmentPositions } from "../lib/client/borders.ts";
import {
  aircraftColour,
  altitudeColour,
  GROUND_COLOUR,
  legendTicks,
  toHex,
} from "../lib/client/colour_scale.ts";
import {
  DEFAULT_FILTER,
  type FilterState,
  matchesFilter,
  searchFlights,
  toSubscription,
} from "../lib/client/filters.ts";
import {
  formatAge,
  formatAltitude,
  formatHeading,
  formatSpeed,
  formatVerticalRate,
} from "../lib/client/format.ts";
import { framingPov } from "../lib/client/framing.ts";
import {
  chaseCamera,
  GLOBE_RADIUS,
  globeCoords,
  headingVector,
  localFrame,
  toGeo,
} from "../lib/client/globe_coords.ts";
import { haversineM } from "../lib/geo/mod.ts";
import { countryOfAddress } from "../lib/client/icao_country.ts";
import { ReplayClock, shouldFetch, sliderRange } from "../lib/client/time_travel.ts";
import { formatHash, parseHash } from "../lib/client/url_state.ts";
import { matches as hubMatches } from "../lib/hub/filter.ts";
import { flightsCopiesForLoad, replies } from "./_hub_harness.ts";
import { stateVectorToFlight } from "../lib/opensky/state_vector.ts";

const dot = (a: number[], b: number[]) => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;

Deno.test("globe coordinates: three-globe's frame, round trip, orthonormal local frame", () => {
  // three-globe: lat 0 / lng 0 is +Z, the north pole +Y, lng 90 +X.
  const z = globeCoords(0, 0);
  assert.ok(Math.abs(z[2] - GLOBE_RADIUS) < 1e-9 && Math.abs(z[0]) < 1e-9);
  assert.ok(Math.abs(globeCoords(90, 0)[1] - GLOBE_RADIUS) < 1e-9);
  assert.ok(Math.abs(globeCoords(0, 90)[0] - GLOBE_RADIUS) < 1e-9);
  const g = toGeo(globeCoords(46.8, 8.2, 0.002));
  assert.ok(Math.abs(g.lat - 46.8) < 1e-9 && Math.abs(g.lng - 8.2) < 1e-9);
  assert.ok(Math.abs(g.relAlt - 0.002) < 1e-12);
  const { up, north, east } = localFrame(46.8, 8.2);
  assert.ok(Math.abs(dot(up, north)) < 1e-12 && Math.abs(dot(up, east)) < 1e-12);
  assert.ok(Math.abs(dot(north, north) - 1) < 1e-12 && Math.abs(dot(east, east) - 1) < 1e-12);
  // North really points to higher latitudes, east to higher longitudes.
  const p = globeCoords(46.8, 8.2);
  const n = toGeo([p[0] + north[0], p[1] + north[1], p[2] + north[2]]);
  const e = toGeo([p[0] + east[0], p[1] + east[1], p[2] + east[2]]);
  assert.ok(n.lat > 46.8 && e.lng > 8.2);
  const h = headingVector(46.8, 8.2, 90);
  assert.ok(Math.abs(dot(h, east) - 1) < 1e-12);
});

Deno.test("the chase camera sits behind and above the aircraft and looks ahead", () => {
  const a = { lat: 46.8, lng: 8.2, altM: 10_000, trackDeg: 90 };
  const cam = chaseCamera(a, { back: 9000, above: 2600, ahead: 8000 });
  const pos = toGeo(cam.position), target = toGeo(cam.target);
  assert.ok(pos.lng < 8.2 && target.lng > 8.2, "behind to the west, looking east");
  assert.ok(
    Math.abs(haversineM({ lat: pos.lat, lon: pos.lng }, { lat: 46.8, lon: 8.2 }) - 9000) < 20,
  );
  assert.ok(pos.relAlt > target.relAlt);
});

Deno.test("altitude colours run warm to cool; ground is its own grey", () => {
  assert.equal(toHex(aircraftColour(null, true)), toHex(GROUND_COLOUR));
  const low = altitudeColour(300), high = altitudeColour(11_000);
  assert.ok(low[0] > low[2] && high[2] > high[0], "low is red-ish, high blue-ish");
  assert.equal(toHex(altitudeColour(20_000)), toHex(altitudeColour(13_000)));
  assert.deepEqual(legendTicks().map((t) => t.label), ["0", "10k", "20k", "30k", "40k"]);
});

const allFlights: Flight[] = replies.flatMap((r) =>
  (r.states ?? []).flatMap((row) => {
    const f = stateVectorToFlight(row);
    return f.ok ? [f.flight] : [];
  })
);
const taxi: Flight[] = Deno.readTextFileSync(
  new URL("../fixtures/opensky_sv_EDW24_LSZH-taxi_2024-04-06_1s.jsonl", import.meta.url),
).split("\n").filter((l) => l.trim()).slice(0, 400).flatMap((l) =>
  (JSON.parse(l).states ?? []).flatMap((row: unknown) => {
    const f = stateVectorToFlight(row);
    return f.ok ? [f.flight] : [];
  })
);

Deno.test("local filtering agrees with the hub's filter for the subscription it sends", () => {
  const flights = [...allFlights.slice(0, 2000), ...taxi];
  assert.ok(taxi.some((f) => f.on_ground && f.altitude_m === null), "taxi rows without altitude");
  const filters: FilterState[] = [
    DEFAULT_FILTER,
    { ...DEFAULT_FILTER, minAltFt: 35_000 },
    { ...DEFAULT_FILTER, maxAltFt: 30_000 },
    { ...DEFAULT_FILTER, minAltFt: 1_000, maxAltFt: 38_000, ground: false },
    { ...DEFAULT_FILTER, airborne: false },
    { ...DEFAULT_FILTER, minAltFt: 1_000, airborne: false },
    { ...DEFAULT_FILTER, ground: false, airborne: false },
  ];
  for (const f of filters) {
    const sub = toSubscription(f);
    for (const flight of flights) {
      assert.equal(
        matchesFilter(flight, f),
        hubMatches(flight, sub),
        `${flight.icao24} alt ${flight.altitude_m} ground ${flight.on_ground} with ${
          JSON.stringify(f)
        }`,
      );
    }
  }
});

Deno.test("search finds callsigns and addresses, best matches first", () => {
  const flights = flightsCopiesForLoad(90, 0);
  const withCs = flights.find((f) => f.callsign)!;
  const exact = searchFlights(flights, withCs.callsign!.toLowerCase());
  assert.equal(exact[0]!.icao24, withCs.icao24);
  assert.equal(searchFlights(flights, withCs.icao24.toUpperCase())[0]!.icao24, withCs.icao24);
  const prefix = withCs.callsign!.slice(0, 3);
  const hits = searchFlights(flights, prefix, 100);
  assert.ok(
    hits.every((f) =>
      (f.callsign ?? "").includes(prefix) || f.icao24.includes(prefix.toLowerCase())
    ),
  );
  assert.deepEqual(searchFlights(flights, "  "), []);
});

Deno.test("URL state round-trips and ignores junk", () => {
  const u = {
    sel: "4b1901",
    view: "cockpit" as const,
    lat: 46.5,
    lng: 7.25,
    alt: 0.3,
    t: "2018-08-01T11:40:00.000Z",
    speed: 10,
    q: "SWR",
  };
  assert.deepEqual(parseHash(formatHash(u)), u);
  assert.deepEqual(parseHash("#sel=XYZ&view=up&lat=200&lng=5&alt=-1&t=yesterday&speed=0"), {});
  assert.equal(formatHash({}), "");
  assert.equal(parseHash("#sel=4B1901").sel, "4b1901");
});

const airportsFile = JSON.parse(
  Deno.readTextFileSync(new URL("../static/airports.json", import.meta.url)),
) as AirportsFile;
const airports = new AirportIndex(airportsFile.airports);

Deno.test("the airports file lists large and medium airports; nearest and visible work", () => {
  assert.ok(airports.all.length > 4000);
  assert.ok(airports.all.some((a) => a.ident === "LSZH" && a.iata === "ZRH" && a.large));
  assert.ok(airports.all.every((a) => Math.abs(a.lat) <= 90 && Math.abs(a.lon) <= 180));
  assert.equal(airports.nearest(47.4647, 8.5492)!.airport.ident, "LSZH");
  assert.equal(describePlace(airports, 47.46, 8.55), "at Zürich (ZRH)");
  assert.match(describePlace(airports, 47.2, 7.75), /km from .* \([A-Z]{3}\)/);
  assert.equal(describePlace(null, 10, 20), "10.00°, 20.00°");
  assert.deepEqual(airports.visible({ lat: 47, lng: 8, altitude: 2 }), []);
  const near = airports.visible({ lat: 47, lng: 8, altitude: 0.1 });
  assert.ok(near.some((a) => a.iata === "ZRH") && near.some((a) => a.iata === "GVA"));
  // Across the antimeridian.
  assert.ok(airports.near(-17.75, 179.9, 300_000).some((a) => a.country === "FJ"));
});

const event = (over: Partial<AnomalyEvent>): AnomalyEvent => ({
  id: "ev-00000001",
  kind: "go_around",
  severity: "warning",
  icao24: "406d95",
  callsign: "EZY158T",
  started_at: "2017-02-05T16:08:20Z",
  ended_at: "2017-02-05T16:09:40Z",
  position: { lat: 43.63, lon: 1.37, altitude_m: 190 },
  evidence: {},
  ...over,
});

Deno.test("the anomaly feed merges by id, newest first; emergencies pulse while active", () => {
  const feed = new AnomalyFeed(3);
  assert.equal(
    feed.add([event({}), event({ id: "ev-00000002", started_at: "2017-02-05T16:25:56Z" })]),
    2,
  );
  assert.equal(feed.add([event({ ended_at: "2017-02-05T16:10:00Z" })]), 0);
  assert.equal(feed.get("ev-00000001")!.ended_at, "2017-02-05T16:10:00Z");
  assert.deepEqual(feed.list().map((e) => e.id), ["ev-00000002", "ev-00000001"]);
  feed.add(
    [3, 4, 5].map((i) => event({ id: `ev-0000000${i}`, started_at: `2017-02-05T17:0${i}:00Z` })),
  );
  assert.equal(feed.size, 3);
  const now = Date.parse("2017-02-05T17:00:00Z") / 1000;
  const sq = event({ kind: "emergency_squawk", severity: "critical", ended_at: null });
  assert.ok(isActiveEmergency(sq, now));
  assert.ok(!isActiveEmergency(event({}), now));
  assert.ok(!isActiveEmergency({ ...sq, ended_at: "2017-02-05T16:00:00Z" }, now));
  assert.equal(kindLabel("go_around"), "Go-around");
  assert.equal(kindLabel("new_kind"), "new kind");
});

Deno.test("the replay clock plays at speed, pauses, seeks; fetches are paced", () => {
  let wall = 0;
  const c = new ReplayClock(1000, { wallMs: () => wall, speed: 10 });
  wall = 5000;
  assert.equal(c.now(), 1000);
  c.play();
  wall = 7000;
  assert.equal(c.now(), 1020);
  c.setSpeed(60);
  wall = 8000;
  assert.equal(c.now(), 1080);
  c.pause();
  wall = 9000;
  assert.equal(c.now(), 1080);
  c.seek(500);
  assert.equal(c.now(), 500);
  assert.ok(!c.clamp(600));
  c.play();
  wall = 200_000;
  assert.ok(c.clamp(600));
  assert.equal(c.now(), 600);
  assert.deepEqual(sliderRange(10_000.7), { minS: 10_000 - 7200, maxS: 10_000 });
  const base = { inFlight: false, lastFetchS: 100, lastFetchWallMs: 0, nowS: 106, wallMs: 1000 };
  assert.ok(shouldFetch(base));
  assert.ok(!shouldFetch({ ...base, inFlight: true }));
  assert.ok(!shouldFetch({ ...base, wallMs: 100 }));
  assert.ok(!shouldFetch({ ...base, nowS: 102 }));
  assert.ok(shouldFetch({ ...base, lastFetchS: null }));
});

Deno.test("borders.bin decodes into coast and border lines on the globe", () => {
  const lines = parseBorders(
    Deno.readFileSync(new URL("../static/borders.bin", import.meta.url)).buffer,
  );
  assert.ok(lines.some((l) => l.kind === 0) && lines.some((l) => l.kind === 1));
  const coast = segmentPositions(lines, 0);
  assert.equal(coast.length % 6, 0);
  for (let i = 0; i < coast.length; i += 3 * 97) {
    const r = Math.hypot(coast[i]!, coast[i + 1]!, coast[i + 2]!);
    assert.ok(r > GLOBE_RADIUS && r < GLOBE_RADIUS * 1.001);
  }
  assert.throws(() => parseBorders(new ArrayBuffer(8)), /magic/);
});

Deno.test("framing centres on the aircraft and zooms to their spread", () => {
  const pov = framingPov(flightsCopiesForLoad(90, 0).map((f) => f.position))!;
  assert.ok(pov.lat > 45.5 && pov.lat < 48 && pov.lng > 5.5 && pov.lng < 10.5);
  assert.ok(pov.altitude > 0.08 && pov.altitude < 0.6);
  assert.equal(framingPov([]), null);
});

Deno.test("numbers read like aviation: feet, flight levels, knots, ft/min; countries from addresses", () => {
  assert.equal(formatAltitude(10_363.2), "34,000 ft");
  assert.equal(formatAltitude(10_363.2, { flightLevel: true }), "FL340");
  assert.equal(formatAltitude(null), "—");
  assert.equal(formatSpeed(233.82), "455 kt");
  assert.equal(formatVerticalRate(0.2), "level");
  assert.equal(formatVerticalRate(-10), "−1,950 ft/min");
  assert.equal(formatHeading(4.4), "004°");
  assert.equal(formatAge(75), "1 min");
  assert.equal(countryOfAddress("4b1901"), "Switzerland");
  assert.equal(countryOfAddress("406d95"), "United Kingdom");
  assert.equal(countryOfAddress("3c6444"), "Germany");
  assert.equal(countryOfAddress("a12345"), "United States");
  assert.equal(countryOfAddress("ffffff"), null);
});
