/**
 * Configuration: the environment, parsed once at start with zod into a
 * frozen, typed object per service. Parsing is pure (it takes a record of
 * variables) so it is tested directly; `readEnv` at the edge reads only the
 * names a service declares, which is what `--allow-env=NAMES` permits.
 *
 * @module
 */
import { z } from "zod";
import { BBox } from "../contracts/common.ts";
import { formatZodError } from "./zod_error.ts";
import { SkySentinelError } from "./errors.ts";
import { parseSourceUrl, type SourceSpec } from "./sources/url.ts";

export type Env = Readonly<Record<string, string | undefined>>;
export type ServiceName = "producer" | "worker" | "web" | "stack";

const SECRET_NAMES = new Set(["OPENSKY_CLIENT_SECRET", "DATABASE_URL", "ADMIN_TOKEN"]);

const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);
const positive = (fallback: number) => z.coerce.number().positive().default(fallback);
const bool = (fallback: boolean) =>
  z.enum(["true", "false", "1", "0", "yes", "no"]).default(fallback ? "true" : "false")
    .transform((v) => v === "true" || v === "1" || v === "yes");
const list = z.string().optional().transform((v) =>
  v ? v.split(",").map((s) => s.trim()).filter(Boolean) : []
);
const bbox = z.string().optional().transform((v, ctx) => {
  if (!v) return null;
  const parts = v.split(",").map((s) => Number(s.trim()));
  const parsed = BBox.safeParse(parts);
  if (!parsed.success) {
    ctx.addIssue({ code: "custom", message: `expected lamin,lomin,lamax,lomax in degrees` });
    return z.NEVER;
  }
  return parsed.data;
});

const sources = z.string().optional().transform((v, ctx): SourceSpec[] => {
  const out: SourceSpec[] = [];
  for (const part of (v ?? "").split(",").map((p) => p.trim()).filter(Boolean)) {
    try {
      out.push(parseSourceUrl(part));
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  }
  return out;
});
const coordinate = (limit: number) => z.coerce.number().min(-limit).max(limit).optional();

const common = {
  /** Kafka bootstrap servers, comma separated; unset means the in-memory bus. */
  KAFKA_BROKERS: list,
  /** Kafka client id prefix. */
  KAFKA_CLIENT_ID: z.string().default("skysentinel"),
  /** PostgreSQL URL; unset means the embedded PGlite under DATA_DIR. */
  DATABASE_URL: z.string().url().optional(),
  /** Folder for the embedded database and recordings. */
  DATA_DIR: z.string().default(".data"),
  /** `debug`, `info`, `warn` or `error`. */
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
};

const producer = {
  /** `live` polls OpenSky, `replay` plays recordings, `record` polls and saves replies. */
  OPENSKY_MODE: z.enum(["live", "replay", "record"]).optional(),
  OPENSKY_CLIENT_ID: z.string().min(1).optional(),
  OPENSKY_CLIENT_SECRET: z.string().min(1).optional(),
  /** Base URL of the REST API. */
  OPENSKY_API_URL: z.string().url().default("https://opensky-network.org/api"),
  /** OAuth2 token endpoint. */
  OPENSKY_AUTH_URL: z.string().url().default(
    "https://auth.opensky-network.org/auth/realms/opensky-network/protocol/openid-connect/token",
  ),
  /** `lamin,lomin,lamax,lomax` in degrees; unset means the whole world. */
  OPENSKY_BBOX: bbox,
  /** `anonymous`, `standard` or `feeder`: which daily credit budget applies. */
  OPENSKY_ACCOUNT: z.enum(["anonymous", "standard", "feeder"]).optional(),
  /** Seconds between polls in live and record mode. */
  POLL_INTERVAL_SECONDS: positive(10),
  /** Timeout of one HTTP request to OpenSky, ms. */
  OPENSKY_TIMEOUT_MS: positive(15_000),
  /** Recordings or scenario files to replay, comma separated. */
  REPLAY_FILES: list,
  /** 1 = real time, 10 = ten times faster, 0 = as fast as possible. */
  REPLAY_SPEED: z.coerce.number().min(0).default(1),
  /** Start again at the end. */
  REPLAY_LOOP: bool(true),
  /** Keep the recorded timestamps instead of shifting them to now. */
  REPLAY_KEEP_TIMES: bool(false),
  /** Folder for record mode's `.jsonl.gz` files (default DATA_DIR/recordings). */
  RECORD_DIR: z.string().optional(),
  /** Port of the producer's /metrics and /healthz. */
  PRODUCER_PORT: port(9101),
  /**
   * Messages the producer holds in memory while the broker is unreachable; past it live
   * mode drops the oldest (counted) and replay waits.
   */
  PRODUCER_HOLD_MAX_MESSAGES: z.coerce.number().int().positive().default(200_000),
  /**
   * Source URLs, comma separated (lib/sources/url.ts): `opensky:`, `replay:PATH`,
   * `sbs://host:port`, `beast://host:port`, `http(s)://.../aircraft.json`,
   * `v2+https://host/v2/point/{lat}/{lon}/{radius}`. Unset: OpenSky or the demo replay,
   * as OPENSKY_MODE says.
   */
  SOURCES: sources,
  /** Receiver latitude, degrees: the reference for local CPR decoding of Beast positions. */
  RECEIVER_LAT: coordinate(90),
  /** Receiver longitude, degrees. */
  RECEIVER_LON: coordinate(180),
};

const worker = {
  /** Consumer group of the workers; processes with the same id share partitions. */
  WORKER_GROUP_ID: z.string().default("skysentinel-worker"),
  /** Port of the worker's /metrics and /healthz. */
  WORKER_PORT: port(9102),
  /** OurAirports runways CSV used by the go-around and landing logic. */
  RUNWAYS_FILE: z.string().default("fixtures/ourairports_runways.csv"),
  /** Most flight updates per batch (one database transaction each). */
  WORKER_BATCH_SIZE: z.coerce.number().int().min(1).max(50_000).default(2000),
  /** Partitions one worker processes at the same time (each batch on its own connection). */
  WORKER_PARTITION_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(3),
  /** Days the fine history tier keeps (whole day partitions are dropped after); 0 keeps all. */
  HISTORY_RETENTION_DAYS: z.coerce.number().int().min(0).default(7),
  /** Days the 5-minute sampled tier, sessions and anomalies are kept; 0 keeps all. */
  HISTORY_SAMPLED_RETENTION_DAYS: z.coerce.number().int().min(0).default(365),
  /** Let alert webhooks and ntfy URLs reach loopback and private networks (tests, a LAN ntfy). */
  ALERTS_ALLOW_PRIVATE_TARGETS: bool(false),
  /** Public URL of the globe, for the click link of ntfy notifications. */
  ALERTS_PUBLIC_URL: z.string().url().default("http://localhost:8000"),
  /** Port of the alert delivery's (`deno task alerts`) /metrics and /healthz. */
  ALERTS_PORT: port(9103),
};

const web = {
  /** HTTP port of the web server. */
  PORT: port(8000),
  /** Interface to listen on. */
  HOST: z.string().default("0.0.0.0"),
  /** Milliseconds between WebSocket deltas (2-5 Hz is the useful range). */
  WS_DELTA_INTERVAL_MS: z.coerce.number().int().min(50).max(10_000).default(200),
  /** Seconds without contact after which an aircraft is removed. */
  WS_STALE_THRESHOLD_SECONDS: positive(60),
  /** Most WebSocket clients at once. */
  WS_MAX_CLIENTS: z.coerce.number().int().positive().default(10_000),
  /** A client whose unsent bytes exceed this is a slow consumer, bytes. */
  WS_MAX_BUFFERED_BYTES: z.coerce.number().int().positive().default(4 * 1024 * 1024),
  /** Allowed Origin values, comma separated; empty means same host only (and no Origin, for tools). */
  WS_ALLOWED_ORIGINS: list,
  /** Another hub's ws(s):// URL: relay mode, no Kafka. */
  HUB_UPSTREAM_URL: z.string().url().optional(),
  /** How far back the hub reads flights.anomalies at start, hours. */
  ANOMALY_WINDOW_HOURS: positive(24),
  /** Bearer token for writing alert rules (`/api/alerts`); unset: writes answer 403. */
  ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters").optional(),
};

const schemas = {
  producer: z.object({ ...common, ...producer }),
  worker: z.object({ ...common, ...worker }),
  web: z.object({ ...common, ...web }),
  stack: z.object({ ...common, ...producer, ...worker, ...web }),
};

export type ProducerConfig = Readonly<z.infer<typeof schemas.producer>> & { mode: ProducerMode };
export type WorkerConfig = Readonly<z.infer<typeof schemas.worker>>;
export type WebConfig = Readonly<z.infer<typeof schemas.web>>;
export type StackConfig = Readonly<z.infer<typeof schemas.stack>> & { mode: ProducerMode };
export type ProducerMode = "live" | "replay" | "record";

/** The variable names a service reads: the list for its `--allow-env=`. */
export function envNames(service: ServiceName): string[] {
  return Object.keys(schemas[service].shape);
}

/** Reads the service's variables one by one (works under `--allow-env=NAMES`). */
export function readEnv(service: ServiceName): Env {
  const env: Record<string, string | undefined> = {};
  for (const name of envNames(service)) {
    const value = Deno.env.get(name);
    if (value !== undefined && value !== "") env[name] = value;
  }
  return env;
}

function parse<S extends ServiceName>(service: S, env: Env): z.infer<(typeof schemas)[S]> {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ""));
  const result = schemas[service].safeParse(cleaned);
  if (!result.success) {
    throw new SkySentinelError(
      "config_invalid",
      `Cannot start ${service} as ${formatZodError(result.error)}`,
    );
  }
  return result.data as z.infer<(typeof schemas)[S]>;
}

function producerMode(service: ServiceName, c: z.infer<typeof schemas.producer>): ProducerMode {
  if (c.OPENSKY_CLIENT_SECRET && !c.OPENSKY_CLIENT_ID) {
    throw new SkySentinelError(
      "config_invalid",
      `Cannot start ${service} as OPENSKY_CLIENT_SECRET is set without OPENSKY_CLIENT_ID`,
    );
  }
  if (c.OPENSKY_CLIENT_ID && !c.OPENSKY_CLIENT_SECRET) {
    throw new SkySentinelError(
      "config_invalid",
      `Cannot start ${service} as OPENSKY_CLIENT_ID is set without OPENSKY_CLIENT_SECRET`,
    );
  }
  if ((c.RECEIVER_LAT === undefined) !== (c.RECEIVER_LON === undefined)) {
    throw new SkySentinelError(
      "config_invalid",
      `Cannot start ${service} as RECEIVER_LAT and RECEIVER_LON must be set together`,
    );
  }
  if (c.SOURCES.length > 0) return sourcesMode(c);
  // Without an explicit mode: live when credentials are set, else the demo replay.
  const mode = c.OPENSKY_MODE ?? (c.OPENSKY_CLIENT_ID ? "live" : "replay");
  if (mode === "replay" && c.REPLAY_FILES.length === 0 && service === "producer") {
    throw new SkySentinelError(
      "config_invalid",
      "Cannot start producer as OPENSKY_MODE=replay needs REPLAY_FILES (a recording or a scenario)",
    );
  }
  return mode;
}

/**
 * With SOURCES set: `replay:` sources make it a replay (their files join
 * REPLAY_FILES), `opensky:` polls (OPENSKY_MODE=record records), and with
 * only receivers it is `live` (OPENSKY_MODE=record records them): no demo.
 */
function sourcesMode(c: z.infer<typeof schemas.producer>): ProducerMode {
  if (c.SOURCES.some((s) => s.kind === "replay")) return "replay";
  return c.OPENSKY_MODE === "record" ? "record" : "live";
}

/** REPLAY_FILES plus the files of `replay:` sources. */
function replayFiles(c: z.infer<typeof schemas.producer>): string[] {
  const extra = c.SOURCES.flatMap((s) => (s.kind === "replay" ? [s.path] : []));
  return extra.length === 0 ? c.REPLAY_FILES : [...new Set([...c.REPLAY_FILES, ...extra])];
}

/**
 * The bundled demo (real recordings played as if live): what replay plays
 * when REPLAY_FILES is unset, in `deno task up` and `deno task replay`.
 * Relative to the repository root, where `deno task` runs.
 */
export const DEMO_SCENARIO = "fixtures/scenarios/demo.json";

/** What the producer takes in, for a start-up line: `replaying the demo scenario`, ... */
export function describeIntake(
  config: Pick<ProducerConfig, "mode" | "REPLAY_FILES"> & { SOURCES?: ProducerConfig["SOURCES"] },
): string {
  if (config.SOURCES && config.SOURCES.length > 0) {
    return `reading ${config.SOURCES.map((s) => s.label).join(", ")}`;
  }
  if (config.mode === "live") return "polling OpenSky live";
  if (config.mode === "record") return "recording OpenSky";
  const files = config.REPLAY_FILES;
  if (files.length === 1 && files[0] === DEMO_SCENARIO) return "replaying the demo scenario";
  return `replaying ${files.join(", ")}`;
}

export function parseProducerConfig(env: Env): ProducerConfig {
  const c = parse("producer", env);
  return Object.freeze({ ...c, REPLAY_FILES: replayFiles(c), mode: producerMode("producer", c) });
}

export function parseWorkerConfig(env: Env): WorkerConfig {
  return Object.freeze(parse("worker", env));
}

export function parseWebConfig(env: Env): WebConfig {
  return Object.freeze(parse("web", env));
}

/** The single-process stack (`deno task up`): every service's settings. */
export function parseStackConfig(env: Env): StackConfig {
  const c = parse("stack", env);
  return Object.freeze({ ...c, REPLAY_FILES: replayFiles(c), mode: producerMode("stack", c) });
}

/** A copy safe to log: secrets replaced, URLs without passwords. */
export function redactConfig(config: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    if (key === "DATABASE_URL" && typeof value === "string") out[key] = redactUrl(value);
    else if (SECRET_NAMES.has(key)) out[key] = "***";
    else out[key] = value;
  }
  return out;
}

/** `postgres://user:***@host/db`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "***";
  }
}
