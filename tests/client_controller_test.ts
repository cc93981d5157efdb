/**
 * The page controller (lib/client/controller.ts) without a browser: a fake
 * socket speaking the protocol with real recorded flights, a fake fetch
 * answering the history API from the recording, and a fake scene.
 */
import assert from "node:assert/strict";
import type { AnomalyEvent } from "../contracts/anomaly.ts";
import type { Flight } from "../contracts/flight.ts";
import type { ServerMessage } from "../contracts/ws.ts";
import type { SocketLike } from "../lib/client/connection.ts";
import { SkyController } from "../lib/client/controller.ts";
import type { FlightStore } from "../lib/client/flight_store.ts";
import type { SceneLike } from "../lib/client/ui_types.ts";
import { flightsCopiesForLoad, replies } from "./_hub_harness.ts";

const T = replies[90]!.time;
const live = flightsCopiesForLoad(90, 0);
const past = flightsCopiesForLoad(30, 0);
const target = live.find((f) => f.callsign)!;
const event: AnomalyEvent = {
  id: `derived7700${target.icao24}`,
  kind: "emergency_squawk",
  severity: "critical",
  icao24: target.icao24,
  callsign: target.callsign,
  started_at: new Date((T - 60) * 1000).toISOString(),
  ended_at: null,
  position: { lat: target.position.lat, lon: target.position.lon, altitude_m: target.altitude_m },
  evidence: { squawk: "7700", derived: "real track, squawk changed for the test" },
};

class Socket implements SocketLike {
  readyState = 1;
  binaryType = "";
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: { type: string; filter?: unknown }[] = [];
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {}
  push(m: ServerMessage) {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
}

function fakeFetch(calls: string[]): typeof fetch {
  return (input: string | URL | Request) => {
    const url = new URL(String(input), "http://x");
    calls.push(url.pathname + url.search);
    const json = (body: unknown, status = 200) => Promise.resolve(Response.json(body, { status }));
    if (url.pathname === "/api/anomalies") return json({ anomalies: [event], next_cursor: null });
    if (url.pathname === "/api/snapshot") {
      return json({ at: url.searchParams.get("at"), flights: past, count: past.length });
    }
    const m = url.pathname.match(/^\/api\/flights\/([0-9a-f]{6})(\/track)?$/);
    if (m && m[2]) {
      const points = replies.slice(60, 91).flatMap((r, i) => {
        const f = flightsCopiesForLoad(60 + i, 0).find((x) => x.icao24 === m[1]);
        return f
          ? [{
            ts: new Date(r.time * 1000).toISOString(),
            lat: f.position.lat,
            lon: f.position.lon,
            altitude_m: f.altitude_m,
            velocity_mps: f.velocity_mps,
            heading_deg: f.heading_deg,
            vertical_rate_mps: f.vertical_rate_mps,
            raw: { lat: f.position.lat, lon: f.position.lon, altitude_m: f.altitude_m },
          }]
          : [];
      });
      return json({ icao24: m[1], from: "", to: "", points });
    }
    if (m) return json({ icao24: m[1], flight: null, session: null });
    return json({ error: { code: "not_found", message: "no" } }, 404);
  };
}

class Scene implements SceneLike {
  store: FlightStore | null = null;
  flights: { lat: number; lng: number }[] = [];
  trail: [number, number, number][] | null = null;
  cockpit = false;
  fps = 60;
  selectedDrawn = null;
  bindStore(s: FlightStore) {
    this.store = s;
  }
  flyTo(p: { lat: number; lng: number }) {
    this.flights.push(p);
  }
  enterCockpit() {
    this.cockpit = true;
  }
  leaveCockpit() {
    this.cockpit = false;
  }
  setTrail(p: [number, number, number][] | null) {
    this.trail = p;
  }
  setRings() {}
  cameraPosition(): [number, number, number] {
    return [0, 0, 300];
  }
  pointOfView() {
    return { lat: 0, lng: 0, altitude: 2.5 };
  }
}

const settle = () => new Promise((r) => setTimeout(r, 20));

Deno.test("controller: live data, filters, selection with trail, anomalies, time travel, URL", async () => {
  const socket = new Socket();
  const calls: string[] = [];
  const clockMs = (T + 5) * 1000;
  const c = new SkyController({
    wsUrl: "ws://x/ws",
    encoding: "json",
    socket: () => socket,
    api: { fetch: fakeFetch(calls) },
    now: () => clockMs,
  });
  const scene = new Scene();
  c.attachScene(scene);
  c.start({});
  try {
    socket.push({
      type: "hello",
      protocol: 1,
      server_time_ms: clockMs,
      encoding: "json",
      delta_interval_ms: 200,
      stale_threshold_s: 60,
      source: "memory",
    });
    socket.push({ type: "snapshot", seq: 1, server_time_ms: clockMs, flights: live });
    assert.equal(scene.store, c.live);
    assert.equal(c.snapshot().count, live.length);
    assert.equal(c.snapshot().connection, "live");
    assert.equal(scene.flights.length, 1, "framed the aircraft once");
    const moved: Flight = { ...target, time_position_unix: target.time_position_unix + 10 };
    socket.push({
      type: "delta",
      seq: 2,
      server_time_ms: clockMs,
      upserts: [moved],
      removes: [live[1]!.icao24],
    });
    assert.equal(c.live.size, live.length - 1);
    assert.deepEqual(c.live.flights.get(target.icao24)!.flight, moved);

    c.setFilter({ minAltFt: 30_000 });
    assert.deepEqual(socket.sent.at(-1), { type: "subscribe", filter: { min_altitude_m: 9144 } });

    c.setQuery(target.callsign!);
    assert.equal(c.snapshot().results[0]!.icao24, target.icao24);
    c.select(target.icao24, { fly: true });
    await settle();
    assert.ok(calls.some((u) => u.startsWith(`/api/flights/${target.icao24}/track?from=`)));
    assert.ok(scene.trail && scene.trail.length > 5, "trail drawn");
    assert.deepEqual(c.snapshot().selected!.flight, moved);
    c.setCockpit(true);
    assert.ok(scene.cockpit);
    assert.deepEqual(c.urlState(), { sel: target.icao24, view: "cockpit", q: target.callsign! });
    c.setCockpit(false);

    assert.deepEqual(c.snapshot().anomalies.map((e) => e.id), [event.id]);
    c.select(null);
    c.focusAnomaly(event.id);
    assert.equal(c.snapshot().selected!.icao24, target.icao24);
    c.tick();
    assert.ok(c.frame().emergencies.has(target.icao24));

    c.enterReplay(T - 1800);
    await settle();
    assert.ok(calls.some((u) => u.startsWith("/api/snapshot?at=")));
    assert.notEqual(scene.store, c.live);
    // The local filter applies to history too (FL300 and above).
    const expected = past.filter((f) => (f.altitude_m ?? 0) >= 9144).length;
    assert.equal(c.snapshot().count, expected);
    assert.equal(c.snapshot().mode, "replay");
    assert.equal(c.urlState().t, new Date((T - 1800) * 1000).toISOString());
    c.goLive();
    assert.equal(scene.store, c.live);
    assert.equal(c.snapshot().mode, "live");
  } finally {
    c.stop();
  }
});

Deno.test("controller: the subscription follows the viewport with hysteresis; time travel asks for it too", async () => {
  const socket = new Socket();
  const calls: string[] = [];
  const clockMs = (T + 5) * 1000;
  const c = new SkyController({
    wsUrl: "ws://x/ws",
    encoding: "json",
    socket: () => socket,
    api: { fetch: fakeFetch(calls) },
    now: () => clockMs,
    anomalyWindowHours: 2,
  });
  c.attachScene(new Scene());
  c.start({});
  const subscribes = () => socket.sent.filter((m) => m.type === "subscribe");
  try {
    socket.push({
      type: "hello",
      protocol: 1,
      server_time_ms: clockMs,
      encoding: "json",
      delta_interval_ms: 200,
      stale_threshold_s: 60,
      source: "memory",
    });
    socket.push({
      type: "snapshot",
      seq: 1,
      server_time_ms: clockMs,
      flights: live,
      total: 11_000,
    });
    // The anomaly feed starts ANOMALY_WINDOW_HOURS back (passed in), not a fixed 24 h.
    const since = new Date(clockMs - 2 * 3600_000).toISOString();
    assert.ok(calls.some((u) => u.includes(`since=${encodeURIComponent(since)}`)), calls.join());
    // The whole globe in view: no bbox at all.
    c.notePov({ lat: 46.8, lng: 8.2, altitude: 2.5 });
    assert.ok(subscribes().every((m) => !(m.filter as { bbox?: unknown }).bbox));
    const ui = c.snapshot();
    assert.equal(ui.total, 11_000, "the world count is the hub's");
    assert.equal(ui.inView, live.length);

    // Zoomed in over Switzerland: one subscribe with a box around the view.
    const before = subscribes().length;
    c.notePov({ lat: 46.8, lng: 8.2, altitude: 0.1 });
    assert.equal(subscribes().length, before + 1);
    const bbox = (subscribes().at(-1)!.filter as { bbox: number[] }).bbox;
    const [lamin, lomin, lamax, lomax] = bbox as [number, number, number, number];
    assert.ok(lamin < 45.8 && lamax > 47.8 && lomin < 5.9 && lomax > 10.5, `box ${bbox}`);
    assert.ok(lamax - lamin < 40, `a regional box, not the world: ${bbox}`);
    // A small pan sends nothing.
    c.notePov({ lat: 47.0, lng: 8.5, altitude: 0.1 });
    c.notePov({ lat: 46.6, lng: 8.0, altitude: 0.11 });
    assert.equal(subscribes().length, before + 1, "hysteresis");
    // The server answers the new subscription; the next delta keeps the count.
    socket.push({
      type: "snapshot",
      seq: 2,
      server_time_ms: clockMs,
      flights: live,
      total: 11_000,
    });
    assert.ok(c.snapshot().inView <= live.length);
    // Flying across the Atlantic leaves the box: a new one.
    c.notePov({ lat: 40.6, lng: -73.8, altitude: 0.1 });
    assert.equal(subscribes().length, before + 2);
    const ny = (subscribes().at(-1)!.filter as { bbox: number[] }).bbox;
    assert.ok(ny[1]! < -73.8 && ny[3]! > -73.8, `box ${ny}`);
    // Zooming back out to the whole globe drops the box.
    c.notePov({ lat: 40.6, lng: -73.8, altitude: 2.5 });
    assert.equal((subscribes().at(-1)!.filter as { bbox?: unknown }).bbox, undefined);

    // Time travel asks /api/snapshot for the viewport.
    c.notePov({ lat: 46.8, lng: 8.2, altitude: 0.1 });
    const box = (subscribes().at(-1)!.filter as { bbox: number[] }).bbox;
    c.enterReplay(T - 1800);
    await settle();
    const snap = calls.filter((u) => u.startsWith("/api/snapshot?")).at(-1)!;
    assert.equal(new URL(snap, "http://x").searchParams.get("bbox"), box.join(","));
    assert.equal(c.snapshot().total, null, "no world count in time travel");
  } finally {
    c.stop();
  }
});
