/**
 * Globe frame cost (a benchmark, not a test): headless Chromium with
 * software WebGL (SwiftShader: the GPU's work runs on the CPU too, in the GPU
 * process) at 1280x720, the real page fed by the real hub with 1,000,
 * 10,000 and 20,000 aircraft interpolating every frame (derived copies of the
 * Switzerland recording's real tracks under new icao24 addresses:
 * `copies_for_load`; the recording updates every aircraft every 10 s), drawn by
 *
 * - `instanced`: the page's instanced layer, dead-reckoned in the vertex
 *   shader (what users get);
 * - `points`: globe.gl's plain `pointsData` layer fed the same interpolated
 *   positions every frame (one mesh per point);
 * - `points merged`: the same with `pointsMerge(true)` (one merged geometry,
 *   rebuilt on every update);
 * - `globe only`: no aircraft drawn (the floor set by the globe itself, with
 *   the live feed still applied to the store).
 *
 * For each: frames per second, and the page's main-thread CPU per frame
 * from Chromium's own counters (CDP `Performance.getMetrics` in
 * `threadTicks`: `ScriptDuration` is JavaScript, `TaskDuration` every task
 * of the main thread), over the same window; the aircraft layer's cost is
 * the mode's script time minus `globe only`'s. The instanced layer also
 * times its own per-frame JavaScript (`GlobeScene.layerMs`).
 *
 * Plus, in Deno: the instanced layer's per-frame JavaScript with no new
 * data and with every aircraft updated, applying a delta of every aircraft
 * to the store, and decoding a MessagePack snapshot beside the same
 * snapshot as `skysentinel.v2.bin` the way the page's Worker does (typed
 * arrays, lib/client/v2_feed.ts).
 *
 * Run: `deno task bench:globe [seconds per mode] [--cpu-only] [--sizes=10000,20000]`
 *
 * @module
 */
import { encode as msgpackEncode } from "@msgpack/msgpack";
import * as THREE from "three";
import type { CDPSession, Page } from "playwright-core";
import { AircraftLayer } from "../lib/client/aircraft_layer.ts";
import type { FrameState } from "../lib/client/aircraft_frame.ts";
import { BinaryFeed, materialise } from "../lib/client/v2_feed.ts";
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
const SIZES = (Deno.args.find((a) => a.startsWith("--sizes="))?.slice(8) ?? "1000,10000,20000")
  .split(",").map(Number);

/** One measurement window of the page. */
interface Window {
  fps: number;
  frames: number;
  /** Main-thread JavaScript CPU per frame, ms. */
  scriptMs: number;
  /** Every main-thread task's CPU per frame, ms. */
  taskMs: number;
  /** The instanced layer's self-timed JavaScript per frame, ms. */
  layerMs: number;
}

async function metrics(cdp: CDPSession): Promise<Record<string, number>> {
  const { metrics } = await cdp.send("Performance.getMetrics");
  return Object.fromEntries(metrics.map((m) => [m.name, m.value]));
}

/** Frames and main-thread CPU of the page over `seconds` (at least 3 frames). */
async function measure(page: Page, cdp: CDPSession, seconds: number): Promise<Window> {
  const layer0 = await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const sc = (globalThis as any).__skysentinel.scene;
    return [sc.layerMs, sc.layerFrames] as [number, number];
  });
  const m0 = await metrics(cdp);
  const { frames, ms } = await page.evaluate(
    (ms) =>
      new Promise<{ frames: number; ms: number }>((resolve) => {
        let n = 0;
        const t0 = performance.now();
        const step = () => {
          n++;
          const dt = performance.now() - t0;
          if (dt < ms || n < 3) requestAnimationFrame(step);
          else resolve({ frames: n, ms: dt });
        };
        requestAnimationFrame(step);
      }),
    seconds * 1000,
  );
  const m1 = await metrics(cdp);
  const layer1 = await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const sc = (globalThis as any).__skysentinel.scene;
    return [sc.layerMs, sc.layerFrames] as [number, number];
  });
  const per = (k: string) => (m1[k]! - m0[k]!) * 1000 / frames;
  const layerFrames = layer1[1] - layer0[1];
  return {
    fps: frames / (ms / 1000),
    frames,
    scriptMs: per("ScriptDuration"),
    taskMs: per("TaskDuration"),
    layerMs: layerFrames > 0 ? (layer1[0] - layer0[0]) / layerFrames : 0,
  };
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

interface Row extends Window {
  aircraft: number;
  mode: Mode;
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
      const cdp = await page.context().newCDPSession(page);
      // Thread ticks: CPU time of the main thread, not wall time.
      await cdp.send("Performance.enable", { timeDomain: "threadTicks" });
      for (const mode of ["instanced", "points", "points merged", "globe only"] as Mode[]) {
        await setMode(page, mode);
        await measure(page, cdp, 2); // warm up
        const w = await measure(page, cdp, SECONDS);
        rows.push({ aircraft: count, mode, ...w });
        console.error(
          `  ${count} aircraft, ${mode}: ${w.fps.toFixed(2)} fps, script ${
            w.scriptMs.toFixed(2)
          } ms/frame, tasks ${w.taskMs.toFixed(2)} ms/frame over ${w.frames} frames`,
        );
      }
      await setMode(page, "instanced");
    } finally {
      await browser.close();
      await app.close();
    }
  }
  return rows;
}

/** The flights of `n` derived aircraft (recording snapshot `k`). */
function flightsOf(n: number, k: number) {
  const perSnapshot = snapshotFlights(LIVE_INDEX, 0).length;
  const copies = Math.min(4095, Math.ceil(n / perSnapshot));
  return snapshotFlights(k, 0, copies).slice(0, n);
}

/** The instanced layer and the store in Deno (same code as the page, no GPU): ms. */
function cpuFrame(n: number): {
  materialiseMs: number;
  steadyMs: number;
  updateMs: number;
  applyMs: number;
  decodeMs: number;
  bytes: number;
  binMs: number;
  binBytes: number;
} {
  const flights = flightsOf(n, LIVE_INDEX);
  const next = flightsOf(n, LIVE_INDEX + 1);
  const store = new FlightStore();
  const nowS = flights[0]!.time_position_unix + 5;
  store.replace(flights, nowS);
  const layer = new AircraftLayer(new THREE.Scene(), { capacity: 4096 });
  layer.bind(store);
  const frame: FrameState = {
    nowS,
    camera: [0, 0, 300],
    unitsPerPxAtOne: 0.0013,
    markerPx: 15,
    selected: flights[0]!.icao24,
    cockpit: false,
    highlight: null,
    emergencies: new Set<string>(),
  };
  layer.frame(frame);
  // Steady state: frames between two updates (only the uniforms and the selected aircraft).
  const frames = 2000;
  const t0 = performance.now();
  for (let i = 0; i < frames; i++) layer.frame({ ...frame, nowS: nowS + i / 60 });
  const steadyMs = (performance.now() - t0) / frames;
  // Every aircraft updated: the store's upserts, then one frame packing and uploading all.
  let applyMs = 0, updateMs = 0;
  const rounds = 5;
  for (let r = 0; r < rounds; r++) {
    const batch = r % 2 === 0 ? next : flights;
    const shift = 10 * (r + 1);
    const moved = batch.map((f) => ({
      ...f,
      time_position_unix: f.time_position_unix + shift,
      last_contact_unix: f.last_contact_unix + shift,
    }));
    const ta = performance.now();
    for (const f of moved) store.upsert(f, nowS + shift);
    applyMs += performance.now() - ta;
    const tb = performance.now();
    layer.frame({ ...frame, nowS: nowS + shift });
    updateMs += performance.now() - tb;
  }
  applyMs /= rounds;
  updateMs /= rounds;
  layer.dispose();
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
  // The page turns a decoded batch into flight objects before the store takes them.
  const fresh = new BinaryFeed();
  const batch = fresh.receive(bin, 0).find((a) => a.kind === "batch");
  if (batch?.kind !== "batch") throw new Error("no batch from the v2.bin snapshot");
  const t3 = performance.now();
  for (let i = 0; i < 10; i++) materialise(batch.batch);
  const materialiseMs = (performance.now() - t3) / 10;
  return {
    materialiseMs,
    steadyMs,
    updateMs,
    applyMs,
    decodeMs,
    bytes: bytes.byteLength,
    binMs,
    binBytes: bin.byteLength,
  };
}

const f2 = (v: number) => v.toFixed(2);

if (import.meta.main) {
  console.error(
    `globe_fps: ${SECONDS} s per mode, 1280x720, headless Chromium (${
      Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium"
    }) with software WebGL (SwiftShader)`,
  );
  const rows = CPU_ONLY ? [] : await browserRuns();
  console.log(
    "\n| aircraft | renderer | fps | main-thread JS ms/frame | all main-thread tasks ms/frame | layer JS ms/frame (JS minus globe only) | layer self-timed ms/frame |",
  );
  console.log("|---:|---|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    const floor = rows.find((x) => x.aircraft === r.aircraft && x.mode === "globe only")!;
    console.log(
      `| ${r.aircraft.toLocaleString("en-US")} | ${r.mode} | ${f2(r.fps)} | ${f2(r.scriptMs)} | ${
        f2(r.taskMs)
      } | ${r.mode === "globe only" ? "-" : f2(r.scriptMs - floor.scriptMs)} | ${
        r.mode === "instanced" ? r.layerMs.toFixed(3) : "-"
      } |`,
    );
  }
  const sizes = [...new Set(rows.map((r) => r.aircraft))];
  if (sizes.length > 0) {
    console.log(
      "\n| aircraft | points layer JS / instanced | points merged / instanced | (instanced = max(self-timed, JS minus globe only)) |",
    );
    console.log("|---:|---:|---:|---|");
  }
  for (const n of sizes) {
    const get = (m: Mode) => rows.find((r) => r.aircraft === n && r.mode === m)!;
    const floor = get("globe only").scriptMs;
    const inst = get("instanced");
    const instMs = Math.max(inst.layerMs, inst.scriptMs - floor, 1e-3);
    console.log(
      `| ${n.toLocaleString("en-US")} | ${f2((get("points").scriptMs - floor) / instMs)}x | ${
        f2((get("points merged").scriptMs - floor) / instMs)
      }x | instanced ${instMs.toFixed(3)} ms |`,
    );
  }
  console.log(
    "\n| aircraft | layer frame, no new data (Deno) | layer frame, all updated | page: materialise a batch of all | store: apply a delta of all | MessagePack snapshot | decode | v2.bin snapshot | decode (Worker's code) |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const n of SIZES) {
    const c = cpuFrame(n);
    console.log(
      `| ${n.toLocaleString("en-US")} | ${c.steadyMs.toFixed(4)} ms | ${f2(c.updateMs)} ms | ${
        f2(c.materialiseMs)
      } ms | ${f2(c.applyMs)} ms | ${(c.bytes / 1024).toFixed(0)} KiB | ${
        c.decodeMs.toFixed(1)
      } ms | ${(c.binBytes / 1024).toFixed(0)} KiB | ${c.binMs.toFixed(1)} ms |`,
    );
  }
  console.log(
    `\ncores: ${navigator.hardwareConcurrency}, load average: ${
      Deno.loadavg().map((x) => x.toFixed(2)).join(" ")
    }`,
  );
}
