/**
 * The worker's CPU path in process, without Kafka or PostgreSQL, and a digest of what it
 * would store: the input of `bench:worker` (`switzerland_day_copies_for_load`, see
 * bench/_worker_input.ts) as encoded messages on 6 partitions, each batch of 2,000 decoded
 * and validated (`decodeMessage` with the hand-written check), run through the processor
 * (Kalman smoothing, detectors, sessions; a history source with no rows), the alert
 * evaluator (no rules) and the binary COPY encoder, as the worker does per batch.
 *
 * Prints the CPU time per update and per step, and a SHA-256 over the COPY bytes, the
 * merged session versions and the events of every batch: a change meant to cost less CPU
 * must leave the digest as it was.
 *
 * Run: `deno run -A bench/worker_core_digest.ts [updates, default 300000]`.
 *
 * @module
 */
import process from "node:process";
import { createHash } from "node:crypto";
import { FlightUpdateEnvelope } from "../contracts/flight.ts";
import { checkFlightUpdateEnvelope } from "../contracts/flight_check.ts";
import { AlertEvaluator } from "../lib/alerts/evaluator.ts";
import { decodeMessage } from "../lib/bus/deadletter.ts";
import { partitionForKey } from "../lib/bus/partitioner.ts";
import type { BusMessage } from "../lib/bus/types.ts";
import { BinaryCopyBuffer } from "../lib/db/copy_binary.ts";
import { encodeHistoryRow } from "../lib/db/history_rows.ts";
import { createRunwayIndex, parseRunwaysCsv } from "../lib/detect/runways.ts";
import type { FlightSession } from "../lib/detect/session.ts";
import { Processor } from "../services/worker/processor.ts";
import { derived, polls } from "./_worker_input.ts";

const UPDATES = Number(Deno.args[0] ?? 300_000);
const PARTITIONS = 6;
const BATCH = 2000;

const encoder = new TextEncoder();
const parts: BusMessage[][] = Array.from({ length: PARTITIONS }, () => []);
for (const { message } of derived(await polls(), UPDATES)) {
  const p = partitionForKey(message.key!, PARTITIONS);
  parts[p]!.push({
    topic: "t",
    partition: p,
    offset: String(parts[p]!.length),
    key: message.key,
    value: encoder.encode(message.value as string),
    timestamp: 0,
    headers: {},
  });
}
const runways = createRunwayIndex(
  parseRunwaysCsv(await Deno.readTextFile("fixtures/ourairports_runways.csv")).ends,
);
const processor = new Processor({
  runways,
  history: {
    tracks: () => Promise.resolve(new Map()),
    openSessions: () => Promise.resolve([]),
    stillOpen: () => Promise.resolve([]),
  },
  partitions: PARTITIONS,
});
const alerts = new AlertEvaluator([]);
const digest = createHash("sha256");
const ms = { decode: 0, process: 0, alerts: 0, encode: 0 };
const copy = new BinaryCopyBuffer(1 << 20);
const cpuFrom = process.cpuUsage();
const started = performance.now();
for (let at = 0, more = true; more; at += BATCH) {
  more = false;
  for (let p = 0; p < PARTITIONS; p++) {
    const batch = parts[p]!.slice(at, at + BATCH);
    if (batch.length === 0) continue;
    more = true;
    let mark = performance.now();
    const items = [];
    for (const message of batch) {
      const d = decodeMessage(message, FlightUpdateEnvelope, { check: checkFlightUpdateEnvelope });
      if (d.ok) items.push({ offset: message.offset, flight: d.value.payload });
    }
    ms.decode += performance.now() - mark;
    mark = performance.now();
    const result = await processor.process(
      { topic: "t", partition: p, firstOffset: batch[0]!.offset },
      items,
    );
    ms.process += performance.now() - mark;
    mark = performance.now();
    for (const item of items) alerts.update(item.flight);
    ms.alerts += performance.now() - mark;
    mark = performance.now();
    for (const { history: h } of result.outputs) {
      encodeHistoryRow(copy, h.flight, h.smoothed, h.sessionId);
    }
    digest.update(copy.take());
    ms.encode += performance.now() - mark;
    const sessions = new Map<string, FlightSession>();
    for (const out of result.outputs) for (const s of out.sessions) sessions.set(s.id, s);
    digest.update(JSON.stringify([...sessions.values()]));
    digest.update(JSON.stringify(result.outputs.flatMap((o) => o.events)));
    processor.committed({ topic: "t", partition: p, lastOffset: batch.at(-1)!.offset });
  }
}
const wallS = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuFrom);
const cpuS = (cpu.user + cpu.system) / 1e6;
console.log(
  `${UPDATES} updates in ${wallS.toFixed(2)} s: CPU ${cpuS.toFixed(2)} s = ` +
    `${(cpuS * 1e6 / UPDATES).toFixed(1)} us per update; steps (wall, us per update): ` +
    Object.entries(ms).map(([k, v]) => `${k} ${(v * 1000 / UPDATES).toFixed(2)}`).join(", "),
);
console.log(`digest of the COPY bytes, sessions and events: ${digest.digest("hex")}`);
