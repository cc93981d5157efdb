/**
 * Query parameters of the API routes, parsed with zod. A bad or unknown
 * parameter is an {@link HttpError} 400 whose message starts with the
 * parameter's name (`bbox: ...`), never a 500. Private to routes/api/ (the
 * leading `_` keeps it out of the route manifest).
 *
 * @module
 */
import { z } from "zod";
import { ANOMALY_KINDS, type AnomalyKind } from "../../contracts/anomaly.ts";
import { BBox, Icao24 } from "../../contracts/common.ts";
import type { Sql } from "../../lib/db/mod.ts";
import { type Context, HttpError } from "../../lib/framework/mod.ts";
import type { AppState } from "../../services/web/app.ts";

/** A parameter name and what is wrong with it: 400 `bad_request`. */
export function badRequest(param: string, message: string): HttpError {
  return new HttpError(400, `${param}: ${message}`, { code: "bad_request" });
}

/**
 * Parses the query string of `url` with `schema` (an object of string
 * inputs). Unknown and repeated parameters are refused.
 */
export function parseQuery<S extends z.ZodObject>(url: URL, schema: S): z.output<S> {
  const raw: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (!(key in schema.shape)) {
      const known = Object.keys(schema.shape);
      throw badRequest(
        key,
        known.length ? `unknown parameter (expected ${known.join(", ")})` : "unknown parameter",
      );
    }
    if (key in raw) throw badRequest(key, "given more than once");
    raw[key] = value;
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw badRequest(String(issue.path[0] ?? "query"), issue.message);
  }
  return result.data;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;
const UNIX_SECONDS = /^-?\d{1,12}(\.\d+)?$/;

/** `2017-02-05T16:00:00Z`, `2017-02-05T17:00:00+01:00`, `2017-02-05` (UTC midnight) or unix seconds. */
export function parseTime(value: string): Date | null {
  const v = value.trim();
  let ms: number;
  if (UNIX_SECONDS.test(v)) ms = Number(v) * 1000;
  else if (ISO_DATE.test(v) || ISO_DATETIME.test(v)) ms = Date.parse(v);
  else return null;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return null;
  return new Date(ms);
}

/** A time parameter: ISO 8601 with a zone, a date, or unix seconds. */
export const timeParam = z.string().transform((value, ctx) => {
  const date = parseTime(value);
  if (date === null) {
    ctx.addIssue({
      code: "custom",
      message: `expected ISO 8601 with a zone (2017-02-05T16:00:00Z) or unix seconds, got ${
        JSON.stringify(value.slice(0, 40))
      }`,
    });
    return z.NEVER;
  }
  return date;
});

const BBOX_NAMES = ["lamin", "lomin", "lamax", "lomax"] as const;

/** `lamin,lomin,lamax,lomax` in degrees (lomin > lomax crosses the antimeridian). */
export const bboxParam = z.string().transform((value, ctx) => {
  const parts = value.split(",");
  const numbers = parts.map((p) => (p.trim() === "" ? NaN : Number(p)));
  if (parts.length !== 4 || numbers.some((n) => !Number.isFinite(n))) {
    ctx.addIssue({
      code: "custom",
      message: "expected lamin,lomin,lamax,lomax: four numbers, degrees",
    });
    return z.NEVER;
  }
  const parsed = BBox.safeParse(numbers);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const index = issue.path[0];
    const name = typeof index === "number" ? BBOX_NAMES[index] : undefined;
    ctx.addIssue({
      code: "custom",
      message: name
        ? `${name} ${numbers[index as number]} is out of range (${
          name.startsWith("la") ? "-90..90" : "-180..180"
        })`
        : issue.message,
    });
    return z.NEVER;
  }
  return parsed.data;
});

/** A finite number. */
export const numberParam = z.string().transform((value, ctx) => {
  const n = value.trim() === "" ? NaN : Number(value);
  if (!Number.isFinite(n)) {
    ctx.addIssue({
      code: "custom",
      message: `expected a number, got ${JSON.stringify(value.slice(0, 40))}`,
    });
    return z.NEVER;
  }
  return n;
});

/** `true`/`false` (also `1`/`0`). */
export const booleanParam = z.enum(["true", "false", "1", "0"], {
  error: "expected true or false",
}).transform((v) => v === "true" || v === "1");

/** An integer in `min..max`. */
export function integerParam(min: number, max: number) {
  return z.string().regex(/^\d+$/, `expected an integer ${min}..${max}`).transform(Number).pipe(
    z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`),
  );
}

/** A comma list of anomaly kinds. */
export const kindsParam = z.string().transform((value, ctx) => {
  const kinds = value.split(",").map((k) => k.trim()).filter((k) => k !== "");
  const unknown = kinds.filter((k) => !(ANOMALY_KINDS as readonly string[]).includes(k));
  if (kinds.length === 0 || unknown.length > 0) {
    ctx.addIssue({
      code: "custom",
      message: `unknown kind ${JSON.stringify(unknown[0]?.slice(0, 40) ?? value)} (expected ${
        ANOMALY_KINDS.join(", ")
      }, comma separated)`,
    });
    return z.NEVER;
  }
  return [...new Set(kinds)] as AnomalyKind[];
});

/** The `:icao24` route parameter, lower-cased; 400 when it is not 6 hex digits. */
export function icao24Param(ctx: Context<AppState>): string {
  const value = (ctx.params.icao24 ?? "").toLowerCase();
  if (!Icao24.safeParse(value).success) {
    throw badRequest("icao24", `expected 6 hex digits, got ${JSON.stringify(value.slice(0, 40))}`);
  }
  return value;
}

/** The history database, or 503 when none is configured. */
export function requireDb(ctx: Context<AppState>): Sql {
  if (ctx.state.db === null) {
    throw new HttpError(503, "history is unavailable: no database is configured", {
      code: "unavailable",
    });
  }
  return ctx.state.db;
}

const CONNECTION_CODES = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EPIPE",
  // SQLSTATE: too many connections, shutting down, starting up.
  "53300",
  "57P01",
  "57P02",
  "57P03",
]);

/** True for errors that mean "the database is not reachable now" rather than a bug. */
export function isUnavailable(error: unknown): boolean {
  if (
    error instanceof Deno.errors.ConnectionRefused || error instanceof Deno.errors.ConnectionReset
  ) {
    return true;
  }
  const code = (error as { code?: unknown } | null)?.code;
  // SQLSTATE class 08: connection exception.
  return typeof code === "string" && (CONNECTION_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code));
}

/** Runs a database call; an unreachable database becomes 503, other errors stay 500 (bugs). */
export async function withDb<T>(
  ctx: Context<AppState>,
  fn: (sql: Sql) => Promise<T>,
): Promise<T> {
  const sql = requireDb(ctx);
  try {
    return await fn(sql);
  } catch (error) {
    if (isUnavailable(error)) {
      throw new HttpError(503, "history is unavailable: the database does not answer", {
        code: "unavailable",
        cause: error,
      });
    }
    throw error;
  }
}
