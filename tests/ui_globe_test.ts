/**
 * The globe page in a real browser (headless Debian Chromium, software
 * WebGL) against the real web app, hub and history API fed by a replay of
 * the Switzerland recording (tests/_ui_harness.ts). Every request that is
 * not to 127.0.0.1 is blocked, and the test asserts none was attempted.
 * Screenshots go to test-artifacts/.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import type { Flight } from "../contracts/flight.ts";
import { isolatedPage, launchChromium, screenshot, startUiApp } from "./_ui_harness.ts";
import { haversineM } from "../lib/geo/mod.ts";
import { skipWithoutChromium } from "./_services.ts";

const chromiumMissing = skipWithoutChromium();

async function until<T>(
  what: string,
  fn: () => Promise<T | null | false> | T | null | false,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== null && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
}

/** Runs `code` with `s` = the page's `{ controller, scene }` test hook. */
// deno-lint-ignore no-explicit-any
function hook<T>(page: Page, code: string, arg?: any): Promise<T> {
  return page.evaluate(
    ([c, a]) =>
      new Function("s", "arg", c)((globalThis as Record<string, unknown>).__skysentinel, a),
    [code, arg] as const,
  ) as Promise<T>;
}

Deno.test({
  name: "globe page: live aircraft, search, cockpit, anomalies, time travel, no internet",
  ignore: chromiumMissing,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const app = await startUiApp();
    const browser = await launchChromium();
    try {
      const { page, blocked, errors } = await isolatedPage(browser);
      await page.goto(`${app.origin}/`);
      await page.waitForSelector(".sky[data-globe=ready]", { timeout: 60_000 });
      await until(
        "aircraft on the globe",
        async () => Number(await page.locator("#aircraft-count").getAttribute("data-count")) > 0,
      );

      await t.step("the globe canvas is drawn (not blank)", async () => {
        await page.waitForTimeout(3000);
        const stats = await hook<
          { distinct: number; lit: number; total: number; aircraftLike: number }
        >(
          page,
          `const g = s.scene.globe; const r = g.renderer(); r.render(g.scene(), g.camera());
           const gl = r.getContext(); const w = gl.drawingBufferWidth, h = gl.drawingBufferHeight;
           const px = new Uint8Array(w * h * 4); gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
           const seen = new Set(); let lit = 0, total = 0, aircraftLike = 0;
           for (let y = 0; y < h; y += 3) for (let x = 0; x < w; x += 3) {
             const i = (y * w + x) * 4; const [R, G, B] = [px[i], px[i + 1], px[i + 2]];
             seen.add((R >> 3) << 10 | (G >> 3) << 5 | (B >> 3)); total++;
             if (R + G + B > 60) lit++;
             if (B > 150 && R < 200 && B > R + 40) aircraftLike++;
           }
           return { distinct: seen.size, lit, total, aircraftLike };`,
        );
        console.log(`canvas: ${stats.distinct} colours, ${stats.lit}/${stats.total} lit samples`);
        assert.ok(stats.distinct > 50, `only ${stats.distinct} distinct colours`);
        assert.ok(stats.lit > stats.total * 0.2, "mostly dark: the globe is not drawn");
        assert.ok(stats.aircraftLike > 0, "no aircraft-coloured pixels");
        console.log(`screenshot: ${await screenshot(page, "ui_live")}`);
      });

      await t.step("the aircraft shown are the hub's snapshot", async () => {
        const result = await until("the page to show exactly /api/flights", async () => {
          const api = await (await fetch(`${app.origin}/api/flights`)).json() as {
            flights: Flight[];
            count: number;
          };
          const shown = await hook<string[]>(
            page,
            "return [...s.controller.live.flights.keys()].sort()",
          );
          const count = Number(await page.locator("#aircraft-count").getAttribute("data-count"));
          const ids = api.flights.map((f) => f.icao24).sort();
          return JSON.stringify(ids) === JSON.stringify(shown) && count === api.count
            ? count
            : null;
        });
        assert.ok(result > 20, `${result} aircraft`);
      });

      await t.step("the GPU draws each aircraft where dead reckoning puts it", async () => {
        // 20 s ahead of the data time the vertex shader must have moved a fast
        // aircraft kilometres along its track: render only the aircraft layer
        // from a camera 30 km above the expected spot and find the marker's pixels.
        const probe = await hook<
          {
            id: string;
            expected: [number, number];
            unmoved: [number, number];
            centroid: [number, number] | null;
            lit: number;
          } | null
        >(
          page,
          `const st = s.controller.live, layer = s.scene.layer, g = s.scene.globe;
           const now = s.controller.nowS() + 20;
           const frame = { ...s.controller.frame(), nowS: now, selected: null, highlight: null,
             camera: [0, 0, 300], unitsPerPxAtOne: 0.0013, markerPx: 15 };
           layer.frame(frame);
           const R = 6371008.8, ground = (t, a) => t.flight.on_ground ? 30 : Math.max(30, a);
           const all = [...st.flights.values()].map((t) => ({ t, p: st.displayAt(t, now) }));
           const far = (a, b) => Math.hypot(a.p.lat - b.p.lat, (a.p.lon - b.p.lon) * Math.cos(a.p.lat * Math.PI / 180)) > 0.5;
           const pick = all.find((a) => !a.t.flight.on_ground && (a.t.flight.velocity_mps ?? 0) > 150 &&
             a.t.kinematics.t > now - 40 && all.every((b) => b === a || far(a, b)));
           if (!pick) return null;
           const { t, p } = pick;
           const cam = g.camera().clone();
           const V = cam.position.constructor;
           const c = g.getCoords(p.lat, p.lon, ground(t, p.altM) / R);
           const above = g.getCoords(p.lat, p.lon, (ground(t, p.altM) + 30000) / R);
           const r = g.renderer(), gl = r.getContext();
           const w = gl.drawingBufferWidth, h = gl.drawingBufferHeight;
           cam.near = 0.01; cam.aspect = w / h; cam.position.set(above.x, above.y, above.z);
           cam.up.set(0, 1, 0); cam.lookAt(c.x, c.y, c.z); cam.updateProjectionMatrix(); cam.updateMatrixWorld();
           const frame2 = { ...frame, camera: [above.x, above.y, above.z],
             unitsPerPxAtOne: 2 * Math.tan(cam.fov * Math.PI / 360) / h };
           layer.frame(frame2);
           const screen = (q) => { const v = new V(q.x, q.y, q.z).project(cam); return [(v.x + 1) / 2 * w, (1 - v.y) / 2 * h]; };
           const m = t.flight.position;
           const unmoved = screen(g.getCoords(m.lat, m.lon, ground(t, p.altM) / R));
           r.render(layer.mesh, cam);
           const px = new Uint8Array(w * h * 4); gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
           let sx = 0, sy = 0, lit = 0;
           for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
             const i = (y * w + x) * 4;
             if (px[i] + px[i + 1] + px[i + 2] > 120) { sx += x; sy += h - 1 - y; lit++; }
           }
           return { id: t.flight.icao24, expected: screen(c), unmoved, lit,
             centroid: lit ? [sx / lit, sy / lit] : null };`,
        );
        assert.ok(probe, "no fast, isolated aircraft to probe");
        console.log(`shader probe ${probe.id}: ${JSON.stringify(probe)}`);
        assert.ok(probe.centroid && probe.lit >= 4, `marker of ${probe.id} not drawn`);
        const [ex, ey] = probe.expected, [cx, cy] = probe.centroid;
        const travelled = Math.hypot(ex - probe.unmoved[0], ey - probe.unmoved[1]);
        assert.ok(travelled > 40, `dead reckoning moves it only ${travelled} px`);
        assert.ok(
          Math.hypot(cx - ex, cy - ey) < 4,
          `marker drawn at ${cx},${cy}, dead reckoning says ${ex},${ey}`,
        );
      });

      await t.step("clicking an aircraft selects it; markers sit at globe.getCoords", async () => {
        const spot = await hook<{ id: string; x: number; y: number }>(
          page,
          `const st = s.controller.live; const now = s.controller.nowS(); const g = s.scene.globe;
           const w = innerWidth, h = innerHeight; let best = null; const all = [];
           for (const [id, t] of st.flights) {
             const p = st.displayAt(t, now);
             const c = g.getScreenCoords(p.lat, p.lon, Math.max(30, p.altM) / 6371008.8);
             all.push({ id, x: c.x, y: c.y, d: Math.hypot(c.x - w / 2, c.y - h / 2) });
           }
           // Near the centre and alone (no other marker within 40 px): a slow frame
           // must not turn the click into a pick of a neighbour.
           for (const a of all) {
             const alone = all.every((b) => b === a || Math.hypot(a.x - b.x, a.y - b.y) > 40);
             if (alone && (!best || a.d < best.d)) best = a;
           }
           return best;`,
        );
        await page.mouse.click(spot.x, spot.y);
        const picked = await until(
          "a selection",
          () => page.locator(".details").getAttribute("data-icao24", { timeout: 5000 }),
        );
        assert.equal(picked, spot.id);
        // The next animation frame draws it as selected (slow in software rendering).
        const offset = await until("the selected marker to be drawn", () =>
          hook<number | null>(
            page,
            `const d = s.scene.selectedDrawn;
             if (!d) return null;
             const c = s.scene.globe.getCoords(d.lat, d.lng, Math.max(30, d.altM) / 6371008.8);
             return Math.hypot(c.x - d.position[0], c.y - d.position[1], c.z - d.position[2]);`,
          ));
        assert.ok(offset < 1e-6, `marker ${offset} units off globe.getCoords`);
        await page.keyboard.press("Escape");
        await page.locator(".details").waitFor({ state: "detached" });
      });

      const target = app.hub.snapshot().find((f) =>
        f.callsign && f.icao24 !== app.emergency.icao24
      )!;
      await t.step(`search finds ${target.callsign} and jumps to it`, async () => {
        await page.keyboard.press("/");
        await page.keyboard.type(target.callsign!.toLowerCase());
        const hit = page.locator(`.results button[data-icao24="${target.icao24}"]`);
        await hit.waitFor({ timeout: 10_000 });
        await hit.click();
        await page.waitForSelector(`.details[data-icao24="${target.icao24}"]`);
        assert.equal(await page.locator("#details-callsign").textContent(), target.callsign);
        await until<boolean>(
          "the URL to keep the selection",
          () => page.url().includes(`sel=${target.icao24}`),
        );
        await until(
          "the trail from the track API",
          async () =>
            /Trail: \d+ points/.test(await page.locator(".trail-note").textContent() ?? ""),
        );
        await page.waitForTimeout(1500);
        console.log(`screenshot: ${await screenshot(page, "ui_search_selected")}`);
      });

      await t.step("the cockpit view follows the aircraft", async () => {
        await page.locator("#cockpit-toggle").click();
        // The camera glides in (slowly where the machine is busy): wait until it is behind the aircraft.
        await until("the camera behind the aircraft", () =>
          hook<boolean>(
            page,
            `const c = s.scene.globe.camera().position; const d = s.scene.selectedDrawn;
             return !!d && Math.hypot(c.x - d.position[0], c.y - d.position[1],
               c.z - d.position[2]) * 63710 < 20000;`,
          ));
        await page.waitForTimeout(500);
        const a = await hook<number[]>(
          page,
          "const p = s.scene.globe.camera().position; return [p.x, p.y, p.z]",
        );
        const d1 = await hook<{ lat: number; lng: number }>(page, "return s.scene.selectedDrawn");
        await page.waitForTimeout(3000);
        const b = await hook<number[]>(
          page,
          "const p = s.scene.globe.camera().position; return [p.x, p.y, p.z]",
        );
        const d2 = await hook<{ lat: number; lng: number }>(page, "return s.scene.selectedDrawn");
        const moved = Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);
        const flown = haversineM({ lat: d1.lat, lon: d1.lng }, { lat: d2.lat, lon: d2.lng });
        assert.ok(flown > 50, `aircraft moved ${flown} m`);
        // Camera moved about as far as the aircraft (scene units are 63.7 km).
        assert.ok(
          Math.abs(moved * 63_710 - flown) < flown * 0.5 + 100,
          `camera ${moved * 63_710} m vs ${flown} m`,
        );
        const gap = await hook<number>(
          page,
          `const c = s.scene.globe.camera().position; const d = s.scene.selectedDrawn.position;
           return Math.hypot(c.x - d[0], c.y - d[1], c.z - d[2]);`,
        );
        assert.ok(gap * 63_710 < 20_000, `camera ${gap * 63_710} m from the aircraft`);
        await until<boolean>("the URL to say cockpit", () => page.url().includes("view=cockpit"));
        console.log(`screenshot: ${await screenshot(page, "ui_cockpit")}`);
        await page.keyboard.press("Escape");
        await until(
          "cockpit to end",
          async () => !(await hook<boolean>(page, "return s.scene.inCockpit")),
        );
      });

      await t.step("clicking an anomaly focuses its aircraft", async () => {
        const item = page.locator(`button[data-anomaly-id="${app.emergency.id}"]`);
        await item.waitFor({ timeout: 10_000 });
        assert.match(await item.textContent() ?? "", /Emergency squawk/);
        await item.click();
        await page.waitForSelector(`.details[data-icao24="${app.emergency.icao24}"]`);
        await page.waitForTimeout(2000);
        const pov = await hook<{ lat: number; lng: number; altitude: number }>(
          page,
          "return s.scene.pointOfView()",
        );
        const drawn = await hook<{ lat: number; lng: number }>(
          page,
          "return s.scene.selectedDrawn",
        );
        assert.ok(
          haversineM({ lat: pov.lat, lon: pov.lng }, { lat: drawn.lat, lon: drawn.lng }) < 60_000,
          "camera over the aircraft",
        );
        console.log(`screenshot: ${await screenshot(page, "ui_anomaly_focus")}`);
      });

      await t.step("time travel shows past positions, then back to live", async () => {
        const liveNow = await hook<number>(page, "return s.controller.liveNowS()");
        const at = Math.round(liveNow - 10 * 60);
        await page.locator("#time-slider").evaluate((el, v) => {
          const input = el as HTMLInputElement;
          input.value = String(v);
          input.dispatchEvent(new Event("input", { bubbles: true }));
        }, at);
        await page.waitForSelector(".pill[data-status=replay]");
        // Paused, the page fetches no later instant; a camera move still refetches the
        // same instant for its new viewport, so compare with what the page last asked for.
        await hook(page, "s.controller.pause()");
        type Shown = { ids: string[]; shown: { at: string; bbox: number[] | null } | null };
        let last = { asked: 0, shownAt: "" };
        const past = await until("the past aircraft on the globe", async () => {
          const p = await hook<Shown>(
            page,
            `const r = s.controller.timeTravel.session;
             return { ids: [...s.controller.activeStore.flights.keys()].sort(), shown: r && r.shown };`,
          );
          if (!p.shown) return null;
          // The page asks for its viewport only (issue #10); ask the same.
          const { at: when, bbox } = p.shown;
          const q = `at=${when}${bbox ? `&bbox=${bbox.join(",")}` : ""}`;
          const res = await (await fetch(`${app.origin}/api/snapshot?${q}`))
            .json() as { flights: Flight[] };
          last = { asked: res.flights.length, shownAt: when };
          const ids = res.flights.map((f) => f.icao24).sort();
          return JSON.stringify(ids) === JSON.stringify(p.ids) ? res : null;
        });
        assert.ok(last.asked > 10, `${last.asked} past aircraft in view`);
        assert.ok(Math.abs(Date.parse(last.shownAt) / 1000 - at) < 5, `shows ${last.shownAt}`);
        const live = new Map(app.hub.snapshot().map((f) => [f.icao24, f]));
        const both = past.flights.filter((f) => live.has(f.icao24) && !f.on_ground);
        assert.ok(both.length > 3);
        const drawn = await hook<Record<string, [number, number]>>(
          page,
          `const st = s.controller.activeStore; const now = s.controller.nowS(); const out = {};
           for (const [id, t] of st.flights) { const p = st.displayAt(t, now); out[id] = [p.lat, p.lon]; }
           return out;`,
        );
        for (const f of both) {
          const [lat, lon] = drawn[f.icao24]!;
          const fromPast = haversineM({ lat: lat, lon: lon }, {
            lat: f.position.lat,
            lon: f.position.lon,
          });
          const l = live.get(f.icao24)!;
          const fromLive = haversineM({ lat: lat, lon: lon }, {
            lat: l.position.lat,
            lon: l.position.lon,
          });
          assert.ok(fromPast < 20_000, `${f.icao24} drawn ${fromPast} m from its past position`);
          assert.ok(fromLive > fromPast, `${f.icao24} is nearer its live position`);
        }
        await until<boolean>("the URL to hold the time", () => page.url().includes("t="));
        await page.locator("#replay-play").click();
        await page.locator("#replay-speed").selectOption("60");
        await page.waitForTimeout(3000);
        const t2 = await hook<number>(page, "return s.controller.nowS()");
        assert.ok(t2 > at + 60, `playing at 60x moved ${t2 - at} s`);
        console.log(`screenshot: ${await screenshot(page, "ui_time_travel")}`);
        // At 60x the replay reaches live by itself within 10 s; on a slow machine it may have.
        const goLive = page.locator("#go-live");
        if (await goLive.isEnabled()) await goLive.click().catch(() => {});
        await page.waitForSelector(".pill[data-status=live]");
        assert.equal(
          await hook<boolean>(page, "return s.controller.activeStore === s.controller.live"),
          true,
        );
      });

      await t.step("readable on a phone", async () => {
        await page.setViewportSize({ width: 390, height: 844 });
        await page.waitForTimeout(1500);
        for (const sel of ["#search", "#aircraft-count", "#time-slider", ".feed"]) {
          const box = await page.locator(sel).boundingBox();
          assert.ok(
            box && box.x >= 0 && box.x + box.width <= 391 && box.y + box.height <= 845,
            `${sel} on screen`,
          );
        }
        console.log(`screenshot: ${await screenshot(page, "ui_phone")}`);
      });

      assert.deepEqual(blocked, [], "requests outside localhost");
      assert.deepEqual(errors.filter((e) => !/WebGL|GPU stall|GroupMarkerNotSet/i.test(e)), []);
    } finally {
      await browser.close();
      await app.close();
    }
  },
});
