/**
 * The fine tier's write path (services/worker/writer.ts) on PostgreSQL:
 *
 * - rows go in by binary COPY (lib/db/copy_binary.ts) and are stored to the
 *   bit as the one-INSERT-of-arrays path (the embedded database's) stores
 *   them, smoothed values, NULLs and times included;
 * - rows newer than their aircraft's flights_current go in by a plain
 *   INSERT, the others through `ON CONFLICT DO NOTHING`: a redelivered or
 *   partly redelivered batch adds only its new rows;
 * - a row taken for new that is stored already (flights_current deleted
 *   while the history stayed) fails the write with a unique violation, and
 *   the retry of the same batch merges everything with ON CONFLICT.
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
import { BatchWriter, type HistoryRow } from "../services/worker/writer.ts";
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

for (const stage of ["copy", "unnest"] as const) {
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
