/**
 * What the alert tests share: rules built from the API's input shape, the
 * detectors run over a recording, and airport circles from the fixtures.
 *
 * @module
 */
import { type AlertRule, AlertRuleInput, normalizeRule } from "../contracts/alerts.ts";
import type { AnomalyEvent } from "../contracts/anomaly.ts";
import type { Flight } from "../contracts/flight.ts";
import { createDetectionEngine } from "../lib/detect/engine.ts";
import { createRunwayIndex, parseRunwaysCsv } from "../lib/detect/runways.ts";

const T0 = "2026-01-01T00:00:00.000Z";

/** A stored rule from a POST body (validated like the API does). */
export function rule(id: string, input: AlertRuleInput): AlertRule {
  const { webhook_secret, ...rest } = normalizeRule(AlertRuleInput.parse(input));
  return {
    ...rest,
    id,
    webhook_secret_set: webhook_secret !== null,
    created_at: T0,
    updated_at: T0,
  };
}

/** Toulouse-Blagnac's reference point (fixtures/runway_thresholds_selected_airports.json), [lat, lon]. */
export const LFBO: [number, number] = [43.629101, 1.36382];
/** Zurich's reference point, [lat, lon]. */
export const LSZH: [number, number] = [47.464699, 8.54917];

export const EZY158T = "opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl";
export const RYR2RG = "opensky_sv_RYR2RG_cruise-FL370_2022-02-02_1s.jsonl";
export const EDW24 = "opensky_sv_EDW24_LSZH-taxi_2024-04-06_1s.jsonl";
export const SWITZERLAND = "states_switzerland_2018-08-01T1130Z_30min_10s.jsonl";

let runways: ReturnType<typeof createRunwayIndex> | undefined;

/** Per update, the anomaly events the detectors emit at it (the end-of-input flush on the last). */
export async function detectAlong(flights: readonly Flight[]): Promise<AnomalyEvent[][]> {
  runways ??= createRunwayIndex(
    parseRunwaysCsv(await Deno.readTextFile("fixtures/ourairports_runways.csv")).ends,
  );
  const engine = createDetectionEngine({ runways });
  const out = flights.map((f) => engine.ingest(f).events);
  out[out.length - 1]?.push(...engine.flush().events);
  return out;
}
