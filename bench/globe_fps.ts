/**
 * Globe frame rate (a benchmark, not a test): headless Chromium with
 * software WebGL at 1280x720, the real page fed by the real hub with 1,000,
 * 10,000 and 20,000 aircraft interpolating every frame (derived copies of the
 * Switzerland recording's real tracks under new icao24 addresses:
 * `copies_for_load`), drawn by
 *
 * - `instanced`: the page's one `InstancedMesh` (what users get);
 * - `points`: globe.gl's plain `pointsData` layer fed the same interpolated
 *   positions every frame (one mesh per point);
 * - `points merged`: the same with `pointsMerge(true)` (one merged geometry,
 *   rebuilt on every update);
 * - `globe only`: no aircraft drawn (the floor set by the globe itself).
 *
 * Plus, in Deno: the CPU cost of one interpolation frame (`writeFrame`) and
 * of decoding a MessagePack snapshot, to judge whether a Worker would help.
 *
 * and of decoding the same snapshot as `skysentinel.v2.bin` the way the
 * page's Worker does (typed arrays, lib/client/v2_feed.ts).
 *
 * Run: `deno task bench:globe [seconds per mode] [--cpu-only]`
 *
 * @module
 */
import { encode as msgpackEncode } from "@msgpack/msgpack";
import type { Page } from "playwright-core";
import { writeFrame } from "../lib/client/aircraft_frame.ts";
import { BinaryFeed } from "../lib/client/v2_feed.ts";
import {
  composeFrame,
  encodeSegment,
  FRAME_SNAPSHOT,
  icaoToInt,
  quantise,
  timeBase,
} from "../lib/hub/v2/mod.ts";
import { decodeServerFrame } from "../lib/client/decode.ts";
import { FlightStore } from "../lib/client/flight_store.ts";
import {
  isolatedPage,
  launchChromium,
  LIVE_INDEX,
  snapshotFlights,
  startUiApp,
} from "../tests/_ui_harness.ts";

const SECONDS = Number(Deno.args.find((a) => !a.startsWith("--")) ?? 6);
const CPU_ONLY = Deno.args.includes("--cpu-only");
/** Aircraft counts measured (the world scale of issue #10 is 20,000). */
const SIZES = [1_000, 10_000, 20_000];

/** Frames per second of the page over `seconds` (at least 3 frames). */
function measureFps(page: Page, seconds: number): Promise<number> {
  return page.evaluate((ms) =>
    new Promise<number>((resolve) => {
      let n = 0;
      const t0 = performance.now();
      const step = () => {
        n++;
        const dt = performance.now() - t0;
        if (dt < ms || n < 3) requestAnimationFrame(step);
        else resolve(n / (dt / 1000));
      };
      requestAnimationFrame(step);
    }), seconds * 1000);
}

type Mode = "instanced" | "points" | "points merged" | "globe only";

/** Switches what draws the aircraft, inside the page. */
function setMode(page: Page, mode: Mode): Promise<void> {
  return page.evaluate((m) => {
    // deno-lint-ignore no-explicit-any
    const s = (globalThis as any).__skysentinel;
    // deno-lint-ignore no-explicit-any
    const w = globalThis as any;
    const globe = s.scene.globe;
    cancelAnimationFrame(w.__benchRaf ?? 0);
    globe.pointsData([]);
    s.scene.layer.mesh.visible = m === "instanced";
    if (m !== "points" && m !== "points merged") return;
    globe.pointsMerge(m === "points merged").pointsTransitionDuration(0)
      .pointLat("lat").pointLng("lng").pointAltitude("alt").pointColor("color")
      .pointRadius(0.06).pointResolution(6);
    const loop = () => {
      w.__benchRaf = requestAnimationFrame(loop);
      const store = s.controller.activeStore;
      const now = s.controller.nowS();
      const data = [];
      for (const t of store.flights.values()) {
        const p = store.displayAt(t, now);
        data.push({
          lat: p.lat,
          lng: p.lon,
          alt: Math.max(30, p.altM) / 6_371_008.8,
          color: "#5cc8ff",
        });
      }
      globe.pointsData(data);
    };
    loop();
  }, mode);
}

interface Row {
  aircraft: number;
  mode: Mode;
  fps: number;
}

async function browserRuns(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const target of SIZES) {
    const perSnapshot = snapshotFlights(LIVE_INDEX, 0).length;
    const copies = Math.min(4095, Math.ceil(target / perSnapshot));
    const app = await startUiApp({ copies, history: false });
    const browser = await launchChromium();
    try {
      const { page } = await isolatedPage(browser);
      await page.goto(`${app.origin}/`);
      await page.waitForSelector(".sky[data-globe=ready]", { timeout: 120_000 });
      await page.waitForFunction(
        () => Number(document.querySelector("#aircraft-count")?.getAttribute("data-count")) > 0,
        undefined,
        { timeout: 120_000 },
      );
      await page.waitForTimeout(2_000); // the first framing glides in
      // Look at Europe from far enough that the copies are in view: the
      // whole-world view, so the page subscribes to every aircraft.
      await page.evaluate(() => {
        // deno-lint-ignore no-explicit-any
        const s = (globalThis as any).__skysentinel;
        const pov = { lat: 45, lng: 8, altitude: 1.6 };
        s.scene.globe.pointOfView(pov, 0);
        s.controller.notePov(pov);
      });
      await page.waitForFunction(
        (n) => Number(document.querySelector("#aircraft-count")?.getAttribute("data-count")) >= n,
        target * 0.9,
        { timeout: 180_000 },
      );
      const count = Number(await page.locator("#aircraft-count").getAttribute("data-count"));
      for (const mode of ["instanced", "points", "points merged", "globe only"] as Mode[]) {
        await setMode(page, mode);
        await measureFps(page, 2); // warm up
        const fps = await measureFps(page, SECONDS);
        rows.push({ aircraft: count, mode, fps });
        console.error(`  ${count} aircraft, ${mode}: ${fps.toFixed(2)} fps`);
      }
      await setMode(page, "instanced");
    } finally {
      await browser.close();
      await app.close();
    }
  }
  return rows;
}

/** CPU per interpolation frame in Deno (same code as the page): ms for `n` aircraft. */
function cpuFrame(
  n: number,
): { frameMs: number; decodeMs: number; bytes: number; binMs: number; binBytes: number } {
  const perSnapshot = snapshotFlights(LIVE_INDEX, 0).length;
  const flights = snapshotFlights(LIVE_INDEX, 0, Math.min(4095, Math.ceil(n / perSnapshot))).slice(
    0,
    n,
  );
  const store = new FlightStore();
  const nowS = flights[0]!.time_position_unix + 5;
  store.replace(flights, nowS);
  const index = new Map([...store.flights.keys()].map((id, i) => [id, i]));
  const sink = { indexOf: (id: string) => index.get(id), write() {} };
  const frame = {
    nowS,
    camera: [0, 0, 300] as [number, number, number],
    unitsPerPxAtOne: 0.0013,
    markerPx: 15,
    selected: null,
    cockpit: false,
    highlight: null,
    emergencies: new Set<string>(),
  };
  for (let i = 0; i < 20; i++) writeFrame(store, sink, { ...frame, nowS: nowS + i / 60 });
  const t0 = performance.now();
  const frames = 200;
  for (let i = 0; i < frames; i++) writeFrame(store, sink, { ...frame, nowS: nowS + i / 60 });
  const frameMs = (performance.now() - t0) / frames;
  const bytes = msgpackEncode({ type: "snapshot", seq: 1, server_time_ms: 0, flights });
  const t1 = performance.now();
  for (let i = 0; i < 10; i++) decodeServerFrame(bytes);
  const decodeMs = (performance.now() - t1) / 10;
  // The same aircraft as one v2.bin snapshot (one segment, icao24 ascending).
  // (A derived copy may share its icao24 with another aircraft: one record per address.)
  const unique = new Map(flights.map((f) => [icaoToInt(f.icao24), f]));
  const q = [...unique.values()].map(quantise).sort((a, b) => a.icao - b.icao);
  const serverTimeMs = flights[0]!.last_contact_unix * 1000;
  const bin = composeFrame(FRAME_SNAPSHOT, { seq: 1, serverTimeMs }, [
    encodeSegment([], q, { base: timeBase(serverTimeMs) }),
  ]);
  const feeds = Array.from({ length: 11 }, () => new BinaryFeed());
  feeds[0]!.receive(bin, 0);
  const t2 = performance.now();
  for (let i = 1; i <= 10; i++) feeds[i]!.receive(bin, 0);
  const binMs = (performance.now() - t2) / 10;
  if (feeds[1]!.table.size !== unique.size) {
    throw new Error("v2.bin snapshot did not decode every aircraft");
  }
  return { frameMs, decodeMs, bytes: bytes.byteLength, binMs, binBytes: bin.byteLength };
}

if (import.meta.main) {
  console.error(`globe_fps: ${SECONDS} s per mode, 1280x720, software WebGL (SwiftShader)`);
  const rows = CPU_ONLY ? [] : await browserRuns();
  console.log("\n| aircraft | renderer | fps | vs instanced |");
  console.log("|---:|---|---:|---:|");
  for (const r of rows) {
    const base = rows.find((x) => x.aircraft === r.aircraft && x.mode === "instanced")!.fps;
    console.log(
      `| ${r.aircraft.toLocaleString("en-US")} | ${r.mode} | ${r.fps.toFixed(2)} | ${
        (r.fps / base).toFixed(2)
      }x |`,
    );
  }
  console.log(
    "\n| aircraft | interpolation frame (CPU, Deno) | MessagePack snapshot | decode | v2.bin snapshot | decode (Worker's code) |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|");
  for (const n of SIZES) {
    const c = cpuFrame(n);
    console.log(
      `| ${n.toLocaleString("en-US")} | ${c.frameMs.toFixed(2)} ms | ${
        (c.bytes / 1024).toFixed(0)
      } KiB | ${c.decodeMs.toFixed(1)} ms | ${(c.binBytes / 1024).toFixed(0)} KiB | ${
        c.binMs.toFixed(1)
      } ms |`,
    );
  }
  console.log(
    `\ncores: ${navigator.hardwareConcurrency}, load average: ${
      Deno.loadavg().map((x) => x.toFixed(2)).join(" ")
    }`,
  );
}
