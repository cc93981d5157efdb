/**
 * Costs of the hub's pure core on ~10,000 aircraft (the Switzerland
 * recording with derived copies for load, see bench/hub_load.ts): a tick
 * (commit + per-bucket deltas), encoding a delta and a full snapshot in JSON
 * and MessagePack, filter matching and client frame decoding.
 *
 * `deno bench -A bench/hub_core_bench.ts`
 *
 * @module
 */
import type { Subscription } from "../contracts/ws.ts";
import { compileFilter, decodeClientFrame, encode, HubCore } from "../lib/hub/mod.ts";
import { SwitzerlandCopiesForLoad } from "./hub_load.ts";

const data = new SwitzerlandCopiesForLoad({ aircraft: 10_000 });
const shift = Math.floor(Date.now() / 1000) - data.start;
const nowSeconds = Math.floor(Date.now() / 1000);
const full = data.batch(0, shift);
/** One tick's share of a poll: polls every 10 s, ticks every 200 ms. */
const perTick = Math.ceil(full.length / 50);

const FILTERS: Subscription[] = [
  { bbox: [35, -10, 60, 30] },
  { callsign_prefix: "EZY" },
  { min_altitude_m: 11_000 },
  { bbox: [45, 5, 48, 11], on_ground: false },
];

function coreWith(buckets: number): HubCore<number> {
  const core = new HubCore<number>({ staleAfterSeconds: 1e9, anomalyWindowMs: 3_600_000 });
  core.join(0);
  for (let i = 1; i < buckets; i++) core.join(i, FILTERS[(i - 1) % FILTERS.length]);
  for (const f of full) core.ingest(f, { nowSeconds });
  core.tick(0);
  return core;
}

/** Ingests `count` of the aircraft (rolling), each newer than its last update. */
function updater(core: HubCore<number>) {
  let n = 0;
  let offset = 0;
  return (count: number) => {
    n++;
    for (let i = 0; i < count; i++) {
      const f = full[(offset + i) % full.length]!;
      core.ingest({
        ...f,
        time_position_unix: f.time_position_unix + n,
        last_contact_unix: f.last_contact_unix + n,
      }, { nowSeconds });
    }
    offset = (offset + count) % full.length;
  };
}

for (const buckets of [1, 5]) {
  const core = coreWith(buckets);
  const update = updater(core);
  Deno.bench({
    name: `tick: ${perTick} upserts of ${full.length} aircraft, ${buckets} bucket(s), no encoding`,
    group: "tick",
    fn() {
      update(perTick);
      core.tick(0);
    },
  });
}

for (const encoding of ["json", "msgpack"] as const) {
  const core = coreWith(5);
  const update = updater(core);
  Deno.bench({
    name: `poll tick: all ${full.length} aircraft updated, 5 buckets, encoded ${encoding}`,
    group: "poll tick",
    fn() {
      update(full.length);
      for (const { message } of core.tick(0).deltas) message.frame(encoding);
    },
  });
}

const delta = {
  type: "delta" as const,
  seq: 1,
  server_time_ms: Date.now(),
  upserts: full.slice(0, perTick),
  removes: [],
};
const snapshot = { type: "snapshot" as const, seq: 1, server_time_ms: Date.now(), flights: full };
for (const encoding of ["json", "msgpack"] as const) {
  Deno.bench({
    name: `encode a delta of ${perTick} flights, ${encoding}`,
    group: "encode delta",
    baseline: encoding === "json",
    fn: () => void encode(delta, encoding),
  });
  Deno.bench({
    name: `encode a snapshot of ${full.length} flights, ${encoding}`,
    group: "encode snapshot",
    baseline: encoding === "json",
    fn: () => void encode(snapshot, encoding),
  });
}
console.log(
  `frame sizes: delta ${perTick} flights json ${encode(delta, "json").length} B, msgpack ${
    encode(delta, "msgpack").length
  } B; snapshot ${full.length} flights json ${encode(snapshot, "json").length} B, msgpack ${
    encode(snapshot, "msgpack").length
  } B`,
);

const bboxAltitude = compileFilter({ bbox: [35, -10, 60, 30], min_altitude_m: 11_000 });
Deno.bench({
  name: `filter: ${full.length} flights against a bbox + altitude filter`,
  fn() {
    let n = 0;
    for (const f of full) if (bboxAltitude(f)) n++;
    if (n < 0) throw new Error("unreachable");
  },
});

const subscribe = JSON.stringify({ type: "subscribe", filter: FILTERS[0] });
Deno.bench({
  name: "decodeClientFrame: a subscribe message",
  fn: () => void decodeClientFrame(subscribe),
});
