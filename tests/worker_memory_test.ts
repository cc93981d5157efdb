/**
 * The worker on the memory bus and the embedded database (PGlite), fed
 * flight_update envelopes built from real recordings the way the producer's
 * replay builds them: end to end, crash and restart, dead letters, and a
 * database that fails for a while. Nothing asserts on timing; waits are
 * bounded by a deadline only.
 */
import assert from "node:assert/strict";
import type { AnomalyEvent } from "../contracts/anomaly.ts";
import type { Flight } from "../contracts/flight.ts";
import { MemoryBus } from "../lib/bus/memory.ts";
import type { OutgoingMessage } from "../lib/bus/types.ts";
import type { Sql } from "../lib/db/mod.ts";
import { createLogger } from "../lib/log.ts";
import { startWorker, type WorkerHandle, type WorkerTopics } from "../services/worker/worker.ts";
import { freshEmbedded, type TestDatabase } from "./_db.ts";
import {
  crashingBus,
  difference,
  type Dump,
  dump,
  type Recorded,
  recorded,
  RUNWAYS,
  send,
  startTestWorker,
  STREAM,
  topicsFor,
  unique,
  waitFor,
} from "./_worker_harness.ts";

const stream = await recorded(STREAM);

/** All of `topic` on the memory bus consumed by the group (lag 0 over every partition). */
async function drained(bus: MemoryBus, worker: WorkerHandle, total: number): Promise<void> {
  await waitFor(async () => {
    const lag = await worker.metrics.value(worker.metrics.lag);
    const processed = await worker.metrics.value(worker.metrics.processed);
    return lag === 0 && processed > 0 && bus.retained(worker.topics.updates).length === total;
  }, "the worker to drain the updates topic");
}

/** Equal tables, row for row; a failure names the first differing row. */
function assertSameRows(actual: Dump, expected: Dump, what: string): void {
  const diff = difference(actual, expected);
  assert.equal(diff, null, `${what}: ${diff}`);
}

/** Runs one worker over the whole stream on a fresh bus and database; returns its rows. */
async function cleanRun(): Promise<Dump> {
  const db = await freshEmbedded({ migrate: true });
  const bus = new MemoryBus();
  try {
    const topics = topicsFor("clean");
    await send(bus, topics.updates, stream.messages);
    const worker = await startTestWorker({ bus, db, topics });
    await drained(bus, worker, stream.messages.length);
    await worker.stop();
    return await dump(db.sql);
  } finally {
    await bus.close();
    await db.close();
  }
}

let clean: Promise<Dump> | undefined;
const cleanRows = () => clean ??= cleanRun();

Deno.test("worker/memory: real recordings end to end into the embedded database", async () => {
  const db = await freshEmbedded({ migrate: true });
  const bus = new MemoryBus();
  const topics = topicsFor("e2e");
  try {
    await send(bus, topics.updates, stream.messages);
    const worker = await startTestWorker({ bus, db, topics });
    await drained(bus, worker, stream.messages.length);
    assert.deepEqual(await worker.health(), { ok: true, reason: "ok" });
    await worker.stop();
    await checkOutcome(db, bus, topics, stream);
    assert.equal(await worker.metrics.value(worker.metrics.processed), stream.messages.length);
    assert.equal(
      await worker.metrics.value(worker.metrics.anomalies, { kind: "go_around" }),
      2,
    );
    assert.equal(await worker.metrics.value(worker.metrics.dbUp), 1);
  } finally {
    await bus.close();
    await db.close();
  }
});

/** What any correct run over `rec` leaves in the database and on the anomalies topic. */
async function checkOutcome(
  db: TestDatabase,
  bus: MemoryBus,
  topics: WorkerTopics,
  rec: Recorded,
): Promise<void> {
  const sql = db.sql;
  const [history] = await sql<{ n: string; unsmoothed: string; moved: string }[]>`
    SELECT count(*) AS n,
      count(*) FILTER (WHERE velocity_mps IS NULL OR heading_deg IS NULL
        OR (altitude_m IS NULL AND raw_altitude_m IS NOT NULL)) AS unsmoothed,
      count(*) FILTER (WHERE lat <> raw_lat OR lon <> raw_lon) AS moved
    FROM flights_history`;
  assert.equal(Number(history!.n), rec.positions, "one history row per distinct (icao24, ts)");
  assert.equal(Number(history!.unsmoothed), 0, "smoothed columns filled");
  assert.ok(Number(history!.moved) > rec.positions / 2, "positions are smoothed, not copied");

  const current = await sql<{ icao24: string; state: Flight; session_id: string | null }[]>`
    SELECT icao24, state, session_id FROM flights_current`;
  assert.equal(current.length, rec.latest.size, "one current row per aircraft");
  for (const row of current) {
    assert.deepEqual(row.state, rec.latest.get(row.icao24), `latest state of ${row.icao24}`);
  }
  const sessions = await sql<{ id: string; icao24: string }[]>`SELECT id, icao24 FROM flights`;
  const sessionIds = new Set(sessions.map((s) => s.id));
  assert.deepEqual(
    new Set(sessions.map((s) => s.icao24)),
    new Set(rec.latest.keys()),
    "every aircraft has a session",
  );
  for (const row of current) {
    assert.ok(row.session_id && sessionIds.has(row.session_id), `session of ${row.icao24}`);
  }

  const goArounds = await sql<{ started_at: Date }[]>`
    SELECT started_at FROM anomalies WHERE icao24 = '406d95' AND kind = 'go_around'
    ORDER BY started_at`;
  assert.equal(goArounds.length, 2, "exactly two go-arounds for EZY158T");
  // Lowest points of the two approaches at Toulouse (fixtures/README.md), within a minute.
  const lowest = [Date.parse("2017-02-05T16:08:20Z"), Date.parse("2017-02-05T16:25:56Z")];
  goArounds.forEach((g, i) => assert.ok(Math.abs(g.started_at.getTime() - lowest[i]!) <= 60_000));

  // flights.anomalies carries the same events: the last version per id equals the row.
  const published = new Map<string, AnomalyEvent>();
  for (const m of bus.retained(topics.anomalies)) {
    const event = JSON.parse(new TextDecoder().decode(m.value)) as AnomalyEvent;
    assert.equal(m.key, event.icao24);
    published.set(event.id, event);
  }
  const stored = await sql<{ id: string; kind: string; ended_at: Date | null }[]>`
    SELECT id, kind, ended_at FROM anomalies ORDER BY id`;
  assert.deepEqual(
    [...published.values()].map((e) => ({
      id: e.id,
      kind: e.kind,
      ended_at: e.ended_at === null ? null : new Date(e.ended_at),
    })).sort((a, b) => a.id < b.id ? -1 : 1),
    [...stored],
  );
}

for (
  const { crashAfter, restart } of [
    { crashAfter: 4, restart: true },
    { crashAfter: 9, restart: true },
    { crashAfter: 6, restart: false },
  ]
) {
  Deno.test(
    `worker/memory: crash after the commit of batch ${crashAfter}, ` +
      `${restart ? "a new worker in the same group" : "the same worker"} finishes: ` +
      "same rows as a clean run",
    async () => {
      const expected = await cleanRows();
      const db = await freshEmbedded({ migrate: true });
      const bus = new MemoryBus();
      const topics = topicsFor("crash");
      const group = unique("group");
      const config = { WORKER_GROUP_ID: group, LOG_LEVEL: "warn" } as const;
      try {
        // Half the stream first, the rest while the first worker runs.
        const half = Math.floor(stream.messages.length / 2);
        await send(bus, topics.updates, stream.messages.slice(0, half));
        const flaky = crashingBus(bus, crashAfter, { dead: restart });
        const first = await startTestWorker({ config, bus: flaky, db, topics });
        await send(bus, topics.updates, stream.messages.slice(half));
        await waitFor(() => flaky.crashed, "the simulated crash");
        let finisher = first;
        if (restart) {
          await first.stop();
          finisher = await startTestWorker({ config, bus, db, topics });
        }
        await drained(bus, finisher, stream.messages.length);
        await finisher.stop();
        // The crashed batch was written but its offsets were not committed: it is delivered
        // again (at least once), so more updates are processed than the stream holds.
        const processed = (restart ? await first.metrics.value(first.metrics.processed) : 0) +
          await finisher.metrics.value(finisher.metrics.processed);
        assert.ok(
          processed > stream.messages.length,
          `the uncommitted batch was delivered again: ${processed} processed, ${stream.messages.length} sent`,
        );
        if (restart) {
          assert.ok(
            await finisher.metrics.value(finisher.metrics.warmups) > 0,
            "the new worker rebuilt aircraft from history",
          );
        }
        assertSameRows(await dump(db.sql), expected, "after the crash");
      } finally {
        await bus.close();
        await db.close();
      }
    },
  );
}

Deno.test("worker/memory: two workers share the partitions, one joins and one leaves mid-stream: same rows as a clean run", async () => {
  const expected = await cleanRows();
  const db = await freshEmbedded({ migrate: true });
  const bus = new MemoryBus();
  const topics = topicsFor("shared");
  const config = { WORKER_GROUP_ID: unique("group"), LOG_LEVEL: "warn" } as const;
  const start = () => startTestWorker({ config, bus, db, topics });
  const processed = (w: WorkerHandle) => w.metrics.value(w.metrics.processed);
  try {
    const n = stream.messages.length;
    await send(bus, topics.updates, stream.messages.slice(0, Math.floor(n / 3)));
    const first = await start();
    await waitFor(async () => await processed(first) > 0, "the first worker to process");
    const second = await start();
    await send(bus, topics.updates, stream.messages.slice(Math.floor(n / 3)));
    await waitFor(async () => await processed(second) > 0, "the second worker to process");
    await first.stop();
    await drained(bus, second, n);
    await second.stop();
    assert.ok(await second.metrics.value(second.metrics.warmups) > 0, "state rebuilt on takeover");
    assertSameRows(await dump(db.sql), expected, "after the rebalances");
  } finally {
    await bus.close();
    await db.close();
  }
});

Deno.test("worker/memory: malformed updates go to the dead-letter topic, the rest is processed", async () => {
  const db = await freshEmbedded({ migrate: true });
  const bus = new MemoryBus();
  const topics = topicsFor("deadletter");
  try {
    const rec = await recorded([STREAM[0]]);
    const valid = rec.messages.slice(0, 400);
    // Derived from a real update: the same envelope with latitude 91 (out of range).
    const lat91 = JSON.parse(String(valid[10]!.value));
    lat91.payload.position.lat = 91;
    const bad: OutgoingMessage[] = [
      { key: "406d95", value: "{not json" },
      { key: "406d95", value: JSON.stringify(lat91) },
    ];
    await send(bus, topics.updates, [...valid.slice(0, 200), ...bad, ...valid.slice(200)]);
    const worker = await startTestWorker({ bus, db, topics });
    await drained(bus, worker, valid.length + bad.length);
    await worker.stop();
    const letters = bus.retained(topics.deadletter).map((m) =>
      JSON.parse(new TextDecoder().decode(m.value))
    );
    assert.equal(letters.length, 2);
    assert.match(letters[0].reason, /JSON/);
    assert.match(letters[1].reason, /lat/);
    assert.deepEqual(letters.map((l) => [l.source, l.topic, l.key]), [
      ["worker", topics.updates, "406d95"],
      ["worker", topics.updates, "406d95"],
    ]);
    assert.equal(await worker.metrics.value(worker.metrics.deadletters), 2);
    const positions = new Set(
      valid.map((m) => JSON.parse(String(m.value)).payload.time_position_unix),
    );
    const [row] = await db.sql<{ n: string }[]>`SELECT count(*) AS n FROM flights_history`;
    assert.equal(Number(row!.n), positions.size, "every valid update written");
  } finally {
    await bus.close();
    await db.close();
  }
});

/**
 * A client that fails like an unreachable server while `down.on`: queries
 * and transactions reject with a connection error.
 */
function unreachableWhile(sql: Sql, down: { on: boolean; failures: number }): Sql {
  const refuse = () => {
    down.failures++;
    return Promise.reject(
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
    );
  };
  return new Proxy(sql, {
    apply(target, thisArg, args) {
      return down.on ? refuse() : Reflect.apply(target, thisArg, args);
    },
    get(target, property, receiver) {
      if (property === "begin" && down.on) return refuse;
      return Reflect.get(target, property, receiver);
    },
  });
}

Deno.test("worker/memory: a database outage holds the batches; nothing lost or doubled", async () => {
  const expected = await cleanRows();
  const db = await freshEmbedded({ migrate: true });
  const bus = new MemoryBus();
  const topics = topicsFor("outage");
  const down = { on: false, failures: 0 };
  const lines: string[] = [];
  try {
    const worker = await startWorker({
      config: { WORKER_GROUP_ID: unique("group"), LOG_LEVEL: "info" },
      bus,
      db: { sql: unreachableWhile(db.sql, down) },
      runways: RUNWAYS,
      topics,
      log: createLogger({ level: "info", name: "worker", write: (line) => lines.push(line) }),
      backoff: { initialMs: 10, maxMs: 100 },
      probeIntervalMs: 20,
    });
    const third = Math.floor(stream.messages.length / 3);
    await send(bus, topics.updates, stream.messages.slice(0, third));
    await waitFor(
      async () => await worker.metrics.value(worker.metrics.processed) > 0,
      "a first batch",
    );
    down.on = true;
    await send(bus, topics.updates, stream.messages.slice(third, 2 * third));
    await waitFor(
      async () => await worker.metrics.value(worker.metrics.dbUp) === 0,
      "db_up to drop to 0",
    );
    assert.equal((await worker.health()).ok, false);
    await waitFor(() => down.failures > 10, "several failed attempts");
    down.on = false;
    await send(bus, topics.updates, stream.messages.slice(2 * third));
    await drained(bus, worker, stream.messages.length);
    assert.equal(await worker.metrics.value(worker.metrics.dbUp), 1);
    assert.deepEqual(await worker.health(), { ok: true, reason: "ok" });
    await worker.stop();
    assert.equal(lines.filter((l) => l.includes("PostgreSQL is unreachable")).length, 1);
    assert.equal(lines.filter((l) => l.includes("PostgreSQL answers again")).length, 1);
    assertSameRows(await dump(db.sql), expected, "after the outage");
  } finally {
    await bus.close();
    await db.close();
  }
});
