/**
 * Shared harness of the browser tests (tests/ui_*_test.ts) and the globe
 * benchmark: the real web app (createWebApp with the routes, the Globe
 * island and its build) served by `Deno.serve`, a real Hub fed in real time
 * by a replay of the Switzerland recording (times shifted to now), and an
 * embedded database holding the recording's earlier half as history (the
 * rows the worker writes: raw = smoothed here), so that trails and time
 * travel have data. One derived emergency event (a real track with its
 * squawk changed to 7700, named so) is in the database and the hub.
 *
 * Plus headless Chromium (Debian's, via playwright-core) with every
 * non-localhost request blocked and recorded.
 *
 * @module
 */
import { Registry } from "prom-client";
import { type Browser, chromium, type Page } from "playwright-core";
import type { AnomalyEvent } from "../contracts/anomaly.ts";
import type { Flight } from "../contracts/flight.ts";
import { openDatabase } from "../lib/db/mod.ts";
import type { Sql } from "../lib/db/mod.ts";
import type { Manifest } from "../lib/framework/mod.ts";
import { stateVectorToFlight } from "../lib/opensky/state_vector.ts";
import routes from "../routes.gen.ts";
import * as indexRoute from "../routes/index.tsx";
import * as globeIsland from "../islands/Globe.tsx";
import { createWebApp } from "../services/web/app.ts";
import { Hub } from "../services/web/hub.ts";
import { measuredColumns } from "./_db.ts";
import { BASE_CONFIG, replies } from "./_hub_harness.ts";
import { chromiumPath } from "./_services.ts";

/** Snapshot of the recording that plays "now" when the app starts (15 min in). */
export const LIVE_INDEX = 90;

export interface UiApp {
  /** `http://127.0.0.1:port`. */
  origin: string;
  hub: Hub;
  sql: Sql | null;
  /** Recording time + shiftS = wall time. */
  shiftS: number;
  /** The derived emergency event. */
  emergency: AnomalyEvent;
  /** Index of the snapshot fed last. */
  fedIndex(): number;
  close(): Promise<void>;
}

export interface UiAppOptions {
  /** Write history to an embedded database. Default true. */
  history?: boolean;
  /**
   * Copies of every aircraft under new icao24 addresses (derived copies for
   * load, offset in position so they spread out). Default 1 (the recording).
   */
  copies?: number;
  /** ADMIN_TOKEN of the app (alert-rule writes). Default none. */
  adminToken?: string;
}

/** The recording's snapshot `k` as flights, shifted, with `copies` derived copies per aircraft. */
export function snapshotFlights(k: number, shiftS: number, copies = 1): Flight[] {
  const out: Flight[] = [];
  for (const row of replies[k]?.states ?? []) {
    const r = stateVectorToFlight(row, { shiftSeconds: shiftS });
    if (!r.ok) continue;
    out.push(r.flight);
    for (let c = 1; c < copies; c++) out.push(derivedCopy(r.flight, c));
  }
  return out;
}

/**
 * Copy `c` (1..4095) of a real flight: a new icao24 (copies 1..255 put the
 * copy index in the first byte, later ones in the first two) and the track
 * moved on a grid of 2-degree steps across Europe and beyond (shifted again
 * for every 384 copies), so that 20,000 aircraft cover a realistic area
 * instead of one stack.
 */
export function derivedCopy(f: Flight, c: number): Flight {
  const layer = Math.floor(c / 384);
  const dLat = ((c % 16) - 8) * 1.6 + layer * 0.8;
  const dLon = (Math.floor(c / 16) % 24 - 12) * 2.4 + layer * 1.2;
  const icao24 = c < 256
    ? `${c.toString(16).padStart(2, "0")}${f.icao24.slice(2)}`
    : `${c.toString(16).padStart(4, "0")}${f.icao24.slice(4)}`;
  return {
    ...f,
    icao24,
    callsign: f.callsign
      ? `${f.callsign.slice(0, 5)}${(c % 100).toString().padStart(2, "0")}`.slice(0, 8)
      : null,
    position: {
      lat: Math.max(-85, Math.min(85, f.position.lat + dLat)),
      lon: ((f.position.lon + dLon + 540) % 360) - 180,
    },
  };
}

export async function startUiApp(options: UiAppOptions = {}): Promise<UiApp> {
  const copies = options.copies ?? 1;
  const nowS = Math.floor(Date.now() / 1000);
  const shiftS = nowS - replies[LIVE_INDEX]!.time;
  const registry = new Registry();
  const hub = new Hub({
    config: {
      ...BASE_CONFIG,
      WS_DELTA_INTERVAL_MS: 200,
      WS_MAX_CLIENTS: 50,
      WS_MAX_BUFFERED_BYTES: 64 * 1024 * 1024,
    },
    registry,
    source: { kind: "memory", ready: true },
    logger: { info() {}, warn() {} },
  });
  let dataDir: string | null = null;
  let db: Awaited<ReturnType<typeof openDatabase>> | null = null;
  if (options.history ?? true) {
    dataDir = await Deno.makeTempDir({ prefix: "skysentinel-ui-" });
    db = await openDatabase({ dataDir });
  }
  const sql = db?.sql ?? null;

  // The derived emergency: the first aircraft with a callsign that is still
  // flying at the live point, its squawk set to 7700 (no real one was recorded).
  const live = snapshotFlights(LIVE_INDEX, shiftS);
  const victim = live.find((f) => f.callsign && !f.on_ground) ?? live[0]!;
  const emergency: AnomalyEvent = {
    id: `derived7700${victim.icao24}`,
    kind: "emergency_squawk",
    severity: "critical",
    icao24: victim.icao24,
    callsign: victim.callsign,
    started_at: new Date((nowS - 120) * 1000).toISOString(),
    ended_at: null,
    position: { lat: victim.position.lat, lon: victim.position.lon, altitude_m: victim.altitude_m },
    evidence: { squawk: "7700", derived: "real track, squawk changed to 7700 for the test" },
  };

  if (sql) {
    await seedHistory(sql, 0, LIVE_INDEX, shiftS, copies);
    await sql`
      INSERT INTO anomalies (id, kind, severity, icao24, callsign, started_at, ended_at, lat, lon,
                             altitude_m, evidence)
      VALUES (${emergency.id}, ${emergency.kind}, ${emergency.severity}, ${emergency.icao24},
              ${emergency.callsign}, ${emergency.started_at}, NULL, ${emergency.position.lat},
              ${emergency.position.lon}, ${emergency.position.altitude_m},
              ${sql.json(emergency.evidence as Record<string, string>)})
      ON CONFLICT (id) DO NOTHING`;
  }
  for (let k = LIVE_INDEX - 5; k <= LIVE_INDEX; k++) {
    for (const f of snapshotFlights(k, shiftS, copies)) hub.ingest(f);
  }
  hub.ingestAnomaly(emergency);
  hub.start();

  let fed = LIVE_INDEX;
  let closed = false;
  // Real time: snapshot k plays when the wall clock reaches its shifted time.
  const timer = setInterval(async () => {
    const next = fed + 1;
    if (closed || next >= replies.length) return;
    if (Date.now() / 1000 < replies[next]!.time + shiftS) return;
    fed = next;
    for (const f of snapshotFlights(next, shiftS, copies)) hub.ingest(f);
    if (sql) await seedHistory(sql, next, next, shiftS, copies).catch(() => {});
  }, 250);

  const manifest: Manifest = {
    ...routes,
    routes: { ...routes.routes, "./routes/index.tsx": indexRoute },
    islands: { ...routes.islands, "./islands/Globe.tsx": globeIsland },
  };
  const handler = await createWebApp({
    config: { WS_STALE_THRESHOLD_SECONDS: 60 },
    hub,
    db: sql,
    registry,
    adminToken: options.adminToken ?? null,
    manifest,
    build: "always",
    testHook: true,
    log: () => {},
    onError: (e) => console.error("ui app:", e),
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    hub,
    sql,
    shiftS,
    emergency,
    fedIndex: () => fed,
    async close() {
      closed = true;
      clearInterval(timer);
      await hub.stop();
      await server.shutdown();
      await db?.close();
      if (dataDir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    },
  };
}

/** Writes snapshots `from..to` as history rows, current rows and sessions. */
async function seedHistory(sql: Sql, from: number, to: number, shiftS: number, copies: number) {
  const days = new Set<string>();
  const rows: Record<string, unknown>[] = [];
  for (let k = from; k <= to; k++) {
    for (const f of snapshotFlights(k, shiftS, copies)) {
      const ts = new Date(f.time_position_unix * 1000);
      days.add(ts.toISOString().slice(0, 10));
      rows.push({
        icao24: f.icao24,
        ts,
        session_id: `s-${f.icao24}`,
        ...measuredColumns(f),
        state: f,
      });
    }
  }
  for (const day of days) await sql`SELECT flights_history_ensure_partition(${day}::date)`;
  for (let i = 0; i < rows.length; i += 500) {
    // flights_history has no state column (migration 0002): the flight is in measuredColumns.
    const batch = rows.slice(i, i + 500).map(({ state: _state, ...r }) => r);
    await sql`INSERT INTO flights_history ${sql(batch)} ON CONFLICT (icao24, ts) DO NOTHING`;
  }
  const latest = new Map<string, Record<string, unknown>>();
  const first = new Map<string, Date>();
  for (const r of rows) {
    latest.set(r.icao24 as string, r);
    if (!first.has(r.icao24 as string)) first.set(r.icao24 as string, r.ts as Date);
  }
  for (const r of latest.values()) {
    const f = r.state as Flight;
    await sql`
      INSERT INTO flights (id, icao24, callsign, first_seen, last_seen)
      VALUES (${`s-${f.icao24}`}, ${f.icao24}, ${f.callsign}, ${first.get(f.icao24)!}, ${r
      .ts as Date})
      ON CONFLICT (id) DO UPDATE SET last_seen = EXCLUDED.last_seen`;
    await sql`
      INSERT INTO flights_current (icao24, callsign, lat, lon, altitude_m, on_ground, state, ts, session_id)
      VALUES (${f.icao24}, ${f.callsign}, ${f.position.lat}, ${f.position.lon}, ${f.altitude_m},
              ${f.on_ground}, ${sql.json(f as never)}, ${r.ts as Date}, ${`s-${f.icao24}`})
      ON CONFLICT (icao24) DO UPDATE SET state = EXCLUDED.state, ts = EXCLUDED.ts,
        lat = EXCLUDED.lat, lon = EXCLUDED.lon, altitude_m = EXCLUDED.altitude_m`;
  }
}

// --- browser ---------------------------------------------------------------------

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--use-angle=swiftshader",
  "--enable-unsafe-swiftshader",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: CHROMIUM_ARGS });
}

/** A page that may only talk to 127.0.0.1/localhost; `blocked` lists every other URL it tried. */
export async function isolatedPage(
  browser: Browser,
  viewport = { width: 1280, height: 720 },
): Promise<{ page: Page; blocked: string[]; errors: string[] }> {
  const context = await browser.newContext({ viewport });
  const blocked: string[] = [];
  const errors: string[] = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    const local = url.hostname === "127.0.0.1" || url.hostname === "localhost" ||
      url.protocol === "data:" || url.protocol === "blob:";
    if (local) return route.continue();
    blocked.push(url.href);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  return { page, blocked, errors };
}

/** Screenshots go to test-artifacts/ (gitignored). */
export async function screenshot(page: Page, name: string): Promise<string> {
  await Deno.mkdir("test-artifacts", { recursive: true });
  const path = `test-artifacts/${name}.png`;
  await page.screenshot({ path });
  return path;
}
