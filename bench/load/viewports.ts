/**
 * Who the load clients are: their viewports (10% whole world by default,
 * the rest regional views centred where the traffic is: on aircraft of the
 * fleet, so dense regions get more viewers, as they do in reality), their
 * encodings and which of them are probes. Pure and deterministic.
 *
 * @module
 */
import type { LoadEncoding } from "./frames.ts";

export type BBox = [number, number, number, number];

export interface ClientPlan {
  id: number;
  /** null: the whole world. */
  bbox: BBox | null;
  encoding: LoadEncoding;
  /** Decodes fully and measures ingest-to-receive (else: frame heads only, tick-to-receive). */
  probe: boolean;
}

export interface PlanOptions {
  clients: number;
  probes: number;
  /** Share of whole-world clients, 0..1. */
  worldShare: number;
  /** Encoding mix of regional clients, weights. */
  mix: Record<LoadEncoding, number>;
  /** Encodings of whole-world clients (cycled). */
  worldEncodings: LoadEncoding[];
  /** Regional view size, degrees of latitude (longitude: 1.5 times, a landscape window). */
  viewDeg: number;
}

/** Plans `clients` clients around the given aircraft positions. */
export function planClients(
  positions: readonly { lat: number; lon: number }[],
  options: PlanOptions,
): ClientPlan[] {
  const world = Math.round(options.clients * options.worldShare);
  const weights = Object.entries(options.mix).filter(([, w]) => w > 0) as [LoadEncoding, number][];
  const total = weights.reduce((n, [, w]) => n + w, 0);
  const pickEncoding = (u: number): LoadEncoding => {
    let acc = 0;
    for (const [e, w] of weights) if (u * total < (acc += w)) return e;
    return weights.at(-1)![0];
  };
  // Probes are spread over the population: every k-th client, both kinds.
  const probeEvery = options.probes > 0
    ? Math.max(1, Math.floor(options.clients / options.probes))
    : 0;
  const plans: ClientPlan[] = [];
  for (let id = 0; id < options.clients; id++) {
    const probe = probeEvery > 0 && id % probeEvery === 0 && id / probeEvery < options.probes;
    // World clients every 1/worldShare-th client so both kinds are in every process.
    const isWorld = world > 0 && id % Math.round(options.clients / world) === 0 &&
      id / Math.round(options.clients / world) < world;
    const u = (id * 0.6180339887498949) % 1;
    if (isWorld) {
      plans.push({
        id,
        bbox: null,
        encoding: options.worldEncodings[id % options.worldEncodings.length]!,
        probe,
      });
      continue;
    }
    const p = positions[Math.floor(((id * 0.7548776662466927) % 1) * positions.length)]!;
    const h = options.viewDeg / 2;
    const w = h * 1.5;
    const lat = Math.max(-90 + h, Math.min(90 - h, p.lat));
    const lomin = wrap(p.lon - w);
    const lomax = wrap(p.lon + w);
    plans.push({ id, bbox: [lat - h, lomin, lat + h, lomax], encoding: pickEncoding(u), probe });
  }
  return plans;
}

function wrap(lon: number): number {
  return ((lon + 540) % 360) - 180;
}
