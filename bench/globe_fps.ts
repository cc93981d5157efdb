/**
 * Globe frame cost (a benchmark, not a test): headless Chromium with
 * software WebGL (SwiftShader: the GPU's work runs on the CPU too, in the GPU
 * process) at 1280x720, the real page fed by the real hub with 1,000,
 * 10,000 and 20,000 aircraft interpolating every frame (derived copies of the
 * Switzerland recording's real tracks under new icao24 addresses:
 * `copies_for_load`). Once they are in, the page's live feed and UI tick
 * stop (their JavaScript per second would otherwise be spread over however
 * few frames a mode draws in software), so that what is left per frame is
 * the globe and the aircraft layer. Drawn by
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
 * Updates are measured apart, in CPU time too: every aircraft reports once
 * (where dead reckoning puts it: derived), as the v2.bin batch the page's
 * Worker would post for it, and the page's live feed gives it to the store
 * (any renderer pays that) the way it does now (written in place into the
 * store's objects) and, alternating in the same run, the way it did before
 * (a flight object per aircraft through `FlightStore.upsert`); then the
 * instanced layer's next frame packs and uploads every slot. The instanced
 * layer's cost per frame is its steady cost plus that packing spread over a
 * second of frames at 60 fps, each aircraft reporting every second (the
 * load scenario's cadence).
 *
 * Plus, in Deno: the instanced layer's per-frame JavaScript with no new
 * data and with every aircraft updated, the store taking a v2.bin batch of
 * every aircraft (in place, and per flight object as before), and decoding a MessagePack snapshot beside the same
 * snapshot as `skysentinel.v2.bin` the way the page's Worker does (typed
 * arrays, lib/client/v2_feed.ts).
 *
 * Run: `deno task bench:globe [seconds per mode] [--cpu-only] [--updates-only] [--sizes=10000,20000]`
 * (`--updates-only`: in the browser only the update costs, not the renderers' frames).
 *
 * @module
 */
import { encode as msgpackEncode } from "@msgpack/msgpack";
import process from "node:process";
import * as THREE from "three";
import type { CDPSession, Page } from "playwright-core";
import { AircraftLayer } from "../lib/client/aircraft_layer.ts";
import type { FrameState } from "../lib/client/aircraft_frame.ts";
import { BatchReader, BinaryFeed, materialise } from "../lib/client/v2_feed.ts";
import type { Batch } from "../lib/client/v2_table.ts";
import type { Flight } from "../contracts/flight.ts";
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
const UPDATES_ONLY = Deno.args.includes("--updates-only");
/** Every aircraft reports this often during the browser runs, seconds (the load scenario's 1 s). */
const UPDATE_S = 1;
/** Aircraft counts measured (the world scale of issue #10 is 20,000). */
const SIZES = (Deno.args.find((a) => a.startsWith("--sizes="))?.slice(8) ?? "1000,10000,20000")
  .split(",").map(Number);

/**
 * `flights` as the batch the page's Worker posts for them: one v2.bin
 * snapshot frame (one segment, icao24 ascending, one record per address: a
 * derived copy may share its icao24 with another aircraft) decoded by
 * `BinaryFeed`.
 */
function batchOf(flights: readonly Flight[], serverTimeMs: number): Batch {
  const unique = new Map(flights.map((f) => [icaoToInt(f.icao24), f]));
  const q = [...unique.values()].map(quantise).sort((a, b) => a.icao - b.icao);
  const bin = composeFrame(FRAME_SNAPSHOT, { seq: 1, serverTimeMs }, [
    encodeSegment([], q, { base: timeBase(serverTimeMs) }),
  ]);
  const a = new BinaryFeed().receive(bin, 0).find((a) => a.kind === "batch");
  if (a?.kind !== "batch") throw new Error("no batch from the v2.bin snapshot");
  return a.batch;
}

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

/** Frames and main-thread CPU of the page over `seconds` (at least `minFrames` frames). */
async function measure(
  page: Page,
  cdp: CDPSession,
  seconds: number,
  minFrames = 3,
): Promise<Window> {
  const counters = () =>
    page.evaluate(() => {
      // deno-lint-ignore no-explicit-any
      const sc = (globalThis as any).__skysentinel.scene;
      return [sc.layerMs, sc.layerFrames] as [number, number];
    });
  const c0 = await counters();
  const m0 = await metrics(cdp);
  const { frames, ms } = await page.evaluate(
    ([ms, min]) =>
      new Promise<{ frames: number; ms: number }>((resolve) => {
        let n = 0;
        const t0 = performance.now();
        const step = () => {
          n++;
          const dt = performance.now() - t0;
          if (dt < ms || n < min) requestAnimationFrame(step);
          else resolve({ frames: n, ms: dt });
        };
        requestAnimationFrame(step);
      }),
    [seconds * 1000, minFrames] as const,
  );
  const m1 = await metrics(cdp);
  const c1 = await counters();
  const per = (k: string) => (m1[k]! - m0[k]!) * 1000 / frames;
  const layerFrames = c1[1] - c0[1];
  return {
    fps: frames / (ms / 1000),
    frames,
    scriptMs: per("ScriptDuration"),
    taskMs: per("TaskDuration"),
    layerMs: layerFrames > 0 ? (c1[0] - c0[0]) / layerFrames : 0,
  };
}

/**
 * Main-thread JavaScript CPU (CDP thread ticks) of one step of an update in
 * the page, ms: `apply` (the page's live feed takes the v2.bin batch in
 * `__benchBatch`, as its Worker posts it, the way it does now: written in
 * place into the store's objects), `perFlight` (the same through a flight
 * object per aircraft and `FlightStore.upsert`: the page's way before; any
 * renderer pays either) or `pack` (the instanced layer's next frame packs
 * and uploads every slot). It runs in a timer task of the page: script run
 * by DevTools' evaluate is not counted in `ScriptDuration`.
 */
async function cpuOf(
  page: Page,
  cdp: CDPSession,
  step: "apply" | "perFlight" | "pack",
): Promise<number> {
  const m0 = await metrics(cdp);
  await page.evaluate(
    (which) =>
      new Promise<void>((resolve, reject) =>
        setTimeout(() => {
          try {
            // deno-lint-ignore no-explicit-any
            const s = (globalThis as any).__skysentinel;
            if (which !== "pack") {
              // deno-lint-ignore no-explicit-any
              const batch = (globalThis as any).__benchBatch;
              s.controller.liveFeed.applyBatch({
                kind: "batch",
                type: "delta",
                seq: 0,
                serverTimeMs: s.controller.nowS() * 1000,
                batch,
              }, { perFlight: which === "perFlight" });
            } else {
              const cam = s.scene.globe.camera().position;
              s.scene.layer.frame({
                ...s.controller.frame(),
                camera: [cam.x, cam.y, cam.z],
                unitsPerPxAtOne: 0.0013,
                markerPx: 15,
              });
            }
            resolve();
          } catch (e) {
            reject(e);
          }
        }, 0)
      ),
    step,
  );
  const m1 = await metrics(cdp);
  return (m1.ScriptDuration! - m0.ScriptDuration!) * 1000;
}

/**
 * Puts into the page, as `__benchBatch`, the v2.bin batch of every aircraft
 * it holds reporting where dead reckoning puts it, `aheadS` seconds after
 * the page's data time (derived; newer than what the store holds).
 */
async function stageBatch(page: Page, aheadS: number): Promise<void> {
  const { flights, nowS } = await page.evaluate(() => {
    // deno-lint-ignore no-explicit-any
    const s = (globalThis as any).__skysentinel;
    const store = s.controller.activeStore;
    const now = s.controller.nowS();
    const flights: Flight[] = [];
    for (const t of store.flights.values()) {
      const p = store.displayAt(t, now);
      flights.push({ ...t.flight, position: { lat: p.lat, lon: p.lon } });
    }
    return { flights, nowS: now as number };
  });
  const t = Math.floor(nowS) + aheadS;
  const batch = batchOf(
    flights.map((f) => ({ ...f, time_position_unix: t, last_contact_unix: t })),
    t * 1000,
  );
  await page.evaluate(({ count, nums, strs }) => {
    // deno-lint-ignore no-explicit-any
    (globalThis as any).__benchBatch = {
      count,
      nums: new Float64Array(nums),
      strs,
      removes: [],
    };
  }, { count: batch.count, nums: Array.from(batch.nums), strs: batch.strs });
}

/** What an update of every aircraft costs in the page (CPU), averaged over 3. */
async function updateCost(
  page: Page,
  cdp: CDPSession,
): Promise<{ applyMs: number; perFlightMs: number; packMs: number }> {
  let applyMs = 0, perFlightMs = 0, packMs = 0;
  const rounds = 3;
  // Hidden, the scene's own frames leave the layer alone: a frame between
  // the two steps would pack the slots where neither step is measured.
  const visible = (v: boolean) =>
    page.evaluate((on) => {
      // deno-lint-ignore no-explicit-any
      (globalThis as any).__skysentinel.scene.layer.mesh.visible = on;
    }, v);
  await visible(false);
  let ahead = 0;
  for (let r = 0; r < rounds; r++) {
    // Alternating, each on newer reports than the last.
    for (
      const way of r % 2 === 0 ? ["perFlight", "apply"] as const : ["apply", "perFlight"] as const
    ) {
      await stageBatch(page, ++ahead);
      const ms = await cpuOf(page, cdp, way);
      if (way === "apply") applyMs += ms;
      else perFlightMs += ms;
      packMs += await cpuOf(page, cdp, "pack") / 2;
    }
  }
  await visible(true);
  return { applyMs: applyMs / rounds, perFlightMs: perFlightMs / rounds, packMs: packMs / rounds };
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

/** Per size: what updating every aircraft once costs in the page (CPU ms). */
interface Update {
  aircraft: number;
  applyMs: number;
  perFlightMs: number;
  packMs: number;
}

async function browserRuns(): Promise<{ rows: Row[]; updates: Update[] }> {
  const rows: Row[] = [];
  const updates: Update[] = [];
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
      // The live feed and the UI tick stop: their JavaScript per second would be
      // spread over however few frames a mode draws. Updates are measured apart.
      await page.evaluate(() => {
        // deno-lint-ignore no-explicit-any
        (globalThis as any).__skysentinel.controller.stop();
      });
      const cdp = await page.context().newCDPSession(page);
      // Thread ticks: CPU time of the main thread, not wall time.
      await cdp.send("Performance.enable", { timeDomain: "threadTicks" });
      const u = await updateCost(page, cdp);
      updates.push({ aircraft: count, ...u });
      console.error(
        `  ${count} aircraft updated: store ${f2(u.applyMs)} ms (per flight object ${
          f2(u.perFlightMs)
        } ms), layer packing ${f2(u.packMs)} ms`,
      );
      // The slowest last: a run cut short still has the others.
      const modes: Mode[] = UPDATES_ONLY
        ? []
        : ["instanced", "globe only", "points merged", "points"];
      for (const mode of modes) {
        await setMode(page, mode);
        await measure(page, cdp, 1, 1); // warm up
        // The cheap modes get longer windows: more frames, less noise per frame.
        const cheap = mode === "instanced" || mode === "globe only";
        const w = await measure(page, cdp, cheap ? 3 * SECONDS : SECONDS, 2);
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
  return { rows, updates };
}

/**
 * CPU time of this process, ms (user + system): on a shared, loaded
 * machine wall time would count the time other processes ran.
 */
function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** The flights of `n` derived aircraft (recording snapshot `k`). */
function flightsOf(n: number, k: number) {
  const perSnapshot = snapshotFlights(LIVE_INDEX, 0).length;
  const copies = Math.min(4095, Math.ceil(n / perSnapshot));
  return snapshotFlights(k, 0, copies).slice(0, n);
}

/** The instanced layer and the store in Deno (same code as the page, no GPU): CPU ms. */
function cpuFrame(n: number): {
  materialiseMs: number;
  steadyMs: number;
  updateMs: number;
  applyMs: number;
  perFlightMs: number;
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
  const t0 = cpuNow();
  for (let i = 0; i < frames; i++) layer.frame({ ...frame, nowS: nowS + i / 60 });
  const steadyMs = (cpuNow() - t0) / frames;
  // Every aircraft updated: the store takes a v2.bin batch of all (in place,
  // and per flight object as the page did before, on a second store with
  // the same content), then one frame packs and uploads all.
  const before = new FlightStore();
  before.replace(flights, nowS);
  // Bound to a layer of its own, so that both stores pay the same listener.
  const beforeLayer = new AircraftLayer(new THREE.Scene(), { capacity: 4096 });
  beforeLayer.bind(before);
  const reader = new BatchReader(), beforeReader = new BatchReader();
  let applyMs = 0, perFlightMs = 0, updateMs = 0;
  const rounds = 6;
  for (let r = 0; r < rounds; r++) {
    const batch = r % 2 === 0 ? next : flights;
    const shift = 10 * (r + 1);
    const moved = batchOf(
      batch.map((f) => ({
        ...f,
        time_position_unix: f.time_position_unix + shift,
        last_contact_unix: f.last_contact_unix + shift,
      })),
      (batch[0]!.last_contact_unix + shift) * 1000,
    );
    const ways = [
      () => reader.applyTo(moved, store, nowS + shift),
      () => beforeReader.each(moved, (f) => void before.upsert(f, nowS + shift)),
    ];
    for (const w of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const ta = cpuNow();
      ways[w]!();
      if (w === 0) applyMs += cpuNow() - ta;
      else perFlightMs += cpuNow() - ta;
    }
    const tb = cpuNow();
    layer.frame({ ...frame, nowS: nowS + shift });
    updateMs += cpuNow() - tb;
  }
  perFlightMs /= rounds;
  beforeLayer.dispose();
  applyMs /= rounds;
  updateMs /= rounds;
  layer.dispose();
  const bytes = msgpackEncode({ type: "snapshot", seq: 1, server_time_ms: 0, flights });
  const t1 = cpuNow();
  for (let i = 0; i < 10; i++) decodeServerFrame(bytes);
  const decodeMs = (cpuNow() - t1) / 10;
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
  const t2 = cpuNow();
  for (let i = 1; i <= 10; i++) feeds[i]!.receive(bin, 0);
  const binMs = (cpuNow() - t2) / 10;
  if (feeds[1]!.table.size !== unique.size) {
    throw new Error("v2.bin snapshot did not decode every aircraft");
  }
  // The page turns a decoded batch into flight objects before the store takes them.
  const fresh = new BinaryFeed();
  const batch = fresh.receive(bin, 0).find((a) => a.kind === "batch");
  if (batch?.kind !== "batch") throw new Error("no batch from the v2.bin snapshot");
  const t3 = cpuNow();
  for (let i = 0; i < 10; i++) materialise(batch.batch);
  const materialiseMs = (cpuNow() - t3) / 10;
  return {
    materialiseMs,
    steadyMs,
    updateMs,
    applyMs,
    perFlightMs,
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
  const { rows, updates } = CPU_ONLY ? { rows: [], updates: [] } : await browserRuns();
  console.log(
    "\n| aircraft | renderer | fps | main-thread JS ms/frame | JS ms/s | all main-thread tasks ms/frame | layer JS ms/frame (JS minus globe only) | layer self-timed ms/frame |",
  );
  console.log("|---:|---|---:|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    const floor = rows.find((x) => x.aircraft === r.aircraft && x.mode === "globe only") ??
      { scriptMs: NaN };
    console.log(
      `| ${r.aircraft.toLocaleString("en-US")} | ${r.mode} | ${f2(r.fps)} | ${f2(r.scriptMs)} | ${
        f2(r.scriptMs * r.fps)
      } | ${f2(r.taskMs)} | ${r.mode === "globe only" ? "-" : f2(r.scriptMs - floor.scriptMs)} | ${
        r.mode === "instanced" ? r.layerMs.toFixed(3) : "-"
      } |`,
    );
  }
  if (updates.length > 0) {
    console.log(
      `\n| aircraft | store: every aircraft reports, v2.bin batch in place (CPU ms, any renderer) | the same per flight object (the way before) | before / now | instanced: packing them (CPU ms) | instanced per frame at 60 fps, every aircraft every ${UPDATE_S} s: self-timed + packing / 60 | the same with script minus globe only (upper bound, noisy) | points / instanced | points merged / instanced |`,
    );
    console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  }
  // Without a renderer's window (--updates-only) there is no per-frame figure: say so, not NaN.
  const ms = (v: number) => Number.isFinite(v) ? `${v.toFixed(3)} ms` : "-";
  for (const u of updates) {
    const get = (m: Mode) => rows.find((r) => r.aircraft === u.aircraft && r.mode === m);
    const floor = get("globe only")?.scriptMs ?? NaN;
    const inst = get("instanced") ?? { layerMs: NaN, scriptMs: NaN };
    // Per frame: the steady cost plus the packing spread over a second of
    // frames. The script time over the globe's is the upper bound: at ~1 fps
    // in software, JavaScript that runs per second (not per frame) lands in
    // the few frames of a window and differs between modes.
    const packed = u.packMs / (60 * UPDATE_S);
    const instMs = inst.layerMs + packed;
    const upper = Math.max(inst.layerMs, inst.scriptMs - floor) + packed;
    const ratio = (m: Mode) => {
      const r = get(m);
      return r
        ? `${f2((r.scriptMs - floor) / instMs)}x (${f2((r.scriptMs - floor) / upper)}x)`
        : "-";
    };
    console.log(
      `| ${u.aircraft.toLocaleString("en-US")} | ${f2(u.applyMs)} | ${f2(u.perFlightMs)} | ${
        f2(u.perFlightMs / u.applyMs)
      }x | ${f2(u.packMs)} | ${ms(instMs)} | ${ms(upper)} | ${ratio("points")} | ${
        ratio("points merged")
      } |`,
    );
  }
  console.log(
    "\n| aircraft (Deno, CPU ms) | layer frame, no new data | layer frame, all updated | page: materialise a batch of all | store: a v2.bin batch of all in place | per flight object (before) | before / now | MessagePack snapshot | decode | v2.bin snapshot | decode (Worker's code) |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  for (const n of SIZES) {
    const c = cpuFrame(n);
    console.log(
      `| ${n.toLocaleString("en-US")} | ${c.steadyMs.toFixed(4)} ms | ${f2(c.updateMs)} ms | ${
        f2(c.materialiseMs)
      } ms | ${f2(c.applyMs)} ms | ${f2(c.perFlightMs)} ms | ${f2(c.perFlightMs / c.applyMs)}x | ${
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
