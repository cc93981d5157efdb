/**
 * The fine tier's inserts, for writer.ts: rows that cannot be stored yet by
 * binary COPY straight into `flights_history` ({@link copyHistory}), the
 * batch's rows skipping those stored already by binary COPY into a staging
 * table and one merge statement (PostgreSQL), or by one INSERT of arrays
 * (the embedded PGlite, which cannot take COPY FROM STDIN over its socket).
 * writer.ts says why.
 *
 * @module
 */
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type postgres from "postgres";
import { BinaryCopyBuffer } from "../../lib/db/copy_binary.ts";
import {
  encodeHistoryRow,
  flightSource,
  HISTORY_COLUMN_LIST,
  unixToTimestamp,
} from "../../lib/db/history_rows.ts";
import type { HistoryRow } from "./writer.ts";

/** PostgreSQL type OIDs of the array elements (postgres.js maps them to array types). */
export const TEXT = 25;
export const FLOAT8 = 701;
export const BOOL = 16;
export const INT2 = 21;

/** COPY data handed to the server per chunk, bytes. */
const COPY_CHUNK_BYTES = 1 << 20;

/** Inserts the rows into flights_history, skipping those stored already; returns how many were new. */
export async function insertHistory(
  tx: postgres.TransactionSql,
  rows: readonly HistoryRow[],
  how: "copy" | "unnest",
  options: { safe: boolean; lap: (stage: "stage") => void },
): Promise<number> {
  if (rows.length === 0) return 0;
  if (how === "unnest") return await insertUnnest(tx, rows, options.safe);
  await tx`
    CREATE TEMP TABLE IF NOT EXISTS history_stage ON COMMIT DELETE ROWS AS
    SELECT ${tx.unsafe(HISTORY_COLUMN_LIST)} FROM flights_history WITH NO DATA`;
  await copyInto(tx, "history_stage", rows);
  options.lap("stage");
  return await mergeStage(tx, options.safe);
}

async function copyInto(
  sql: postgres.TransactionSql,
  table: "history_stage",
  rows: readonly HistoryRow[],
): Promise<void> {
  const writable = await sql.unsafe(
    `COPY ${table} (${HISTORY_COLUMN_LIST}) FROM STDIN (FORMAT binary)`,
  ).writable();
  await pipeline(Readable.from(copyChunks(rows)), writable);
}

/**
 * The server refused a COPY straight into `flights_history` (a row stored
 * already, most likely): the transaction is aborted; roll it back and write
 * the batch the safe way. `cause` is the server's error when postgres.js
 * passed it on (a refusal while rows were still being sent), else absent
 * (a refusal after the last row, which postgres.js drops: see
 * {@link copyHistory}).
 */
export class CopyRefusedError extends Error {
  /** The server's SQLSTATE when known (23505: unique_violation). */
  readonly code: string | undefined;
  constructor(message: string, options: { cause?: unknown; code?: string } = {}) {
    super(message, { cause: options.cause });
    this.name = "CopyRefusedError";
    this.code = options.code;
  }
}

/** SQLSTATE of an error from the server, if it is one. */
function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Binary COPY of rows that cannot be stored yet straight into
 * `flights_history` (no staging table, no merge): what the raw COPY baseline
 * does. Throws {@link CopyRefusedError} when the server refuses them (the
 * caller rolls back and writes the batch again through the staging table
 * and `ON CONFLICT`); any other failure (connection lost) as it is.
 *
 * postgres.js 3.4 hands the COPY over as a node Writable and resolves the
 * query with it, so an error the server sends after the last row (COPY
 * buffers up to 1,000 rows or 64 kB before it inserts them, so a short
 * batch's unique violation comes after CopyDone) has no promise left to
 * reject, and the Writable never finishes: awaiting it hangs. An error while
 * rows are still going out does destroy the Writable (its code is kept).
 * So once the Writable has sent CopyDone (its `_final` ran, after which
 * postgres.js takes further queries), a `SELECT 1` is queued behind the COPY
 * on the transaction's connection: it answers only after the COPY's result,
 * and fails (25P02, transaction aborted) exactly when the COPY failed.
 */
export async function copyHistory(
  tx: postgres.TransactionSql,
  rows: readonly HistoryRow[],
): Promise<void> {
  if (rows.length === 0) return;
  const writable = await tx.unsafe(
    `COPY flights_history (${HISTORY_COLUMN_LIST}) FROM STDIN (FORMAT binary)`,
  ).writable();
  const ended = new Promise<void>((resolve) => {
    const final = writable._final;
    if (typeof final !== "function") throw new TypeError("postgres.js COPY stream without _final");
    writable._final = function (this: typeof writable, callback) {
      final.call(this, callback);
      resolve();
    };
  });
  const piped = pipeline(Readable.from(copyChunks(rows)), writable);
  // Rejections are taken below; this keeps a late one from going unhandled.
  piped.catch(() => {});
  const refused = (error: unknown): never => {
    const code = sqlState(error);
    if (code === undefined) throw error;
    throw new CopyRefusedError(`COPY into flights_history refused: ${String(error)}`, {
      cause: error,
      code,
    });
  };
  await Promise.race([ended, piped]).catch(refused);
  try {
    await tx`SELECT 1`;
  } catch (error) {
    // 25P02: the transaction was aborted by the COPY's error, which postgres.js dropped.
    if (sqlState(error) === "25P02") {
      throw new CopyRefusedError("COPY into flights_history refused after its last row", {
        cause: error,
      });
    }
    throw error;
  }
  await piped.catch(refused);
}

/** Binary COPY data of `rows` in chunks of about {@link COPY_CHUNK_BYTES}. */
function* copyChunks(rows: readonly HistoryRow[]): Generator<Uint8Array> {
  const out = new BinaryCopyBuffer(Math.min(COPY_CHUNK_BYTES, 256 * rows.length + 64));
  for (const { flight, smoothed, sessionId } of rows) {
    encodeHistoryRow(out, flight, smoothed, sessionId);
    if (out.length >= COPY_CHUNK_BYTES) yield out.take();
  }
  yield out.finish();
}

async function insertUnnest(
  tx: postgres.TransactionSql,
  rows: readonly HistoryRow[],
  safe: boolean,
) {
  const n = rows.length;
  const col = <T>() => new Array<T>(n);
  const icao24 = col<string>(), ts = col<string>(), callsign = col<string | null>();
  const session = col<string | null>(), onGround = col<boolean>(), squawk = col<string | null>();
  const rawLat = col<number>(), rawLon = col<number>(), rawAlt = col<number | null>();
  const rawVel = col<number | null>(), rawHdg = col<number | null>(), rawVr = col<number | null>();
  const lat = col<number>(), lon = col<number>(), alt = col<number | null>();
  const vel = col<number | null>(), hdg = col<number | null>(), vr = col<number | null>();
  const geo = col<number | null>(), contact = col<string>(), posSource = col<number>();
  const category = col<number>(), spi = col<boolean>(), country = col<string | null>();
  const source = col<string | null>();
  for (let i = 0; i < n; i++) {
    const { flight: f, smoothed, sessionId } = rows[i]!;
    icao24[i] = f.icao24;
    ts[i] = unixToTimestamp(f.time_position_unix);
    callsign[i] = f.callsign;
    session[i] = sessionId;
    onGround[i] = f.on_ground;
    squawk[i] = f.squawk;
    rawLat[i] = f.position.lat;
    rawLon[i] = f.position.lon;
    rawAlt[i] = f.altitude_m;
    rawVel[i] = f.velocity_mps;
    rawHdg[i] = f.heading_deg;
    rawVr[i] = f.vertical_rate_mps;
    lat[i] = smoothed?.lat ?? f.position.lat;
    lon[i] = smoothed?.lon ?? f.position.lon;
    alt[i] = smoothed ? smoothed.altitude_m : f.altitude_m;
    vel[i] = smoothed ? smoothed.velocity_mps : f.velocity_mps;
    hdg[i] = smoothed ? smoothed.heading_deg : f.heading_deg;
    vr[i] = smoothed ? smoothed.vertical_rate_mps : f.vertical_rate_mps;
    geo[i] = f.geo_altitude_m;
    contact[i] = unixToTimestamp(f.last_contact_unix);
    posSource[i] = f.position_source;
    category[i] = f.category;
    spi[i] = f.spi;
    country[i] = f.origin_country;
    source[i] = flightSource(f);
  }
  const a = (values: unknown[], oid: number) => tx.array(values as never[], oid);
  const cols = tx.unsafe(HISTORY_COLUMN_LIST);
  const values = tx`
    SELECT * FROM unnest(
      ${a(icao24, TEXT)}::text[], ${a(ts, TEXT)}::timestamptz[], ${a(callsign, TEXT)}::text[],
      ${a(session, TEXT)}::text[], ${a(onGround, BOOL)}::bool[], ${a(squawk, TEXT)}::text[],
      ${a(rawLat, FLOAT8)}::float8[], ${a(rawLon, FLOAT8)}::float8[],
      ${a(rawAlt, FLOAT8)}::float8[], ${a(rawVel, FLOAT8)}::float8[],
      ${a(rawHdg, FLOAT8)}::float8[], ${a(rawVr, FLOAT8)}::float8[],
      ${a(lat, FLOAT8)}::float8[], ${a(lon, FLOAT8)}::float8[], ${a(alt, FLOAT8)}::float8[],
      ${a(vel, FLOAT8)}::float8[], ${a(hdg, FLOAT8)}::float8[], ${a(vr, FLOAT8)}::float8[],
      ${a(geo, FLOAT8)}::float8[], ${a(contact, TEXT)}::timestamptz[],
      ${a(posSource, INT2)}::int2[], ${a(category, INT2)}::int2[], ${a(spi, BOOL)}::bool[],
      ${a(country, TEXT)}::text[], ${a(source, TEXT)}::text[]
    ) AS s(${cols})`;
  if (safe) {
    const result = await tx`
      INSERT INTO flights_history (${cols}) ${values} ON CONFLICT (icao24, ts) DO NOTHING`;
    return result.count;
  }
  // As mergeStage: the plain INSERT for rows newer than their aircraft's current one.
  const [row] = await tx<{ n: string }[]>`
    WITH s AS (${values}), fresh AS (
      INSERT INTO flights_history (${cols})
      SELECT ${cols} FROM s WHERE NOT ${tx.unsafe(MAYBE_STORED)}
      RETURNING 1
    ), seen AS (
      INSERT INTO flights_history (${cols})
      SELECT ${cols} FROM s WHERE ${tx.unsafe(MAYBE_STORED)}
      ON CONFLICT (icao24, ts) DO NOTHING
      RETURNING 1
    )
    SELECT ((SELECT count(*) FROM fresh) + (SELECT count(*) FROM seen))::text AS n`;
  return Number(row?.n ?? 0);
}

/**
 * A staged row that may be stored already: its aircraft's `flights_current`
 * time is at or after it (1 ms of slack for the float8 seconds that
 * flights_current is written from). `flights_current.ts` is the newest
 * `ts` in flights_history of the aircraft (both written in one
 * transaction, the current row only moving forward), so a row newer than it
 * cannot conflict.
 */
const MAYBE_STORED = `EXISTS (SELECT 1 FROM flights_current c
  WHERE c.icao24 = s.icao24 AND c.ts >= s.ts - interval '1 millisecond')`;

/**
 * The staged rows into the fine tier; returns how many were new.
 *
 * `ON CONFLICT DO NOTHING` costs the server several times a plain insert
 * (a speculative insertion per row: an index probe, the heap insert, then
 * the index insert checked again), and nearly every row is new: so only the
 * rows that {@link MAYBE_STORED} (a repeated position, a redelivery) take
 * it, the others go in by a plain INSERT, both in one statement. Should
 * that ever meet a stored row all the same (a zombie member writing the same
 * aircraft during a rebalance, a flights_current row deleted while its
 * history stayed), the unique index refuses it, the transaction rolls back
 * and `safe` retries take the `ON CONFLICT` path for every row.
 */
async function mergeStage(tx: postgres.TransactionSql, safe: boolean): Promise<number> {
  const cols = HISTORY_COLUMN_LIST;
  if (safe) {
    const result = await tx.unsafe(`
      INSERT INTO flights_history (${cols}) SELECT ${cols} FROM history_stage
      ON CONFLICT (icao24, ts) DO NOTHING`);
    return result.count;
  }
  const [row] = await tx.unsafe<{ n: string }[]>(`
    WITH fresh AS (
      INSERT INTO flights_history (${cols})
      SELECT ${cols} FROM history_stage s WHERE NOT ${MAYBE_STORED}
      RETURNING 1
    ), seen AS (
      INSERT INTO flights_history (${cols})
      SELECT ${cols} FROM history_stage s WHERE ${MAYBE_STORED}
      ON CONFLICT (icao24, ts) DO NOTHING
      RETURNING 1
    )
    SELECT ((SELECT count(*) FROM fresh) + (SELECT count(*) FROM seen))::text AS n`);
  return Number(row?.n ?? 0);
}
