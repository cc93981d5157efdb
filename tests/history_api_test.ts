/**
 * The history API against real PostgreSQL (DATABASE_URL) and the embedded
 * database, through the real server (createWebApp + Deno.serve + fetch).
 *
 * The tables are filled by {@link fillFromRecordings} with rows derived from
 * real recordings (EZY158T's two go-arounds at Toulouse, 2017-02-05, and
 * the Switzerland 30-minute file, 2018-08-01): raw = smoothed (the worker's
 * Kalman filter is not involved here), one session per aircraft, and
 * anomaly rows placed at real positions (`derived_*` ids and evidence).
 */
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import {
  AnomaliesResponse,
  FlightDetailResponse,
  SnapshotResponse,
  TrackResponse,
} from "../contracts/api.ts";
import type { AnomalyEvent, AnomalyKind } from "../contracts/anomaly.ts";
import type { Flight } from "../contracts/flight.ts";
import type { Sql } from "../lib/db/mod.ts";
import { serveApi } from "./_api_server.ts";
import { track } from "../services/web/history.ts";
import { freshEmbedded, freshPostgres, measuredColumns, type TestDatabase } from "./_db.ts";
import { skipWithoutPostgres } from "./_services.ts";
import { recordedFlights } from "./_recordings.ts";

const EZY = "406d95";

const readFlights = (file: string) => recordedFlights(file);

/** What the tables hold, for computing expectations independently of the SQL. */
interface Filled {
  /** First flight per (icao24, time_position): what ON CONFLICT DO NOTHING keeps. */
  history: Flight[];
  anomalies: AnomalyEvent[];
}

const iso = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();

/**
 * Fills flights_history, flights_current, flights and anomalies from the
 * recordings, the way the worker will (minus smoothing).
 */
async function fillFromRecordings(sql: Sql): Promise<Filled> {
  const ezy = await readFlights(
    "opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl",
  );
  const swiss = await readFlights("states_switzerland_2018-08-01T1130Z_30min_10s.jsonl");
  const seen = new Set<string>();
  const history = [...ezy, ...swiss].filter((f) => {
    const key = `${f.icao24}@${f.time_position_unix}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  for (const day of ["2017-02-05", "2018-08-01"]) {
    await sql`SELECT flights_history_ensure_partition(${day}::date)`;
  }
  const sessionOf = (f: Flight) => `derived_session_${f.icao24}`;
  const rows = history.map((f) => ({
    icao24: f.icao24,
    ts: new Date(f.time_position_unix * 1000),
    session_id: sessionOf(f),
    ...measuredColumns(f),
  }));
  for (let i = 0; i < rows.length; i += 1000) {
    await sql`INSERT INTO flights_history ${sql(rows.slice(i, i + 1000))}
      ON CONFLICT (icao24, ts) DO NOTHING`;
  }

  const last = new Map<string, Flight>();
  const first = new Map<string, Flight>();
  for (const f of history) {
    if ((last.get(f.icao24)?.time_position_unix ?? -Infinity) < f.time_position_unix) {
      last.set(f.icao24, f);
    }
    if ((first.get(f.icao24)?.time_position_unix ?? Infinity) > f.time_position_unix) {
      first.set(f.icao24, f);
    }
  }
  for (const f of last.values()) {
    const start = first.get(f.icao24)!;
    await sql`INSERT INTO flights_current
      (icao24, callsign, lat, lon, altitude_m, on_ground, state, ts, session_id)
      VALUES (${f.icao24}, ${f.callsign}, ${f.position.lat}, ${f.position.lon}, ${f.altitude_m},
              ${f.on_ground}, ${sql.json(f as never)}, ${new Date(f.time_position_unix * 1000)},
              ${sessionOf(f)})`;
    await sql`INSERT INTO flights (id, icao24, callsign, first_seen, last_seen, ended_at, end_reason)
      VALUES (${sessionOf(f)}, ${f.icao24}, ${f.callsign},
              ${new Date(start.time_position_unix * 1000)}, ${new Date(f.last_contact_unix * 1000)},
              ${new Date((f.last_contact_unix + 1200) * 1000)}, 'timeout')`;
  }

  const anomalies = derivedAnomalies(ezy, swiss);
  for (const a of anomalies) {
    await sql`INSERT INTO anomalies
      (id, kind, severity, icao24, callsign, started_at, ended_at, lat, lon, altitude_m, evidence)
      VALUES (${a.id}, ${a.kind}, ${a.severity}, ${a.icao24}, ${a.callsign},
              ${new Date(a.started_at)}, ${a.ended_at ? new Date(a.ended_at) : null},
              ${a.position.lat}, ${a.position.lon}, ${a.position.altitude_m},
              ${sql.json(a.evidence as never)})`;
  }
  return { history, anomalies };
}

/**
 * Anomaly rows at real positions: EZY158T's two go-around low points
 * (lowest altitude in each approach window), and, for pagination, events
 * derived from Switzerland aircraft every 100 rows; every third pair shares
 * its start time so the id tie-break matters.
 */
function derivedAnomalies(ezy: Flight[], swiss: Flight[]): AnomalyEvent[] {
  const events: AnomalyEvent[] = [];
  const lowest = (from: number, to: number) =>
    ezy.filter((f) => f.time_position_unix >= from && f.time_position_unix <= to)
      .reduce((a, b) => ((b.altitude_m ?? Infinity) < (a.altitude_m ?? Infinity) ? b : a));
  // 16:05-16:12Z and 16:22-16:29Z: the two approaches to runway 32R.
  for (
    const [n, window] of [[1, [1486310700, 1486311120]], [2, [1486311720, 1486312140]]] as const
  ) {
    const f = lowest(window[0], window[1]);
    events.push({
      id: `derived_go_around_${n}_${f.icao24}`,
      kind: "go_around",
      severity: "warning",
      icao24: f.icao24,
      callsign: f.callsign,
      started_at: iso(f.time_position_unix),
      ended_at: iso(f.time_position_unix + 120),
      position: { lat: f.position.lat, lon: f.position.lon, altitude_m: f.altitude_m },
      evidence: { derived_for_test: true, min_altitude_m: f.altitude_m, airport: "LFBO" },
    });
  }
  const kinds: AnomalyKind[] = ["emergency_squawk", "holding", "emergency_descent", "landing"];
  for (let i = 0; i * 100 < swiss.length; i++) {
    const f = swiss[i * 100]!;
    const tie = i % 3 === 1 ? swiss[(i - 1) * 100]!.time_position_unix : f.time_position_unix;
    const kind = kinds[i % kinds.length]!;
    events.push({
      id: `derived_${kind}_${String(i).padStart(3, "0")}_${f.icao24}`,
      kind,
      severity: kind === "landing" ? "info" : kind === "holding" ? "warning" : "critical",
      icao24: f.icao24,
      callsign: f.callsign,
      started_at: iso(tie),
      ended_at: null,
      position: { lat: f.position.lat, lon: f.position.lon, altitude_m: f.altitude_m },
      evidence: { derived_for_test: true, source_row: i * 100 },
    });
  }
  return events;
}

/** Newest first, id desc on ties: the API's order. */
function apiOrder(a: AnomalyEvent, b: AnomalyEvent): number {
  if (a.started_at !== b.started_at) return a.started_at < b.started_at ? 1 : -1;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

async function withServer(
  db: TestDatabase,
  fn: (ctx: {
    get: (path: string) => Promise<Response>;
    filled: Filled;
    sql: Sql;
  }) => Promise<void>,
) {
  const filled = await fillFromRecordings(db.sql);
  const registry = new Registry();
  const server = await serveApi(db.sql, { registry });
  try {
    await fn({
      get: (path) => fetch(`${server.origin}${path}`),
      filled,
      sql: db.sql,
    });
  } finally {
    await server.shutdown();
  }
}

async function json(res: Response, status = 200): Promise<Record<string, unknown>> {
  const body = await res.json();
  assert.equal(res.status, status, JSON.stringify(body));
  return body;
}

async function expect400(res: Response, param: string): Promise<string> {
  const body = await json(res, 400) as { error: { code: string; message: string } };
  assert.equal(body.error.code, "bad_request");
  assert.ok(body.error.message.startsWith(`${param}: `), body.error.message);
  return body.error.message;
}

/** The whole suite, against one database. */
async function historySuite(t: Deno.TestContext, db: TestDatabase): Promise<void> {
  await withServer(db, async ({ get, filled, sql }) => {
    const ezy = filled.history.filter((f) => f.icao24 === EZY);

    await t.step("trail: ordered, within the range, smoothed and raw", async () => {
      const from = "2017-02-05T16:00:00Z";
      const to = "2017-02-05T16:30:00Z";
      const body = TrackResponse.parse(
        await json(await get(`/api/flights/${EZY}/track?from=${from}&to=${to}`)),
      );
      const lo = Date.parse(from) / 1000;
      const hi = Date.parse(to) / 1000;
      const expected = ezy.filter((f) => f.time_position_unix >= lo && f.time_position_unix <= hi)
        .sort((a, b) => a.time_position_unix - b.time_position_unix);
      assert.equal(body.icao24, EZY);
      assert.equal(body.from, "2017-02-05T16:00:00.000Z");
      assert.equal(body.points.length, expected.length);
      assert.ok(body.points.length > 1500);
      body.points.forEach((p, i) => {
        const f = expected[i]!;
        assert.equal(p.ts, iso(f.time_position_unix));
        assert.deepEqual(p.raw, {
          lat: f.position.lat,
          lon: f.position.lon,
          altitude_m: f.altitude_m,
        });
        assert.equal(p.lat, f.position.lat);
        assert.equal(p.heading_deg, f.heading_deg);
        if (i > 0) assert.ok(p.ts > body.points[i - 1]!.ts, "strictly increasing");
      });
      // The first go-around's low point (fixtures/README.md: about 190 m baro at 16:08:20Z).
      const approach = body.points.filter((p) =>
        p.ts >= "2017-02-05T16:05:00" && p.ts <= "2017-02-05T16:12:00"
      );
      const low = approach.reduce((a, b) => (b.altitude_m! < a.altitude_m! ? b : a));
      assert.equal(low.altitude_m, 190.5);
      assert.equal(low.ts.slice(0, 16), "2017-02-05T16:08");

      const unix = TrackResponse.parse(
        await json(await get(`/api/flights/${EZY}/track?from=${lo}&to=${hi}`)),
      );
      assert.deepEqual(unix, body, "unix seconds and ISO 8601 are the same range");
      const upper = TrackResponse.parse(
        await json(await get(`/api/flights/406D95/track?from=${lo}&to=${hi}`)),
      );
      assert.equal(upper.points.length, body.points.length, "icao24 is case-insensitive");
    });

    await t.step("trail: default last hour, thinning, unknown aircraft", async () => {
      const recent = TrackResponse.parse(await json(await get(`/api/flights/${EZY}/track`)));
      assert.deepEqual(recent.points, [], "known aircraft, nothing in the last hour");
      assert.equal(Date.parse(recent.to) - Date.parse(recent.from), 3600_000);
      await json(await get("/api/flights/abcdef/track?from=2017-02-05T16:00:00Z"), 404);
      const hour = TrackResponse.parse(
        await json(await get(`/api/flights/${EZY}/track?from=2017-02-05T16:00:00Z`)),
      );
      assert.equal(hour.to, "2017-02-05T17:00:00.000Z", "from alone: the hour after it");
      assert.equal(hour.points.at(-1)!.ts, iso(Math.max(...ezy.map((f) => f.time_position_unix))));
      const before = TrackResponse.parse(
        await json(await get(`/api/flights/${EZY}/track?to=2017-02-05T16:00:00Z`)),
      );
      assert.equal(before.from, "2017-02-05T15:00:00.000Z", "to alone: the hour before it");
      assert.equal(before.points[0]!.ts, iso(Math.min(...ezy.map((f) => f.time_position_unix))));

      const thinned = await track(sql, EZY, {
        from: new Date("2017-02-05T15:00:00Z"),
        to: new Date("2017-02-05T17:00:00Z"),
        maxPoints: 100,
      });
      assert.equal(thinned?.resolution, "fine");
      const thin = thinned?.points ?? null;
      assert.ok(thin !== null && thin.length <= 100 && thin.length >= 90, `${thin?.length}`);
      const all = ezy.map((f) => f.time_position_unix).sort((a, b) => a - b);
      assert.equal(thin[0]!.ts, iso(all[0]!), "first point kept");
      assert.equal(thin[thin.length - 1]!.ts, iso(all[all.length - 1]!), "last point kept");
      for (let i = 1; i < thin.length; i++) assert.ok(thin[i]!.ts > thin[i - 1]!.ts);
    });

    await t.step("flight detail: latest state and session, 404, 400", async () => {
      const body = FlightDetailResponse.parse(await json(await get(`/api/flights/${EZY}`)));
      const last = ezy.reduce((a, b) => (b.time_position_unix > a.time_position_unix ? b : a));
      assert.deepEqual(body.flight, last);
      assert.equal(body.session?.id, `derived_session_${EZY}`);
      assert.equal(body.session?.callsign, "EZY158T");
      assert.equal(
        body.session?.first_seen,
        iso(Math.min(...ezy.map((f) => f.time_position_unix))),
      );
      await json(await get("/api/flights/abcdef"), 404);
      await expect400(await get("/api/flights/xyz"), "icao24");
      await expect400(await get("/api/flights/406d95x"), "icao24");
      await expect400(await get(`/api/flights/${EZY}?foo=1`), "foo");
    });

    await t.step("time travel: the aircraft and positions of a past moment", async () => {
      const at = "2018-08-01T11:45:00Z";
      const atS = Date.parse(at) / 1000;
      const latest = new Map<string, Flight>();
      for (const f of filled.history) {
        if (f.time_position_unix <= atS - 60 || f.time_position_unix > atS) continue;
        const seen = latest.get(f.icao24);
        if (!seen || seen.time_position_unix < f.time_position_unix) latest.set(f.icao24, f);
      }
      const expected = [...latest.values()].sort((a, b) => a.icao24.localeCompare(b.icao24));
      assert.ok(expected.length > 20, "real traffic at 11:45Z");

      const body = SnapshotResponse.parse(await json(await get(`/api/snapshot?at=${at}`)));
      assert.equal(body.at, "2018-08-01T11:45:00.000Z");
      assert.equal(body.count, expected.length);
      assert.deepEqual(body.flights, expected);

      const bbox = [46.5, 7.0, 47.5, 9.0] as const;
      const inBox = expected.filter((f) =>
        f.position.lat >= bbox[0] && f.position.lat <= bbox[2] && f.position.lon >= bbox[1] &&
        f.position.lon <= bbox[3]
      );
      assert.ok(inBox.length > 0 && inBox.length < expected.length);
      const boxed = SnapshotResponse.parse(
        await json(await get(`/api/snapshot?at=${atS}&bbox=${bbox.join(",")}`)),
      );
      assert.deepEqual(boxed.flights, inBox);

      const ezyAt = SnapshotResponse.parse(
        await json(await get("/api/snapshot?at=2017-02-05T16:08:30Z")),
      );
      assert.deepEqual(ezyAt.flights.map((f) => f.icao24), [EZY]);
      assert.ok(ezyAt.flights[0]!.time_position_unix <= Date.parse("2017-02-05T16:08:30Z") / 1000);

      const empty = SnapshotResponse.parse(await json(await get("/api/snapshot?at=2000-01-01")));
      assert.equal(empty.count, 0);
      await expect400(await get("/api/snapshot?at=yesterday"), "at");
      await expect400(await get("/api/snapshot?at=2018-08-01T11:45:00"), "at");
      assert.match(await expect400(await get("/api/snapshot?bbox=40,0,91,10"), "bbox"), /lamax 91/);
    });

    await t.step("anomalies: pages with no duplicates or gaps", async () => {
      const expected = filled.anomalies.toSorted(apiOrder);
      assert.ok(expected.length > 60);
      const got: AnomalyEvent[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor ? `limit=7&cursor=${cursor}` : "limit=7";
        const page = AnomaliesResponse.parse(await json(await get(`/api/anomalies?${query}`)));
        assert.ok(page.anomalies.length <= 7);
        got.push(...page.anomalies);
        cursor = page.next_cursor;
        pages++;
      } while (cursor !== null && pages < 100);
      assert.equal(pages, Math.ceil(expected.length / 7));
      assert.deepEqual(got, expected);
      assert.equal(new Set(got.map((a) => a.id)).size, got.length, "no duplicates");

      const first = AnomaliesResponse.parse(await json(await get("/api/anomalies")));
      assert.equal(first.anomalies.length, Math.min(100, expected.length));
      assert.equal(first.next_cursor, null);
    });

    await t.step("anomalies: kind, bbox and since/until filters", async () => {
      const goArounds = AnomaliesResponse.parse(
        await json(await get("/api/anomalies?kind=go_around")),
      );
      assert.deepEqual(goArounds.anomalies.map((a) => a.id), [
        `derived_go_around_2_${EZY}`,
        `derived_go_around_1_${EZY}`,
      ]);
      assert.equal(goArounds.anomalies[1]!.position.altitude_m, 190.5);

      const two = AnomaliesResponse.parse(
        await json(await get("/api/anomalies?kind=holding,landing&limit=1000")),
      );
      assert.deepEqual(
        two.anomalies,
        filled.anomalies.filter((a) => a.kind === "holding" || a.kind === "landing").toSorted(
          apiOrder,
        ),
      );

      // Around Toulouse: only EZY158T's events.
      const toulouse = AnomaliesResponse.parse(
        await json(await get("/api/anomalies?bbox=43,0.5,44.5,2")),
      );
      assert.deepEqual(toulouse.anomalies.map((a) => a.icao24), [EZY, EZY]);

      const since = "2018-08-01T11:50:00Z";
      const until = "2018-08-01T11:55:00Z";
      const windowed = AnomaliesResponse.parse(
        await json(await get(`/api/anomalies?since=${since}&until=${until}&limit=1000`)),
      );
      const want = filled.anomalies.filter((a) =>
        Date.parse(a.started_at) >= Date.parse(since) &&
        Date.parse(a.started_at) < Date.parse(until)
      ).toSorted(apiOrder);
      assert.ok(want.length > 0);
      assert.deepEqual(windowed.anomalies, want);

      const recent = AnomaliesResponse.parse(
        await json(
          await get(`/api/anomalies?since=${Date.parse(since) / 1000}&kind=emergency_squawk`),
        ),
      );
      assert.ok(recent.anomalies.length > 0);
      for (const a of recent.anomalies) {
        assert.equal(a.kind, "emergency_squawk");
        assert.ok(a.started_at >= "2018-08-01T11:50:00.000Z");
      }
    });

    await t.step("anomalies: bad parameters are 400 naming the parameter", async () => {
      await expect400(await get("/api/anomalies?limit=0"), "limit");
      await expect400(await get("/api/anomalies?limit=5000"), "limit");
      await expect400(await get("/api/anomalies?limit=ten"), "limit");
      assert.match(
        await expect400(await get("/api/anomalies?kind=ufo"), "kind"),
        /unknown kind "ufo"/,
      );
      await expect400(await get("/api/anomalies?kind=go_around,ufo"), "kind");
      await expect400(await get("/api/anomalies?cursor=garbage!"), "cursor");
      await expect400(await get(`/api/anomalies?cursor=${btoa('{"t":"x","id":"y"}')}`), "cursor");
      await expect400(await get("/api/anomalies?since=last-week"), "since");
      await expect400(await get("/api/anomalies?since=2018-08-02&until=2018-08-01"), "since");
      await expect400(await get("/api/anomalies?bbox=91,0,92,1"), "bbox");
      await expect400(await get("/api/anomalies?severity=critical"), "severity");
    });

    await t.step("trail: bad parameters are 400 naming the parameter", async () => {
      await expect400(await get("/api/flights/zzzzzz/track"), "icao24");
      await expect400(
        await get(`/api/flights/${EZY}/track?from=2017-02-05T17:00:00Z&to=2017-02-05T16:00:00Z`),
        "from",
      );
      assert.match(
        await expect400(
          await get(`/api/flights/${EZY}/track?from=2017-02-01T00:00:00Z&to=2017-02-05T16:00:00Z`),
          "from",
        ),
        /24 h/,
      );
      await expect400(await get(`/api/flights/${EZY}/track?to=tomorrow`), "to");
    });

    await t.step("openapi.json: valid JSON with every path and schema", async () => {
      const doc = await json(await get("/api/openapi.json")) as {
        openapi: string;
        paths: Record<string, { get?: { responses: Record<string, unknown> } }>;
        components: { schemas: Record<string, { type?: string }> };
      };
      assert.equal(doc.openapi, "3.1.0");
      for (
        const path of [
          "/api/flights",
          "/api/flights/{icao24}",
          "/api/flights/{icao24}/track",
          "/api/snapshot",
          "/api/anomalies",
          "/api/openapi.json",
          "/healthz",
          "/metrics",
          // Not /ws: a WebSocket is not an HTTP operation (tests/faults_openapi_test.ts).
        ]
      ) {
        assert.ok(doc.paths[path]?.get?.responses, path);
      }
      for (
        const name of ["FlightsResponse", "TrackResponse", "SnapshotResponse", "AnomaliesResponse"]
      ) {
        assert.equal(doc.components.schemas[name]?.type, "object", name);
      }
      // Every $ref resolves.
      const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
      for (const ref of refs) {
        const name = ref.slice(8, -1).replace("#/components/schemas/", "");
        assert.ok(doc.components.schemas[name], ref);
      }
    });
  });
}

Deno.test({
  name: "history API on PostgreSQL",
  ignore: skipWithoutPostgres(),
  fn: async (t) => {
    const db = await freshPostgres({ migrate: true });
    try {
      await historySuite(t, db);
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "history API on the embedded database",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const db = await freshEmbedded({ migrate: true });
    try {
      await historySuite(t, db);
    } finally {
      await db.close();
    }
  },
});
