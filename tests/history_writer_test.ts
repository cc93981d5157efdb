/**
 * The fine tier's write path (services/worker/writer.ts) on PostgreSQL:
 *
 * - rows go in by binary COPY (lib/db/copy_binary.ts) and are stored to the
 *   bit as the one-INSERT-of-arrays path (the embedded database's) stores
 *   them, smoothed values, NULLs and times included;
 * - PostgreSQL (COPY): rows newer than what the writer stored for their
 *   aircraft (else than flights_current) go by COPY straight into
 *   flights_history, the others through the stage and `ON CONFLICT DO
 *   NOTHING`: a redelivered batch, to the same writer or to a restarted one,
 *   adds only its new rows; a row another writer stored meanwhile (a zombie
 *   member) makes the server refuse the COPY, after the last row (a short
 *   batch: postgres.js drops that error, the writer notices it) or while rows
 *   are still going out, and the writer rolls back and writes the batch again
 *   with `ON CONFLICT`: each row once, nothing lost;
 * - PGlite's path (one INSERT of arrays): rows newer than their aircraft's
 *   flights_current go in by a plain INSERT, the others through `ON CONFLICT
 *   DO NOTHING`; a row taken for new that is stored already (flights_current
 *   deleted while the history stayed) fails the write with a unique
 *   violation, and the retry of the same batch merges everything with ON
 *   CONFLICT.
 *
 * Input: the real Switzerland 30-minute recording (97 aircraft, 10 s),
 * smoothed by the detection engine as the worker does.
 *
 * @module
 */
import assert from "node:assert/strict";
import { connect, type Sql } from "../lib/db/mod.ts";
import { BinaryCopyBuffer } from "../lib/db/copy_binary.ts";
import { createDetectionEngine } from "../lib/detect/engine.ts";
import { BatchWriter, CopyRefusedError, type HistoryRow } from "../services/worker/writer.ts";
import { copyHistory } from "../services/worker/_writer_history.ts";
import { freshPostgres } from "./_db.ts";
import { recordedFlights } from "./_recordings.ts";
import { skipWithoutPostgres } from "./_services.ts";
import { RUNWAYS } from "./_worker_harness.ts";

const flights = await recordedFlights("states_switzerland_2018-08-01T1130Z_30min_10s.jsonl");

/** The recording as the worker would store it: smoothed where the filter took the update. */
function historyRows(): HistoryRow[] {
  const engine = createDetectionEngine({ runways: RUNWAYS });
  return flights.map((flight) => {
    const { smoothed: s } = engine.ingest(flight);
    return {
      flight,
      smoothed: s
        ? {
          lat: s.lat,
          lon: s.lon,
          altitude_m: s.altitude_m,
          velocity_mps: s.ground_speed_mps,
          heading_deg: s.track_deg,
          vertical_rate_mps: s.vertical_rate_mps,
        }
        : null,
      sessionId: s?.session_id ?? null,
    };
  });
}

const batch = (history: HistoryRow[]) => ({ history, sessions: [], anomalies: [] });

/** Every fine row as PostgreSQL prints it, in key order. */
async function fineRows(sql: Sql): Promise<string[]> {
  const rows = await sql<{ r: string }[]>`
    SELECT h::text AS r FROM flights_history h ORDER BY icao24, ts`;
  return rows.map((x) => x.r);
}

Deno.test({
  name: "history writer/postgres: binary COPY stores what the INSERT of arrays stores, to the bit",
  ignore: skipWithoutPostgres(),
  async fn() {
    // Every 7th row as a late update the filter did not take (raw values in the smoothed columns).
    const rows = historyRows().map((r, i) => i % 7 === 0 ? { ...r, smoothed: null } : r);
    assert.ok(rows.some((r) => r.smoothed !== null));
    assert.ok(rows.some((r) => r.flight.squawk === null || r.flight.callsign === null), "NULLs");
    const copyDb = await freshPostgres({ migrate: true });
    const unnestDb = await freshPostgres({ migrate: true });
    try {
      const copied = await new BatchWriter(copyDb.sql, { stage: "copy" }).write(batch(rows));
      const inserted = await new BatchWriter(unnestDb.sql, { stage: "unnest" }).write(batch(rows));
      assert.equal(copied.historyInserted, inserted.historyInserted);
      assert.ok(copied.historyInserted > 1000, `${copied.historyInserted} rows`);
      assert.deepEqual(await fineRows(copyDb.sql), await fineRows(unnestDb.sql));
    } finally {
      await copyDb.close();
      await unnestDb.close();
    }
  },
});

/** Fails instead of hanging when `promise` does not settle within `ms` (a COPY left hanging). */
async function within<T>(promise: Promise<T>, what: string, ms = 60_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: did not settle in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Distinct (icao24, time) of the rows. */
const distinct = (rows: HistoryRow[]) =>
  new Set(rows.map((r) => `${r.flight.icao24}|${r.flight.time_position_unix}`)).size;

Deno.test({
  name: "history writer/postgres (copy): redeliveries and a zombie writer's rows end with each " +
    "row once; a refused COPY, short or long, falls back to ON CONFLICT",
  ignore: skipWithoutPostgres(),
  async fn() {
    const rows = historyRows();
    const third = Math.floor(rows.length / 3);
    const db = await freshPostgres({ migrate: true });
    const reference = await freshPostgres({ migrate: true });
    try {
      await new BatchWriter(reference.sql, { stage: "unnest" }).write(batch(rows));
      const expected = await fineRows(reference.sql);
      assert.equal(expected.length, distinct(rows));

      const writer = new BatchWriter(db.sql, { stage: "copy" });
      const first = await within(writer.write(batch(rows.slice(0, third))), "first");
      assert.equal(first.historyInserted, distinct(rows.slice(0, third)));
      assert.equal(first.copyFallbacks, 0);
      // Redelivered to the same writer: it knows every row is at or before what it stored.
      const again = await within(writer.write(batch(rows.slice(0, third))), "redelivery");
      assert.deepEqual([again.historyInserted, again.copyFallbacks], [0, 0]);
      // Redelivered with more after it to a restarted worker (a new writer, nothing known): it
      // reads flights_current, COPYs the new rows and merges the redelivered ones.
      const restarted = new BatchWriter(db.sql, { stage: "copy" });
      const second = await within(restarted.write(batch(rows.slice(0, 2 * third))), "restart");
      assert.equal(second.copyFallbacks, 0);
      assert.equal(
        first.historyInserted + second.historyInserted,
        distinct(rows.slice(0, 2 * third)),
      );

      // A zombie member (it lost the partition but has not noticed) stores a few of the next
      // rows: the writer, which knows its aircraft, takes them for new.
      const next = rows.slice(2 * third);
      const zombie = new BatchWriter(db.sql, { stage: "copy" });
      const short = next.slice(0, 20);
      await within(zombie.write(batch(short.filter((_, i) => i % 4 === 0))), "zombie");
      // A short batch: the server refuses it after its last row.
      const refusedShort = await within(restarted.write(batch(short)), "short refused COPY");
      assert.equal(refusedShort.copyFallbacks, 1, "the refused COPY fell back");
      // The fallback forgot what the writer knew: it reads flights_current again, then knows.
      const known = next.slice(0, 200);
      const relearnt = await within(restarted.write(batch(known)), "after the fallback");
      assert.equal(relearnt.copyFallbacks, 0);
      // A long batch with stored rows of aircraft the writer knows, near its start.
      const aircraft = new Set(known.map((r) => r.flight.icao24));
      const ahead = next.slice(200).filter((r) => aircraft.has(r.flight.icao24)).slice(0, 2);
      assert.equal(ahead.length, 2);
      await within(zombie.write(batch(ahead)), "zombie again");
      const refusedLong = await within(restarted.write(batch(next)), "long refused COPY");
      assert.equal(refusedLong.copyFallbacks, 1, "the refused COPY fell back");
      assert.deepEqual(await fineRows(db.sql), expected, "each row once, nothing lost");
      const last = await within(restarted.write(batch(rows)), "after the fallback");
      assert.deepEqual([last.historyInserted, last.copyFallbacks], [0, 0]);
      assert.deepEqual(await fineRows(db.sql), expected);
    } finally {
      await db.close();
      await reference.close();
    }
  },
});

Deno.test({
  name: "history writer/postgres: a COPY into flights_history meeting a stored row is refused " +
    "with CopyRefusedError, after its last row and while rows are still going out",
  ignore: skipWithoutPostgres(),
  async fn() {
    const rows = historyRows();
    const db = await freshPostgres({ migrate: true });
    try {
      await new BatchWriter(db.sql, { stage: "copy" }).write(batch([rows[0]!]));
      const refusal = (some: HistoryRow[]) =>
        within(
          db.sql.begin((tx) => copyHistory(tx, some)).then(() => null, (error) => error),
          "the COPY",
        );
      const short = await refusal(rows.slice(0, 10));
      assert.ok(short instanceof CopyRefusedError, String(short));
      // postgres.js dropped the server's error: the writer saw the aborted transaction.
      assert.equal(short.code, undefined);
      // While rows are still going out (whether the server's error comes before the last row
      // depends on the socket: either way it is a refusal, with the server's code if known).
      const long = await refusal(rows);
      assert.ok(long instanceof CopyRefusedError, String(long));
      assert.ok(long.code === undefined || long.code === "23505", long.code);
      assert.equal((await fineRows(db.sql)).length, 1, "both rolled back");
      // And a COPY of new rows only goes through.
      assert.equal(await refusal(rows.slice(1, 10)), null);
      assert.equal((await fineRows(db.sql)).length, 10);
    } finally {
      await db.close();
    }
  },
});

for (const stage of ["unnest"] as const) {
  Deno.test({
    name: `history writer/postgres (${stage}): redelivered rows are skipped, a stored row taken ` +
      "for new fails the write once and its retry merges with ON CONFLICT",
    ignore: skipWithoutPostgres(),
    async fn() {
      const rows = historyRows();
      const half = Math.floor(rows.length / 2);
      const db = await freshPostgres({ migrate: true });
      try {
        const writer = new BatchWriter(db.sql, { stage });
        const first = await writer.write(batch(rows.slice(0, half)));
        const stored = await fineRows(db.sql);
        assert.equal(stored.length, first.historyInserted);

        // Redelivered as it was: every row is at or before its aircraft's current time.
        assert.equal((await writer.write(batch(rows.slice(0, half)))).historyInserted, 0);
        // Redelivered with the rest after it: only the rest is new.
        const second = await writer.write(batch(rows));
        assert.ok(second.historyInserted > 0);
        const all = await fineRows(db.sql);
        assert.equal(all.length, first.historyInserted + second.historyInserted);

        // The history stays, flights_current goes (as retention may do): every row looks new.
        await db.sql`DELETE FROM flights_current`;
        await assert.rejects(
          writer.write(batch(rows)),
          (error: { code?: string }) => error.code === "23505",
          "the unique index refuses the stored rows",
        );
        assert.equal((await writer.write(batch(rows))).historyInserted, 0, "the retry merges");
        assert.deepEqual(await fineRows(db.sql), all, "nothing lost, nothing doubled");
        // And the write after it takes the plain INSERT again (it would fail here if not).
        await db.sql`DELETE FROM flights_current`;
        await assert.rejects(writer.write(batch(rows)));
      } finally {
        await db.close();
      }
    },
  });
}

Deno.test({
  name: "history writer/postgres: with a transaction budget, a query issued during a write " +
    "runs between its transactions, and the rows are those of one transaction",
  ignore: skipWithoutPostgres(),
  async fn() {
    const rows = historyRows();
    const whole = await freshPostgres({ migrate: true });
    const split = await freshPostgres({ migrate: true });
    // One connection, as on the embedded database.
    const one = connect(split.url, { max: 1 });
    try {
      await new BatchWriter(whole.sql, { stage: "unnest" }).write(batch(rows));
      // 1 ms: about ten rows per transaction.
      const writer = new BatchWriter(one, { stage: "unnest", transactionBudgetMs: 1 });
      await writer.stageMethod();
      const order: string[] = [];
      const writing = writer.write(batch(rows)).then(() => order.push("write"));
      // Queued once the first transaction has begun.
      await new Promise((resolve) => setTimeout(resolve, 0));
      const reading = one`SELECT count(*) FROM flights_history`.then(() => order.push("read"));
      await Promise.all([writing, reading]);
      assert.deepEqual(order, ["read", "write"], "the read waited for one transaction, not all");
      for (const table of ["flights_history", "flights_history_sampled", "flights_current"]) {
        // updated_at is the time of the write.
        const dump = (sql: Sql) =>
          sql.unsafe<{ r: string }[]>(
            `SELECT (to_jsonb(t) - 'updated_at')::text AS r FROM ${table} t ORDER BY 1`,
          ).then((x) => x.map((r) => r.r));
        assert.deepEqual(await dump(one), await dump(whole.sql), table);
      }
    } finally {
      await one.end({ timeout: 5 });
      await whole.close();
      await split.close();
    }
  },
});

Deno.test("history writer: binary COPY fields, lengths and byte order as PostgreSQL reads them", () => {
  const out = new BinaryCopyBuffer(8);
  out.row(5);
  out.text("Côte d\u2019Ivoire");
  out.text(null);
  out.float8(-0.5);
  out.int2(-2);
  out.timestamptz(946_684_800.000001);
  const bytes = out.finish();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.deepEqual([...bytes.subarray(0, 11)], [
    ...new TextEncoder().encode("PGCOPY\n"),
    255,
    13,
    10,
    0,
  ]);
  let at = 19;
  assert.equal(view.getInt16(at), 5);
  at += 2;
  const textLength = view.getInt32(at);
  const text = new TextDecoder().decode(bytes.subarray(at + 4, at + 4 + textLength));
  assert.equal(text, "Côte d\u2019Ivoire");
  assert.equal(textLength, new TextEncoder().encode(text).length);
  at += 4 + textLength;
  assert.equal(view.getInt32(at), -1);
  at += 4;
  assert.equal(view.getInt32(at), 8);
  assert.equal(view.getFloat64(at + 4), -0.5);
  at += 12;
  assert.equal(view.getInt32(at), 2);
  assert.equal(view.getInt16(at + 4), -2);
  at += 6;
  assert.equal(view.getInt32(at), 8);
  assert.equal(view.getBigInt64(at + 4), 1n, "one microsecond after 2000-01-01");
  at += 12;
  assert.equal(view.getInt16(at), -1);
  assert.equal(at + 2, bytes.length);
});
