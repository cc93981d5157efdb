/**
 * The details panel names where the position came from (`source`) and a
 * declared emergency (readsb's `emergency`). Rendered on the server with
 * preact-render-to-string; the flight is a real EZY158T row from fixtures/
 * with `source`/`emergency` set as a receiver would (derived).
 */
import assert from "node:assert/strict";
import { h } from "preact";
import { renderToString } from "preact-render-to-string";
import { DetailsPanel } from "../components/DetailsPanel.tsx";
import type { Flight } from "../contracts/flight.ts";
import { derivedTrack } from "./_receiver_feeds.ts";

const [row] = await derivedTrack(undefined, { limit: 1 });

function render(flight: Flight): string {
  return renderToString(h(DetailsPanel, {
    selected: {
      icao24: flight.icao24,
      flight,
      session: null,
      contactAgeS: 1,
      positionAgeS: 1,
      trailPoints: 0,
      trailNote: null,
    },
    cockpit: false,
    onClose() {},
    onCockpit() {},
    onLocate() {},
  }));
}

Deno.test("details panel: EZY158T_beast_minfuel_derived shows the receiver source and the declared emergency", () => {
  const html = render({ ...row!, source: "beast", emergency: "minfuel" });
  assert.match(html, /id="details-source"[^>]*>receiver \(Beast\)</);
  assert.match(html, /Declared emergency: minfuel/);
  const plain = render(row!);
  assert.match(plain, /id="details-source"[^>]*>—</);
  assert.doesNotMatch(plain, /Declared emergency/);
});
