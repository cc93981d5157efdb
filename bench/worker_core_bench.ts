/**
 * Throughput of the worker's pure core over real recordings: parsing and
 * mapping the OpenSky rows (the baseline every consumer pays), then the
 * same plus Kalman smoothing, then plus every detector. `deno bench` prints
 * each as a multiple of the baseline; updates/s = rows / time per iteration.
 *
 *   deno bench --allow-read=. bench/worker_core_bench.ts
 *
 * @module
 */
import type { Flight } from "../contracts/flight.ts";
import { OpenSkyReply } from "../contracts/opensky.ts";
import { createDetectionEngine } from "../lib/detect/engine.ts";
import { createRunwayIndex, parseRunwaysCsv } from "../lib/detect/runways.ts";
import { stateVectorToFlight } from "../lib/opensky/state_vector.ts";
import { createTracker } from "../lib/track/tracker.ts";

const fixture = (name: string) => new URL(`../fixtures/${name}`, import.meta.url);
const runways = createRunwayIndex(
  parseRunwaysCsv(Deno.readTextFileSync(fixture("ourairports_runways.csv"))).ends,
);

const RECORDINGS = [
  ["TRA051 1 aircraft", "event_holding_TRA051_belevingsvlucht_EHAM-EHLE_2018-05-30_1s.jsonl"],
  ["Switzerland 30 min 97 aircraft", "states_switzerland_2018-08-01T1130Z_30min_10s.jsonl"],
] as const;

/** Parses every line and maps every row: the work shared by all variants. */
function parseAndMap(lines: readonly string[]): Flight[] {
  const flights: Flight[] = [];
  for (const line of lines) {
    const reply = OpenSkyReply.parse(JSON.parse(line));
    for (const row of reply.states ?? []) {
      const mapped = stateVectorToFlight(row);
      if (mapped.ok) flights.push(mapped.flight);
    }
  }
  return flights;
}

for (const [label, file] of RECORDINGS) {
  const lines = Deno.readTextFileSync(fixture(file)).split("\n").filter((l) => l.trim() !== "");
  const rows = parseAndMap(lines).length;
  const group = `${label}, ${rows} rows`;

  Deno.bench(`${group}: parse + map (baseline)`, { group, baseline: true }, () => {
    parseAndMap(lines);
  });

  Deno.bench(`${group}: parse + map + Kalman smoothing`, { group }, () => {
    const tracker = createTracker({ createState: () => null });
    for (const flight of parseAndMap(lines)) tracker.update(flight);
  });

  Deno.bench(`${group}: parse + map + smoothing + all detectors`, { group }, () => {
    const engine = createDetectionEngine({ runways });
    let lastFlush = -Infinity;
    for (const flight of parseAndMap(lines)) {
      engine.ingest(flight);
      // The worker flushes on a timer; once per 10 s of data time is comparable.
      if (flight.time_position_unix - lastFlush >= 10) {
        engine.flush(flight.time_position_unix);
        lastFlush = flight.time_position_unix;
      }
    }
    engine.flush();
  });
}
