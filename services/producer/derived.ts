/**
 * Loads a derived fleet (lib/replay/derived.ts) from its files: the real
 * track recordings (every row with a position, validated once here) and the
 * airports it places copies on. Shared by the producer's replay and
 * `deno task load`.
 *
 * @module
 */
import type { Flight } from "../../contracts/flight.ts";
import { SkySentinelError } from "../../lib/errors.ts";
import { stateVectorToFlight } from "../../lib/opensky/state_vector.ts";
import { DerivedFleet, placesFromAirports, type TrackTemplate } from "../../lib/replay/derived.ts";
import { isGzipPath, readRecording } from "../../lib/replay/recording.ts";
import type { DerivedSource } from "../../lib/replay/scenario.ts";
import type { TimedItem } from "../../lib/replay/timeline.ts";

/** Reads the tracks and places of `source` and builds its fleet. */
export async function loadDerivedFleet(
  source: DerivedSource,
  options: { aircraft?: number; intervalS?: number } = {},
): Promise<DerivedFleet> {
  const tracks: TrackTemplate[] = [];
  for (const track of source.tracks) {
    tracks.push({ label: track.label, flights: await readTrack(track.path) });
  }
  let geojson: unknown;
  try {
    geojson = JSON.parse(await Deno.readTextFile(source.placesPath));
  } catch (error) {
    throw new SkySentinelError(
      "config_invalid",
      `Cannot read places ${source.placesPath}: ${(error as Error).message ?? error}`,
    );
  }
  const places = placesFromAirports(geojson, source.spec.places);
  return new DerivedFleet(tracks, places, {
    aircraft: options.aircraft ?? source.spec.aircraft,
    intervalS: options.intervalS ?? source.spec.interval_s,
    icao24First: source.spec.icao24_first,
  });
}

/** Every row with a position of a recording, as flights in file order. */
async function readTrack(path: string): Promise<Flight[]> {
  const file = await Deno.open(path, { read: true });
  const flights: Flight[] = [];
  for await (const item of readRecording(file.readable, { gzip: isGzipPath(path) })) {
    if (item.kind !== "snapshot") continue;
    for (const row of item.reply.states ?? []) {
      const r = stateVectorToFlight(row);
      if (r.ok) flights.push(r.flight);
    }
  }
  return flights;
}

/** Most flights in one replay step of a derived fleet (a second comes in parts of this size). */
export const DERIVED_STEP_FLIGHTS = 2_000;

/**
 * The fleet as a replay timeline: the reports due in each data second,
 * seconds `0 .. duration_s - 1` after `baseTime`, as flights (times from
 * `baseTime`, which the replay shifts to now like a recording's). Flights,
 * not state vectors: they are built from rows validated once when the
 * fleet was loaded, and validating 20,000 of them again every second was a
 * third of the producer's cost. A second of more than
 * {@link DERIVED_STEP_FLIGHTS} reports comes in parts spread over the
 * second (`at` s + k / parts), as a receiver feed trickles in: one step of
 * 20,000 held the event loop of a one-process `deno task up` for over a
 * second, starving the hub and /healthz.
 */
export async function* derivedTimeline(
  fleet: DerivedFleet,
  options: {
    source: number;
    durationS: number;
    baseTime: number;
    /** Timeline second that is due now (real-time replays); seconds more than 2 s behind are skipped. */
    liveS?: () => number;
    /** Told how many seconds were skipped. */
    onSkip?: (seconds: number) => void;
  },
): AsyncGenerator<TimedItem> {
  const parts = Math.max(1, Math.ceil(fleet.size / fleet.intervalS / DERIVED_STEP_FLIGHTS));
  for (let s = 0; s < options.durationS; s++) {
    const due = options.liveS?.() ?? 0;
    if (due - s > 2) {
      const to = Math.min(options.durationS - 1, Math.floor(due));
      options.onSkip?.(to - s);
      s = to;
    }
    const time = options.baseTime + s;
    for (let k = 0; k < parts; k++) {
      yield {
        source: options.source,
        at: s + k / parts,
        intervalS: fleet.intervalS,
        item: {
          kind: "flights",
          line: s + 1,
          time,
          flights: fleet.flightsAt(time, parts > 1 ? { slice: k, slices: parts } : {}),
        },
      };
    }
  }
}
