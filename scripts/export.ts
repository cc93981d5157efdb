/**
 * `deno task export --from T --to T [--bbox lamin,lomin,lamax,lomax]
 * [--format geojson|csv]`: all traffic of a time range from the
 * history tiers, streamed (a database cursor, nothing held but one batch)
 * as GeoJSON lines (one Point Feature per position, the default) or CSV on
 * stdout (redirect it to a file). A progress line on stderr says how many positions went
 * out and how far into the range they are.
 *
 *   deno task export --from 2018-08-01T11:30:00Z --to 2018-08-01T12:00:00Z > swiss.geojsonl
 *   deno task export --from 1533123000 --to 1533124800 --bbox 45.8,5.9,47.8,10.5 --format csv
 *
 * Times are ISO 8601 or unix seconds. The database is DATABASE_URL, else the
 * embedded one under DATA_DIR. Exit codes: 0 done, 2 bad arguments, 1 the
 * database failed.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BBox } from "../contracts/common.ts";
import { openDatabase } from "../lib/db/mod.ts";
import {
  EXPORT_CSV_COLUMNS,
  exportCsvLine,
  exportFeatureLine,
  type ExportPoint,
} from "../lib/export/formats.ts";
import { exportRows } from "../services/web/history.ts";

const USAGE = "usage: deno task export --from T --to T [--bbox lamin,lomin,lamax,lomax] " +
  "[--format geojson|csv] > FILE";

/** ISO 8601 (with a zone) or unix seconds; null when neither. */
export function parseTime(text: string): Date | null {
  if (/^\d+(\.\d+)?$/.test(text)) return new Date(Number(text) * 1000);
  if (!/^\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(text)) return null;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** The parsed command line, or an error message. */
export function parseExportArgs(args: string[]):
  | { from: Date; to: Date; bbox?: BBox; format: "geojson" | "csv" }
  | { error: string } {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        from: { type: "string" },
        to: { type: "string" },
        bbox: { type: "string" },
        format: { type: "string", default: "geojson" },
      },
      strict: true,
    }).values;
  } catch (error) {
    return { error: (error as Error).message };
  }
  const from = values.from ? parseTime(values.from) : null;
  const to = values.to ? parseTime(values.to) : null;
  if (!from) return { error: "--from: expected ISO 8601 with a zone or unix seconds" };
  if (!to) return { error: "--to: expected ISO 8601 with a zone or unix seconds" };
  if (from > to) return { error: "--from must not be after --to" };
  if (values.format !== "geojson" && values.format !== "csv") {
    return { error: "--format: geojson or csv" };
  }
  let bbox: BBox | undefined;
  if (values.bbox) {
    const parsed = BBox.safeParse(values.bbox.split(",").map(Number));
    if (!parsed.success) return { error: "--bbox: expected lamin,lomin,lamax,lomax in degrees" };
    bbox = parsed.data;
  }
  return { from, to, bbox, format: values.format };
}

async function main(): Promise<number> {
  const args = parseExportArgs(Deno.args);
  if ("error" in args) {
    console.error(`${args.error}\n${USAGE}`);
    return 2;
  }
  const db = await openDatabase({
    url: Deno.env.get("DATABASE_URL"),
    dataDir: Deno.env.get("DATA_DIR") ?? ".data",
  }).catch((error) => {
    console.error(error instanceof Error ? error.message : String(error));
    return null;
  });
  if (!db) return 1;
  const writer = Deno.stdout.writable.getWriter();
  const bytes = new TextEncoder();
  const line = args.format === "csv" ? exportCsvLine : exportFeatureLine;
  const span = Math.max(1, args.to.getTime() - args.from.getTime());
  const started = performance.now();
  let count = 0;
  let lastProgress = 0;
  const progress = (ts: number | null, done = false) => {
    const pct = ts === null ? 100 : Math.min(100, (ts * 1000 - args.from.getTime()) / span * 100);
    const at = ts === null ? "" : ` up to ${new Date(ts * 1000).toISOString()}`;
    const rate = Math.round(count / Math.max(0.001, (performance.now() - started) / 1000));
    Deno.stderr.writeSync(bytes.encode(
      `\rexported ${count} positions${at} (${pct.toFixed(1)}% of the range, ${rate}/s)` +
        (done ? "\n" : ""),
    ));
  };
  try {
    const { resolution, rows } = await exportRows(db.sql, args);
    if (args.format === "csv") {
      await writer.write(bytes.encode(EXPORT_CSV_COLUMNS.join(",") + "\r\n"));
    }
    let last: number | null = null;
    for await (const batch of rows) {
      let text = "";
      for (const row of batch as ExportPoint[]) text += line(row);
      await writer.write(bytes.encode(text));
      count += batch.length;
      last = batch[batch.length - 1]?.flight.time_position_unix ?? last;
      if (performance.now() - lastProgress > 1000) {
        lastProgress = performance.now();
        progress(last);
      }
    }
    progress(last, true);
    console.error(`resolution: ${resolution}`);
    return 0;
  } catch (error) {
    console.error(`\nexport failed: ${error instanceof Error ? error.message : error}`);
    return 1;
  } finally {
    writer.releaseLock();
    await db.close();
  }
}

if (import.meta.main) Deno.exit(await main());
