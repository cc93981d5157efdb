/**
 * The globe page against the real web server and hub over
 * `skysentinel.v2.bin` (the page's default): headless Chromium negotiates
 * the binary subprotocol, decodes in its Web Worker, and shows exactly the
 * hub's aircraft at the hub's positions (to the encoding's 1e-5 degree),
 * and the hub's world count in the top bar. `?encoding=json` still works,
 * with the world count too.
 */
import assert from "node:assert/strict";
import type { Flight } from "../contracts/flight.ts";
import { isolatedPage, launchChromium, startUiApp } from "./_ui_harness.ts";
import { skipWithoutChromium } from "./_services.ts";

const chromiumMissing = skipWithoutChromium();

interface PageState {
  subprotocol: string;
  decoding: string;
  frames: number;
  deltas: number;
  flights: Record<string, [number, number]>;
}

const READ_STATE = `
  const s = globalThis.__skysentinel;
  if (!s) return null;
  const c = s.controller.connection;
  const flights = {};
  for (const [id, t] of s.controller.live.flights) {
    flights[id] = [t.flight.position.lat, t.flight.position.lon];
  }
  return { subprotocol: c.subprotocol, decoding: c.decoding, frames: c.stats.frames,
           deltas: c.protocolStats.deltas, flights };`;

Deno.test({
  name: "globe page: aircraft arrive over skysentinel.v2.bin, decoded in a Web Worker",
  ignore: chromiumMissing,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const app = await startUiApp({ history: false });
    const browser = await launchChromium();
    try {
      const { page, blocked, errors } = await isolatedPage(browser);
      const read = () =>
        page.evaluate((code) => new Function(code)(), READ_STATE) as Promise<
          PageState | null
        >;
      await t.step("v2.bin by default: the hub's aircraft at the hub's positions", async () => {
        await page.goto(`${app.origin}/`);
        await page.waitForSelector(".sky[data-globe=ready]", { timeout: 120_000 });
        let last: PageState | null = null;
        let hub: Flight[] = [];
        let near = 0;
        const end = Date.now() + 60_000;
        // Both move every tick (the hub ingests a recorded snapshot every 10 s): wait until the
        // page holds the hub's current state.
        while (Date.now() < end) {
          last = await read();
          hub = app.hub.snapshot();
          const ids = last ? Object.keys(last.flights).sort() : [];
          near = 0;
          for (const f of hub) {
            const p = last?.flights[f.icao24];
            // To the encoding's quantum, 1e-5 degree.
            if (
              p && Math.abs(p[0] - f.position.lat) <= 1e-5 &&
              Math.abs(p[1] - f.position.lon) <= 1e-5
            ) near++;
          }
          if (
            last && last.frames > 5 && last.deltas > 0 && ids.length > 20 && near === hub.length &&
            JSON.stringify(ids) === JSON.stringify(hub.map((f) => f.icao24).sort())
          ) break;
          await page.waitForTimeout(300);
        }
        assert.ok(last, "no test hook");
        assert.equal(last.subprotocol, "skysentinel.v2.bin");
        assert.equal(last.decoding, "worker");
        assert.ok(last.frames > 5 && last.deltas > 0, JSON.stringify(last).slice(0, 200));
        assert.deepEqual(Object.keys(last.flights).sort(), hub.map((f) => f.icao24).sort());
        assert.equal(near, hub.length, `${near} of ${hub.length} at the hub's position`);
        // The top bar renders on the page's next frame, after the store it counts: wait for it
        // to show the aircraft the page holds (CI once read it between the two).
        const shown = Object.keys(last.flights).length;
        let count = NaN;
        for (const until = Date.now() + 10_000; Date.now() < until;) {
          count = Number(await page.locator("#aircraft-count").getAttribute("data-count"));
          if (count === shown) break;
          await page.waitForTimeout(100);
        }
        assert.equal(count, shown);
        // v2.bin frames carry the hub's world count too: the top bar shows "N of M".
        const bar = page.locator("#aircraft-count");
        const total = Number(await bar.getAttribute("data-total"));
        assert.ok(
          total > 20 && Math.abs(total - app.hub.snapshot().length) <= 5,
          `total ${await bar.getAttribute("data-total")}`,
        );
        assert.match(
          (await bar.textContent()) ?? "",
          new RegExp(`of ${total.toLocaleString("en-US")}`),
        );
      });

      await t.step("?encoding=json still works", async () => {
        await page.goto(`${app.origin}/?encoding=json`);
        await page.waitForSelector(".sky[data-globe=ready]", { timeout: 120_000 });
        const end = Date.now() + 60_000;
        let last: PageState | null = null;
        while (Date.now() < end) {
          last = await read();
          if (last && Object.keys(last.flights).length > 20) break;
          await page.waitForTimeout(500);
        }
        assert.equal(last?.subprotocol, "skysentinel.v1.json");
        assert.equal(last?.decoding, "main");
        assert.ok(Object.keys(last!.flights).length > 20);
        // The v1 encodings carry the hub's world count: the top bar shows it.
        const total = Number(await page.locator("#aircraft-count").getAttribute("data-total"));
        assert.ok(Math.abs(total - app.hub.snapshot().length) <= 5, `total ${total}`);
      });
      assert.deepEqual(blocked, [], "no request left localhost");
      // Without a history database the anomaly and history API answer 503, as they should.
      const unexpected = errors.filter((e) => !/WebGL|GPU|status of 503/i.test(e));
      assert.deepEqual(unexpected, [], "page errors");
    } finally {
      await browser.close();
      await app.close();
    }
  },
});
