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
  // World clients every 1/worldShare-th client.
  const worldEvery = world > 0 ? Math.round(options.clients / world) : 0;
  const isWorldId = (id: number) =>
    worldEvery > 0 && id % worldEvery === 0 && id / worldEvery < world;
  const probes = probeIds(options.clients, { probes: options.probes, isWorld: isWorldId });
  const plans: ClientPlan[] = [];
  for (let id = 0; id < options.clients; id++) {
    const probe = probes.has(id);
    const isWorld = isWorldId(id);
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

/**
 * The probes, spread evenly over each kind in the kinds' proportions (10% world
 * probes for 10% world clients): a fixed stride would land on whole-world
 * clients only whenever it is a multiple of theirs (every 100th of 2,000).
 */
function probeIds(
  clients: number,
  options: { probes: number; isWorld: (id: number) => boolean },
): Set<number> {
  const world: number[] = [];
  const regional: number[] = [];
  for (let id = 0; id < clients; id++) (options.isWorld(id) ? world : regional).push(id);
  const n = Math.min(options.probes, clients);
  const nWorld = Math.min(world.length, Math.round((n * world.length) / Math.max(1, clients)));
  const pick = (ids: number[], k: number) =>
    Array.from(
      { length: Math.min(k, ids.length) },
      (_, j) => ids[Math.floor((j * ids.length) / k)]!,
    );
  return new Set([...pick(world, nWorld), ...pick(regional, n - nWorld)]);
}

/**
 * Deals the plans to `n` load processes, each kind (whole-world or regional,
 * probe or not) round-robin on its own, so that every process gets its share
 * of the heavy clients: whole-world clients, every 10th, would otherwise all
 * go to the even process of two.
 */
export function splitPlans(plans: readonly ClientPlan[], n: number): ClientPlan[][] {
  const out = Array.from({ length: n }, () => [] as ClientPlan[]);
  const dealt = new Map<string, number>();
  for (const p of plans) {
    const kind = `${p.bbox === null}|${p.probe}`;
    const k = dealt.get(kind) ?? 0;
    dealt.set(kind, k + 1);
    out[k % n]!.push(p);
  }
  return out;
}

function wrap(lon: number): number {
  return ((lon + 540) % 360) - 180;
}
