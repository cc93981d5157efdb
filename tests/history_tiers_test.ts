/**
 * The two history tiers and their retention (migrations/0002_history_tiers.sql,
 * services/worker/retention.ts), on PostgreSQL and on the embedded PGlite,
 * with partitions that really exist:
 *
 * - the worker writes the sampled tier: one periodic point per aircraft per
 *   5-minute bucket, plus the fine rows where events started or ended;
 * - retention drops expired fine day partitions (and later sampled month
 *   partitions, sessions and anomalies), creates the coming ones, and then
 *   trails and time travel answer from the sampled tier and say so;
 * - on PostgreSQL, dropping does not wait for a write transaction open on
 *   today's partition.
 *
 * Input: the real EZY158T recording (two go-arounds at LFBO, 2017-02-05, 1 s).
 *
 * @module
 */
import assert from "node:assert/strict";
import { MemoryBus } from "../lib/bus/memory.ts";
import type { Sql } from "../lib/db/mod.ts";
import { runRetention } from "../services/worker/retention.ts";
import { SAMPLE_INTERVAL_S } from "../services/worker/writer.ts";
import { fineTierStart, snapshotAt, track } from "../services/web/history.ts";
import { freshEmbedded, freshPostgres, type TestDatabase } from "./_db.ts";
import { skipWithoutPostgres } from "./_services.ts";
import { recorded, send, startTestWorker, topicsFor, waitFor } from "./_worker_harness.ts";

const EZY = "406d95";
const rec = await recorded([
  "fixtures/opensky_sv_EZY158T_LFBO_2x-goaround-then-diversion_2017-02-05_1s.jsonl",
]);

async function partitions(sql: Sql, parent: string): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = ${parent}::regclass ORDER BY 1`;
  return rows.map((r) => r.name);
}

async function fillThroughWorker(db: TestDatabase): Promise<void> {
  const bus = new MemoryBus({ maxBatchSize: 1000 });
  const topics = topicsFor("tiers");
  try {
    const worker = await startTestWorker({ bus, db, topics });
    await send(bus, topics.updates, rec.messages);
    await waitFor(
      async () => await worker.metrics.value(worker.metrics.processed) >= rec.messages.length,
      "the recording processed",
    );
    await worker.stop();
  } finally {
    await bus.close();
  }
}

async function tiers(db: TestDatabase): Promise<void> {
  const sql = db.sql;
  assert.equal(SAMPLE_INTERVAL_S, 300, "the SQL below buckets by 5 minutes");
  await fillThroughWorker(db);
  const [fine] = await sql<{ n: number; buckets: number }[]>`
    SELECT count(*)::int AS n,
      count(DISTINCT (icao24, floor(extract(epoch FROM ts) / 300)))::int AS buckets
    FROM flights_history`;
  assert.equal(fine!.n, rec.positions);
  const sampled = await sql<{ icao24: string; ts: Date; sample: string; bucket: number }[]>`
    SELECT icao24, ts, sample, floor(extract(epoch FROM ts) / 300)::int AS bucket
    FROM flights_history_sampled ORDER BY ts`;
  const periodic = sampled.filter((s) => s.sample === "periodic");
  const events = sampled.filter((s) => s.sample !== "periodic");
  // One periodic point per aircraft and bucket, the first position of the bucket, unless an
  // event point took its place (same row, relabelled).
  const buckets = new Set(sampled.map((s) => `${s.icao24}|${s.bucket}`));
  assert.equal(buckets.size, fine!.buckets, "every 5-minute bucket of the fine tier is sampled");
  assert.ok(periodic.length >= fine!.buckets - events.length);
  assert.equal(new Set(periodic.map((s) => `${s.icao24}|${s.bucket}`)).size, periodic.length);
  const [firsts] = await sql<{ missing: number }[]>`
    SELECT count(*)::int AS missing FROM (
      SELECT DISTINCT ON (icao24, floor(extract(epoch FROM ts) / 300)) icao24, ts
      FROM flights_history ORDER BY icao24, floor(extract(epoch FROM ts) / 300), ts
    ) f WHERE NOT EXISTS (
      SELECT 1 FROM flights_history_sampled s WHERE s.icao24 = f.icao24 AND s.ts = f.ts)`;
  assert.equal(firsts!.missing, 0, "the first point of each bucket is the sampled one");
  // Every stored event's start (and end) is a sampled point labelled with a kind.
  const anomalies = await sql<{ kind: string; started_at: Date; ended_at: Date | null }[]>`
    SELECT kind, started_at, ended_at FROM anomalies WHERE icao24 = ${EZY}`;
  assert.equal(anomalies.filter((a) => a.kind === "go_around").length, 2);
  const at = new Map(sampled.map((s) => [s.ts.getTime(), s.sample]));
  for (const a of anomalies) {
    assert.ok(at.has(a.started_at.getTime()), `${a.kind} start ${a.started_at.toISOString()}`);
    if (a.ended_at) assert.ok(at.has(a.ended_at.getTime()), `${a.kind} end`);
  }
  assert.ok(events.some((s) => s.sample === "go_around"), "go-around points are labelled");

  // Retention, as the hourly job runs it, two weeks later: the fine day goes, sampled stays.
  assert.deepEqual(await partitions(sql, "flights_history"), ["flights_history_20170205"]);
  const later = new Date("2017-02-19T12:00:00Z");
  const first = await runRetention(sql, { fineDays: 7, sampledDays: 365, now: () => later });
  assert.deepEqual(first.dropped, ["flights_history_20170205"]);
  assert.deepEqual(await partitions(sql, "flights_history"), [
    "flights_history_20170219",
    "flights_history_20170220",
    "flights_history_20170221",
  ]);
  assert.deepEqual(await partitions(sql, "flights_history_sampled"), [
    "flights_history_sampled_201702",
    "flights_history_sampled_201703",
  ]);
  assert.equal((await fineTierStart(sql))?.toISOString(), "2017-02-19T00:00:00.000Z");
  const again = await runRetention(sql, { fineDays: 7, sampledDays: 365, now: () => later });
  assert.deepEqual(again.dropped, [], "a second run finds nothing to drop");

  // Trails and time travel now come from the sampled tier, and say so.
  const trail = await track(sql, EZY, {
    from: new Date("2017-02-05T15:00:00Z"),
    to: new Date("2017-02-05T18:00:00Z"),
  });
  assert.equal(trail?.resolution, "sampled");
  assert.equal(trail?.fine_from, "2017-02-19T00:00:00.000Z");
  const ezySampled = sampled.filter((s) => s.icao24 === EZY).map((s) => s.ts.toISOString());
  assert.deepEqual(trail?.points.map((p) => p.ts), ezySampled);
  const mixed = await track(sql, EZY, {
    from: new Date("2017-02-18T12:00:00Z"),
    to: new Date("2017-02-19T12:00:00Z"),
  });
  assert.equal(mixed?.resolution, "mixed");
  const middle = sampled.find((s) => s.icao24 === EZY && s.sample === "periodic")!;
  const moment = new Date(middle.ts.getTime() + 1000);
  const snap = await snapshotAt(sql, moment, { staleSeconds: 60 });
  assert.equal(snap.resolution, "sampled");
  assert.deepEqual(snap.flights.map((f) => f.icao24), [EZY]);
  const latest = Math.max(
    ...sampled.filter((p) => p.icao24 === EZY && p.ts <= moment).map((p) => p.ts.getTime()),
  );
  assert.equal(snap.flights[0]!.time_position_unix, latest / 1000, "the last sampled point");

  // A year on, the sampled month goes too, and sessions and anomalies with it.
  const yearOn = new Date("2018-03-05T00:00:00Z");
  const last = await runRetention(sql, { fineDays: 7, sampledDays: 365, now: () => yearOn });
  assert.ok(last.dropped.includes("flights_history_sampled_201702"), `${last.dropped}`);
  assert.ok(last.sessionsDeleted > 0 && last.anomaliesDeleted >= 2, JSON.stringify(last));
  const [left] = await sql<{ s: number; a: number; c: number }[]>`
    SELECT (SELECT count(*) FROM flights)::int AS s, (SELECT count(*) FROM anomalies)::int AS a,
           (SELECT count(*) FROM flights_current)::int AS c`;
  assert.deepEqual(left, { s: 0, a: 0, c: 0 });
  assert.ok((await partitions(sql, "flights_history")).includes("flights_history_20180307"));
}

Deno.test({
  name: "history tiers/postgres: sampled tier, retention by partition, reads by resolution",
  ignore: skipWithoutPostgres(),
  async fn() {
    const db = await freshPostgres({ migrate: true });
    try {
      await tiers(db);
    } finally {
      await db.close();
    }
  },
});

Deno.test({
  name: "history tiers/postgres: dropping an expired day does not block writers of today",
  ignore: skipWithoutPostgres(),
  async fn() {
    const db = await freshPostgres({ migrate: true });
    const insert = (q: Sql, icao24: string, t: Date) =>
      q`INSERT INTO flights_history (icao24, ts, on_ground, raw_lat, raw_lon, lat, lon,
          last_contact)
        VALUES (${icao24}, ${t}, false, 47.45, 8.56, 47.45, 8.56, ${t})`;
    try {
      const sql = db.sql;
      const now = new Date("2018-08-09T10:00:00Z");
      await sql`SELECT flights_history_ensure_partition('2018-08-01')`;
      await runRetention(sql, { fineDays: 30, sampledDays: 365, now: () => now });
      // A writer's batch transaction holds rows in today's partition, not committed yet.
      const first = await sql.reserve();
      const second = await sql.reserve();
      try {
        await first`BEGIN`;
        await insert(first, "4b1805", now);
        let finished = false;
        const run = runRetention(sql, { fineDays: 7, sampledDays: 365, now: () => now })
          .finally(() => finished = true);
        await new Promise((resolve) => setTimeout(resolve, 500));
        // Meanwhile another writer's batch goes through: nothing queues in front of it.
        const next = insert(second, "4b1806", new Date(now.getTime() + 1000));
        const blocked = new Promise<"blocked">((resolve) =>
          setTimeout(() => resolve("blocked"), 10_000)
        );
        assert.notEqual(await Promise.race([next, blocked]), "blocked", "a writer was blocked");
        // The detach waits for the open batch (it may see the old partition), not vice versa.
        assert.equal(finished, false);
        await first`COMMIT`;
        const result = await run;
        assert.deepEqual(result.dropped, ["flights_history_20180801"]);
      } finally {
        first.release();
        second.release();
      }
      const [row] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM flights_history`;
      assert.equal(row!.n, 2, "both writers' rows are there");
      assert.equal(
        (await partitions(sql, "flights_history")).includes("flights_history_20180801"),
        false,
      );
    } finally {
      await db.close();
    }
  },
});

Deno.test("history tiers/embedded: sampled tier, retention by partition, reads by resolution", async () => {
  const db = await freshEmbedded({ migrate: true });
  try {
    await tiers(db);
  } finally {
    await db.close();
  }
});
