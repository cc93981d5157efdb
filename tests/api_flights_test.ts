/**
 * `GET /api/flights` on the real server (createWebApp + Deno.serve) with the
 * real hub fed from the Switzerland recording (times shifted to now):
 * filters with the WebSocket `subscribe` semantics, and 400s naming the
 * parameter.
 */
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { FlightsResponse } from "../contracts/api.ts";
import type { Flight } from "../contracts/flight.ts";
import type { Subscription } from "../contracts/ws.ts";
import { matches } from "../lib/hub/filter.ts";
import { stateVectorToFlight } from "../lib/opensky/state_vector.ts";
import { createWebApp } from "../services/web/app.ts";
import { Hub } from "../services/web/hub.ts";
import { BASE_CONFIG } from "./_hub_harness.ts";

const RECORDING = new URL(
  "../fixtures/states_switzerland_2018-08-01T1130Z_30min_10s.jsonl",
  import.meta.url,
);

/** Snapshot 30 (11:35Z) of the recording as flights, times shifted so they are current. */
async function currentFlights(): Promise<Flight[]> {
  const lines = (await Deno.readTextFile(RECORDING)).split("\n").filter((l) => l.trim());
  const reply = JSON.parse(lines[30]!) as { time: number; states: unknown[] };
  const shift = Math.floor(Date.now() / 1000) - reply.time;
  return reply.states.flatMap((row) => {
    const r = stateVectorToFlight(row, { shiftSeconds: shift });
    return r.ok ? [r.flight] : [];
  });
}

async function serve() {
  const registry = new Registry();
  const hub = new Hub({
    config: {
      ...BASE_CONFIG,
      WS_DELTA_INTERVAL_MS: 200,
      WS_MAX_CLIENTS: 10,
      WS_MAX_BUFFERED_BYTES: 1 << 20,
    },
    registry,
    logger: { info() {}, warn() {} },
  });
  const flights = await currentFlights();
  for (const f of flights) hub.ingest(f);
  hub.tick();
  const handler = await createWebApp({
    config: { WS_STALE_THRESHOLD_SECONDS: 60 },
    hub,
    db: null,
    registry,
    build: "never",
    log: () => {},
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    hub,
    flights,
    base,
    get: (path: string) => fetch(`${base}${path}`),
    close: async () => {
      await hub.stop();
      await server.shutdown();
    },
  };
}

const byId = (a: Flight, b: Flight) => a.icao24.localeCompare(b.icao24);

Deno.test("GET /api/flights: every flight, or those matching the subscribe filters", async () => {
  const app = await serve();
  try {
    const all = await app.get("/api/flights");
    assert.equal(all.status, 200);
    assert.equal(all.headers.get("Content-Type"), "application/json");
    assert.equal(all.headers.get("X-Content-Type-Options"), "nosniff");
    const body = FlightsResponse.parse(await all.json());
    assert.ok(app.flights.length > 20, "the recording has traffic at 11:35Z");
    assert.equal(body.count, app.flights.length);
    assert.deepEqual(body.flights.toSorted(byId), app.flights.toSorted(byId));
    assert.ok(Math.abs(Date.parse(body.at) - Date.now()) < 60_000);

    const cases: [string, Subscription][] = [
      ["bbox=46.5,7.0,47.5,9.0", { bbox: [46.5, 7.0, 47.5, 9.0] }],
      ["min_altitude_m=11000", { min_altitude_m: 11000 }],
      ["min_altitude_m=10000&max_altitude_m=11000", {
        min_altitude_m: 10000,
        max_altitude_m: 11000,
      }],
      ["on_ground=false", { on_ground: false }],
      ["on_ground=true", { on_ground: true }],
      ["callsign_prefix=swr", { callsign_prefix: "swr" }],
      ["callsign_prefix=EZY&bbox=45.8,5.9,47.9,10.5", {
        callsign_prefix: "EZY",
        bbox: [45.8, 5.9, 47.9, 10.5],
      }],
    ];
    for (const [query, sub] of cases) {
      const res = FlightsResponse.parse(await (await app.get(`/api/flights?${query}`)).json());
      const expected = app.flights.filter((f) => matches(f, sub)).toSorted(byId);
      assert.deepEqual(res.flights.toSorted(byId), expected, query);
      assert.equal(res.count, expected.length, query);
      assert.deepEqual(res.flights.toSorted(byId), app.hub.snapshot(sub).toSorted(byId), query);
    }
    const some = FlightsResponse.parse(
      await (await app.get("/api/flights?bbox=46.5,7.0,47.5,9.0"))
        .json(),
    );
    assert.ok(some.count > 0 && some.count < app.flights.length, "the box is a real subset");
  } finally {
    await app.close();
  }
});

Deno.test("GET /api/flights: bad parameters are 400 naming the parameter", async () => {
  const app = await serve();
  try {
    const cases: [string, RegExp][] = [
      ["bbox=1,2,3", /^bbox: expected lamin,lomin,lamax,lomax/],
      ["bbox=10,20,91,30", /^bbox: lamax 91 is out of range/],
      ["bbox=10,200,20,30", /^bbox: lomin 200 is out of range/],
      ["bbox=50,0,40,10", /^bbox: bbox lamin must not exceed lamax/],
      ["bbox=a,b,c,d", /^bbox: /],
      ["min_altitude_m=high", /^min_altitude_m: expected a number/],
      ["max_altitude_m=", /^max_altitude_m: expected a number/],
      ["on_ground=maybe", /^on_ground: expected true or false/],
      ["callsign_prefix=AB-C", /^callsign_prefix: /],
      ["callsign_prefix=ABCDEFGHI", /^callsign_prefix: /],
      ["lamin=45", /^lamin: unknown parameter/],
      ["bbox=1,2,3,4&bbox=1,2,3,4", /^bbox: given more than once/],
    ];
    for (const [query, message] of cases) {
      const res = await app.get(`/api/flights?${query}`);
      assert.equal(res.status, 400, query);
      const body = await res.json();
      assert.equal(body.error.code, "bad_request", query);
      assert.match(body.error.message, message, query);
    }
    const post = await fetch(`${app.base}/api/flights`, { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("Allow"), "GET, HEAD");
    await post.body?.cancel();
  } finally {
    await app.close();
  }
});
