/**
 * The real recordings in fixtures/ as flights, the way every consumer maps
 * them: each snapshot's rows through `stateVectorToFlight`, rows that do not
 * map (no position, no icao24) left out, file order kept.
 *
 * @module
 */
import type { Flight } from "../contracts/flight.ts";
import { stateVectorToFlight } from "../lib/opensky/state_vector.ts";
import { readSnapshots } from "../scripts/detect.ts";

/** A fixture by file name. */
export const fixture = (name: string): URL => new URL(`../fixtures/${name}`, import.meta.url);

/** Every mapped row of a recording (`.jsonl` or `.jsonl.gz`), optionally of one aircraft. */
export async function recordedFlights(
  recording: string | URL,
  options: { icao24?: string } = {},
): Promise<Flight[]> {
  const out: Flight[] = [];
  const url = typeof recording === "string" ? fixture(recording) : recording;
  for await (const item of readSnapshots(url)) {
    if (item.kind !== "snapshot") continue;
    for (const row of item.reply.states ?? []) {
      const mapped = stateVectorToFlight(row);
      if (!mapped.ok) continue;
      if (options.icao24 === undefined || mapped.flight.icao24 === options.icao24) {
        out.push(mapped.flight);
      }
    }
  }
  return out;
}
