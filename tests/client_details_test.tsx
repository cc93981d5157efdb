/**
 * The details panel, rendered to HTML on the server: it names where the
 * position came from (`source`) and says that the marker is the raw
 * reported position while the trail is the smoothed track (issue #15).
 */
import assert from "node:assert/strict";
import { render } from "preact-render-to-string";
import { DetailsPanel, POSITION_NOTE } from "../components/DetailsPanel.tsx";
import { flightsCopiesForLoad } from "./_hub_harness.ts";

Deno.test("details panel: source shown, raw marker and smoothed trail explained", () => {
  const real = flightsCopiesForLoad(90, 0).find((f) => f.callsign)!;
  const panel = (flight: typeof real) =>
    render(
      <DetailsPanel
        selected={{
          icao24: flight.icao24,
          flight,
          session: null,
          contactAgeS: 2,
          positionAgeS: 3,
          trailPoints: 12,
          trailNote: null,
        }}
        cockpit={false}
        onClose={() => {}}
        onCockpit={() => {}}
        onLocate={() => {}}
      />,
    );
  const withSource = panel({ ...real, source: "sbs" });
  assert.match(withSource, /id="details-source"[^>]*>receiver \(SBS\)</);
  assert.ok(withSource.includes("as reported"));
  assert.ok(withSource.includes("Kalman-smoothed"));
  assert.ok(withSource.includes(POSITION_NOTE.slice(0, 40)));
  assert.match(panel(real), /id="details-source"[^>]*>—</, "no source: a dash, not a guess");
});
