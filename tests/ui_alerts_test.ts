/**
 * The alerts panel and toast in Chromium: a geofence rule is created in
 * the panel (around an aircraft of the live Switzerland snapshot, with the
 * ADMIN_TOKEN typed in), the rule list shows it; the rules stored by the
 * API go through the evaluator (the worker's core) over the snapshot the
 * page shows and the hub pushes the alert; the page shows its toast, and a
 * click on it selects the aircraft. Mute and delete from the panel reach
 * the database.
 */
import assert from "node:assert/strict";
import { AlertEvaluator } from "../lib/alerts/evaluator.ts";
import { loadRules } from "../services/alerts/store.ts";
import { skipWithoutChromium } from "./_services.ts";
import { isolatedPage, launchChromium, snapshotFlights, startUiApp } from "./_ui_harness.ts";

const TOKEN = "ui-test-admin-token-0123";

Deno.test({
  name: "ui alerts: create a rule in the panel, see its toast, fly there, mute and delete",
  ignore: skipWithoutChromium(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const app = await startUiApp({ adminToken: TOKEN });
    const browser = await launchChromium();
    try {
      const { page } = await isolatedPage(browser);
      await page.goto(`${app.origin}/`);
      await page.waitForFunction(
        () => Number(document.querySelector("#aircraft-count")?.getAttribute("data-count")) > 0,
        undefined,
        { timeout: 90_000 },
      );
      const target = snapshotFlights(app.fedIndex(), app.shiftS).find((f) => f.callsign)!;
      await page.click("section.alerts-panel button.card-head");
      await page.fill("section.alerts-panel input[name=name]", "Around the test aircraft");
      await page.fill("section.alerts-panel input[name=lat]", String(target.position.lat));
      await page.fill("section.alerts-panel input[name=lon]", String(target.position.lon));
      await page.fill("section.alerts-panel input[name=radius_km]", "20");
      await page.fill("section.alerts-panel input[name=token]", TOKEN);
      await page.click("section.alerts-panel button[type=submit]");
      await page.waitForSelector("section.alerts-panel li[data-rule-id]", { timeout: 30_000 });

      const rules = await loadRules(app.sql!);
      assert.equal(rules.length, 1);
      assert.equal(rules[0]!.name, "Around the test aircraft");
      assert.deepEqual(rules[0]!.geofence, {
        center: [target.position.lat, target.position.lon],
        radius_m: 20_000,
      });
      // What the worker does with each update: evaluate, then the hub pushes the alert.
      const ev = new AlertEvaluator(rules);
      const alerts = snapshotFlights(app.fedIndex(), app.shiftS).flatMap((f) => ev.update(f));
      const mine = alerts.find((a) => a.icao24 === target.icao24);
      assert.ok(mine, "the aircraft at the centre enters on first sight");
      for (const a of alerts) app.hub.broadcastAlert(a);

      const toast = page.locator(`.alert-toast[data-alert-id="${mine.id}"]`);
      await toast.waitFor({ timeout: 30_000 });
      const text = await toast.innerText();
      assert.match(text, /Around the test aircraft/);
      assert.match(text, new RegExp(`${target.callsign} entered`));
      await toast.locator(".alert-main").click();
      await page.waitForFunction(
        (icao24) => location.hash.includes(`sel=${icao24}`),
        target.icao24,
        { timeout: 15_000 },
      );

      await page.click("section.alerts-panel li[data-rule-id] button:has-text('mute')");
      await page.waitForSelector("section.alerts-panel li.muted", { timeout: 15_000 });
      assert.equal((await loadRules(app.sql!))[0]!.muted, true);
      await page.click("section.alerts-panel li[data-rule-id] button:has-text('delete')");
      await page.waitForSelector("section.alerts-panel li[data-rule-id]", {
        state: "detached",
        timeout: 15_000,
      });
      assert.equal((await loadRules(app.sql!)).length, 0);
    } finally {
      await browser.close();
      await app.close();
    }
  },
});
