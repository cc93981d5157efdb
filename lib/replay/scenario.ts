/**
 * Scenarios: a small JSON file naming several recordings to play together.
 * Each recording is aligned to the scenario start (plus its own `offset_s`),
 * may skip into the recording (`skip_s`) and be cut (`duration_s`); the
 * replay merges them in time order. Pure: parsing and path resolution only.
 *
 * ```json
 * {
 *   "name": "demo",
 *   "recordings": [
 *     { "file": "../states_switzerland_2018-08-01T1130Z_30min_10s.jsonl" },
 *     { "file": "../opensky_sv_EZY158T_....jsonl", "skip_s": 1250, "duration_s": 2100 }
 *   ]
 * }
 * ```
 *
 * A scenario may instead (or as well) hold a `derived` block: a fleet of
 * copies of real tracks made at replay time (lib/replay/derived.ts), as
 * `fixtures/scenarios/world_load.json` does.
 *
 * @module
 */
import { dirname, isAbsolute, join } from "node:path";
import { z } from "zod";
import { BBox } from "../../contracts/common.ts";
import { SkySentinelError } from "../errors.ts";
import { formatZodError } from "../zod_error.ts";
import { DerivedFleetSpec } from "./derived.ts";

export const ScenarioRecording = z.object({
  /** Recording path (`.jsonl` or `.jsonl.gz`), relative to the scenario file. */
  file: z.string().min(1),
  /** Short name for logs and the dead-letter source. */
  label: z.string().max(64).optional(),
  /** Why it is in the scenario (documentation only). */
  note: z.string().optional(),
  /** Seconds after the scenario start at which this recording starts playing. */
  offset_s: z.number().min(0).default(0),
  /** Seconds of the recording skipped at its start (from its first snapshot). */
  skip_s: z.number().min(0).default(0),
  /** Seconds of the recording played after the skip; unset plays to the end. */
  duration_s: z.number().positive().optional(),
  /** The box the recording covers, `[lamin, lomin, lamax, lomax]`, for `source.bbox`. */
  bbox: BBox.nullable().optional(),
});
export type ScenarioRecording = z.infer<typeof ScenarioRecording>;

export const Scenario = z.object({
  name: z.string().min(1).max(64),
  description: z.string().optional(),
  recordings: z.array(ScenarioRecording).default([]),
  /** A fleet of derived copies made at replay time (see derived.ts); plays beside the recordings. */
  derived: DerivedFleetSpec.optional(),
}).refine((s) => s.recordings.length > 0 || s.derived !== undefined, {
  message: "a scenario needs recordings or a derived fleet",
  path: ["recordings"],
});
export type Scenario = z.infer<typeof Scenario>;

/** One recording to play, with its placement in the replay's timeline. */
export interface ReplaySource {
  /** Path of the recording file. */
  path: string;
  /** Name in logs (the scenario label or the file name). */
  label: string;
  offsetS: number;
  skipS: number;
  /** Seconds played after the skip, or null for all. */
  durationS: number | null;
  bbox: BBox | null;
  /**
   * Set for a derived fleet: `path` is then the scenario file, and these are
   * the spec with its track and places paths resolved.
   */
  derived?: DerivedSource;
}

/** A derived fleet to generate (see derived.ts), its file paths resolved. */
export interface DerivedSource {
  spec: DerivedFleetSpec;
  /** Track recordings, resolved, with their labels. */
  tracks: { path: string; label: string }[];
  /** The airports GeoJSON, resolved. */
  placesPath: string;
}

/** True when a REPLAY_FILES entry names a scenario rather than a recording. */
export function isScenarioPath(path: string): boolean {
  return path.toLowerCase().endsWith(".json");
}

/** A plain recording played from its start at the replay start. */
export function recordingSource(path: string): ReplaySource {
  return { path, label: baseName(path), offsetS: 0, skipS: 0, durationS: null, bbox: null };
}

/**
 * Parses a scenario file's text and resolves its recording paths against the
 * scenario's own folder.
 */
export function parseScenario(
  text: string,
  options: { path: string },
): { scenario: Scenario; sources: ReplaySource[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new SkySentinelError(
      "config_invalid",
      `Scenario ${options.path} is not JSON: ${error instanceof Error ? error.message : error}`,
    );
  }
  const parsed = Scenario.safeParse(json);
  if (!parsed.success) {
    throw new SkySentinelError(
      "config_invalid",
      `Scenario ${options.path}: ${formatZodError(parsed.error)}`,
    );
  }
  const folder = dirname(options.path);
  const sources = parsed.data.recordings.map((r): ReplaySource => {
    const path = isAbsolute(r.file) ? r.file : join(folder, r.file);
    return {
      path,
      label: r.label ?? baseName(path),
      offsetS: r.offset_s,
      skipS: r.skip_s,
      durationS: r.duration_s ?? null,
      bbox: r.bbox ?? null,
    };
  });
  const derived = parsed.data.derived;
  if (derived) {
    const resolve = (file: string) => isAbsolute(file) ? file : join(folder, file);
    sources.push({
      path: options.path,
      label: derived.label,
      offsetS: 0,
      skipS: 0,
      durationS: derived.duration_s,
      bbox: null,
      derived: {
        spec: derived,
        tracks: derived.tracks.map((t) => ({
          path: resolve(t.file),
          label: t.label ?? baseName(t.file),
        })),
        placesPath: resolve(derived.places.file),
      },
    });
  }
  return { scenario: parsed.data, sources };
}

function baseName(path: string): string {
  return path.split(/[\\/]/).pop()?.replace(/\.jsonl(\.gz)?$/i, "") || path;
}
