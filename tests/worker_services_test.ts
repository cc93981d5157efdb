/**
 * The worker against the real services: PostgreSQL (DATABASE_URL, a fresh
 * database per test) with the memory bus, and Kafka (KAFKA_BROKERS, topics
 * and groups unique per run) with PostgreSQL. Fed flight_update envelopes
 * built from real recordings as the producer's replay builds them. Every
 * scenario must end with exactly the rows of a clean run on the memory bus:
 * nothing lost, nothing doubled, whatever the transport, the batch
 * boundaries, the restarts or the outages. Waits are bounded by a deadline;
 * nothing asserts on timing.
 */
import assert from "node:assert/strict";
import type { AnomalyEvent } from "../contracts/anomaly.ts";
import type { DeadLetter } from "../contracts/deadletter.ts";
import { TOPICS } from "../contracts/topics.ts";
import { MemoryBus } from "../lib/bus/memory.ts";
import { openBus } from "../lib/bus/mod.ts";
import type { Bus, BusMessage, OutgoingMessage } from "../lib/bus/types.ts";
import { connect, type Sql } from "../lib/db/mod.ts";
import { createLogger } from "../lib/log.ts";
import { startWorker, type WorkerHandle, type WorkerTopics } from "../services/worker/worker.ts";
import { freshPostgres } from "./_db.ts";
import {
  crashingBus,
  difference,
  type Dump,
  dump,
  recorded,
  RUNWAYS,
  send,
  startTestWorker,
  STREAM,
  topicsFor,
  unique,
  waitFor as waitUntil,
} from "./_worker_harness.ts";
import { databaseUrl, kafkaBrokers, skipWithoutKafka, skipWithoutPostgres } from "./_services.ts";

/** Kafka rebalances and PostgreSQL outages take longer than the memory bus. */
const waitFor = (done: () => boolean | Promise<boolean>, what: string) =>
  waitUntil(done, what, { deadlineMs: 180_000, pollMs: 50 });
const noPostgres = skipWithoutPostgres();
const noKafka = skipWithoutKafka() || noPostgres;

const stream = await recorded(STREAM);

async function ensureTopics(bus: Bus, topics: WorkerTopics): Promise<void> {
  await bus.ensureTopics([
    { ...TOPICS.updates, name: topics.updates },
    { ...TOPICS.anomalies, name: topics.anomalies },
    { ...TOPICS.deadletter, name: topics.deadletter },
  ]);
}

/** Waits until the database holds exactly `expected` (the worker is done), else fails with the difference. */
async function settlesTo(sql: Sql, expected: Dump, what: string): Promise<void> {
  let last: string | null = "nothing compared yet";
  try {
    await waitFor(async () => (last = difference(await dump(sql), expected)) === null, what);
  } catch (error) {
    throw new Error(`${(error as Error).message}; last difference: ${last}`);
  }
}

/** One worker over the whole stream on the memory bus and a fresh PostgreSQL database. */
async function cleanRun(): Promise<Dump> {
  const db = await freshPostgres({ migrate: true });
  const bus = new MemoryBus();
  try {
    const topics = topicsFor("clean");
    await send(bus, topics.updates, stream.messages);
    const worker = await startTestWorker({ bus, db, topics });
    await waitFor(async () => {
      const lag = await worker.metrics.value(worker.metrics.lag);
      return lag === 0 && await worker.metrics.value(worker.metrics.processed) > 0;
    }, "the clean run to drain");
    await worker.stop();
    const rows = await dump(db.sql);
    checkOutcome(rows, [...bus.retained(topics.anomalies)]);
    return rows;
  } finally {
    await bus.close();
    await db.close();
  }
}

let clean: Promise<Dump> | undefined;
const cleanRows = () => clean ??= cleanRun();

/** What a correct run leaves: see tests/worker_memory_test.ts for the same checks on PGlite. */
function checkOutcome(rows: Dump, anomalyMessages: BusMessage[]): void {
  assert.equal(rows.history.length, stream.positions, "one history row per distinct (icao24, ts)");
  for (const row of rows.history) {
    assert.ok(row.velocity_mps !== null && row.heading_deg !== null, "smoothed columns filled");
  }
  assert.equal(rows.current.length, stream.latest.size);
  for (const row of rows.current) assert.deepEqual(row.state, stream.latest.get(row.icao24));
  assert.deepEqual(new Set(rows.sessions.map((s) => s.icao24)), new Set(stream.latest.keys()));
  const goArounds = rows.anomalies.filter((a) => a.icao24 === "406d95" && a.kind === "go_around");
  assert.equal(goArounds.length, 2, "exactly two go-arounds for EZY158T");
  const published = new Map<string, AnomalyEvent>();
  for (const m of anomalyMessages) {
    const event = JSON.parse(new TextDecoder().decode(m.value)) as AnomalyEvent;
    assert.equal(m.key, event.icao24);
    published.set(event.id, event);
  }
  assert.deepEqual(
    [...published.values()].map((e) => [e.id, e.ended_at]).sort(),
    rows.anomalies.map((a) => [a.id, a.ended_at?.toISOString() ?? null]).sort(),
    "flights.anomalies carries the stored events (last version per id)",
  );
}

Deno.test({
  name: "worker/postgres: real recordings on the memory bus into PostgreSQL",
  ignore: noPostgres,
  async fn() {
    await cleanRows();
  },
});

Deno.test({
  name: "worker/postgres: PostgreSQL refusing connections for a while; nothing lost or doubled",
  ignore: noPostgres,
  async fn() {
    const expected = await cleanRows();
    const db = await freshPostgres({ migrate: true });
    const name = new URL(db.url).pathname.slice(1);
    // Another database on the same server, to switch this one off and on.
    const admin = connect(databaseUrl()!, { max: 1 });
    const bus = new MemoryBus();
    const topics = topicsFor("outage");
    const lines: string[] = [];
    // The worker gets a client of its own, as in production; the test's stays for dumps.
    const sql = connect(db.url, { max: 4 });
    try {
      const worker = await startWorker({
        config: { WORKER_GROUP_ID: unique("group"), LOG_LEVEL: "info" },
        bus,
        db: { sql },
        runways: RUNWAYS,
        topics,
        log: createLogger({ level: "info", name: "worker", write: (line) => lines.push(line) }),
        backoff: { initialMs: 50, maxMs: 500 },
        probeIntervalMs: 100,
      });
      const third = Math.floor(stream.messages.length / 3);
      await send(bus, topics.updates, stream.messages.slice(0, third));
      await waitFor(
        async () => await worker.metrics.value(worker.metrics.processed) > 0,
        "a first batch",
      );
      // The outage: no new connections, and the open ones cut (the worker's included).
      await admin.unsafe(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
      await admin`
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = ${name} AND pid <> pg_backend_pid()`;
      await send(bus, topics.updates, stream.messages.slice(third, 2 * third));
      await waitFor(
        async () => await worker.metrics.value(worker.metrics.dbUp) === 0,
        "processing_db_up to drop to 0",
      );
      assert.equal((await worker.health()).ok, false);
      await waitFor(
        async () =>
          await worker.metrics.value(worker.metrics.batchFailures, { reason: "db_down" }) >= 3,
        "batches failing during the outage",
      );
      await admin.unsafe(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
      await send(bus, topics.updates, stream.messages.slice(2 * third));
      await settlesTo(db.sql, expected, "the rows of a clean run after the outage");
      assert.equal(await worker.metrics.value(worker.metrics.dbUp), 1);
      assert.deepEqual(await worker.health(), { ok: true, reason: "ok" });
      await worker.stop();
      assert.equal(lines.filter((l) => l.includes("PostgreSQL is unreachable")).length, 1);
      assert.equal(lines.filter((l) => l.includes("PostgreSQL answers again")).length, 1);
    } finally {
      await admin.unsafe(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`).catch(() => {});
      await bus.close();
      await sql.end({ timeout: 5 });
      await admin.end({ timeout: 5 });
      await db.close();
    }
  },
});

/** Consumes a whole topic (ephemeral group) into `into`; returns the subscription's stop. */
async function collect(bus: Bus, topic: string, into: BusMessage[]): Promise<() => Promise<void>> {
  const sub = await bus.subscribe({
    topics: [topic],
    ephemeral: true,
    eachBatch: (batch) => {
      into.push(...batch.messages);
      return Promise.resolve();
    },
  });
  return () => sub.stop();
}

Deno.test({
  name: "worker/kafka: real recordings through Kafka into PostgreSQL; bad messages dead-lettered",
  ignore: noKafka,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const expected = await cleanRows();
    const db = await freshPostgres({ migrate: true });
    const bus = await openBus({ brokers: kafkaBrokers(), clientId: unique("client") });
    const topics = topicsFor("kafka");
    const anomalies: BusMessage[] = [];
    const letters: BusMessage[] = [];
    try {
      await ensureTopics(bus, topics);
      // Derived from a real update: the same envelope with latitude 91 (out of range).
      const lat91 = JSON.parse(String(stream.messages[10]!.value));
      lat91.payload.position.lat = 91;
      const bad: OutgoingMessage[] = [
        { key: "406d95", value: "{not json" },
        { key: "406d95", value: JSON.stringify(lat91) },
      ];
      const half = Math.floor(stream.messages.length / 2);
      await send(bus, topics.updates, [
        ...stream.messages.slice(0, half),
        ...bad,
        ...stream.messages.slice(half),
      ]);
      const worker = await startTestWorker({ bus, db, topics });
      await settlesTo(db.sql, expected, "the rows of the clean run");
      assert.deepEqual(await worker.health(), { ok: true, reason: "ok" });
      await worker.stop();
      const stops = [
        await collect(bus, topics.anomalies, anomalies),
        await collect(bus, topics.deadletter, letters),
      ];
      await waitFor(
        () => letters.length >= 2 && anomalies.length >= expected.anomalies.length,
        "the anomalies and the dead letters",
      );
      for (const stop of stops) await stop();
      checkOutcome(await dump(db.sql), anomalies);
      const reasons = letters.map((m) =>
        (JSON.parse(new TextDecoder().decode(m.value)) as DeadLetter).reason
      );
      assert.equal(reasons.length, 2);
      assert.match(reasons[0]!, /JSON/);
      assert.match(reasons[1]!, /lat/);
    } finally {
      await bus.close();
      await db.close();
    }
  },
});

/** A bus whose consumers die after `crashAfter` batches: that batch commits to the database, its offsets do not. */
Deno.test({
  name: "worker/kafka: stopped mid-stream, then crashed, a third process finishes: clean-run rows",
  ignore: noKafka,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const expected = await cleanRows();
    const db = await freshPostgres({ migrate: true });
    const topics = topicsFor("restart");
    const config = { WORKER_GROUP_ID: unique("group"), LOG_LEVEL: "warn" } as const;
    // One bus (client) per "process".
    const open = () => openBus({ brokers: kafkaBrokers(), clientId: unique("client") });
    const producer = await open();
    const buses: Bus[] = [producer];
    const start = async (bus: Bus) => {
      buses.push(bus);
      return await startTestWorker({ config, bus, db, topics });
    };
    const processed = (w: WorkerHandle) => w.metrics.value(w.metrics.processed);
    try {
      await ensureTopics(producer, topics);
      const n = stream.messages.length;
      await send(producer, topics.updates, stream.messages.slice(0, Math.floor(n / 3)));
      // First process: a graceful stop in the middle (the batch in flight commits).
      const first = await start(await open());
      await waitFor(async () => await processed(first) > 0, "the first worker to process");
      await first.stop();
      await send(producer, topics.updates, stream.messages.slice(Math.floor(n / 3)));
      // Second process: dies after a database commit whose offsets were never committed.
      const flaky = crashingBus(await open(), 3);
      const second = await start(flaky);
      await waitFor(() => flaky.crashed, "the simulated crash");
      await second.stop();
      // Third process: same group, from the committed offsets, rebuilding state from history.
      const third = await start(await open());
      await settlesTo(db.sql, expected, "the rows of a clean run");
      assert.ok(await third.metrics.value(third.metrics.warmups) > 0, "state rebuilt from history");
      await third.stop();
    } finally {
      for (const bus of buses) await bus.close();
      await db.close();
    }
  },
});
