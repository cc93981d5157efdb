/**
 * The OpenAPI 3.1 document served at `/api/openapi.json`. Response schemas
 * are generated from the zod contracts (`z.toJSONSchema`, JSON Schema
 * 2020-12, which OpenAPI 3.1 uses), so they cannot drift from the code.
 *
 * @module
 */
import { z } from "zod";
import { ANOMALY_KINDS } from "../../contracts/anomaly.ts";
import { ALERT_SCHEMAS, ALERT_SECURITY_SCHEMES, alertPaths } from "./alerts_openapi.ts";
import {
  AnomaliesResponse,
  ApiError,
  FlightDetailResponse,
  FlightsResponse,
  SnapshotResponse,
  TrackResponse,
} from "../../contracts/api.ts";
import {
  DEFAULT_ANOMALY_LIMIT,
  MAX_ANOMALY_LIMIT,
  MAX_TRACK_POINTS,
  MAX_TRACK_RANGE_MS,
} from "./history.ts";

type Json = Record<string, unknown>;

const SCHEMAS = {
  FlightsResponse,
  FlightDetailResponse,
  TrackResponse,
  SnapshotResponse,
  AnomaliesResponse,
  ApiError,
  ...ALERT_SCHEMAS,
};

function jsonSchema(schema: z.ZodType): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { unrepresentable: "any" }) as Json;
  return rest;
}

const ref = (name: keyof typeof SCHEMAS | "Health") => ({ $ref: `#/components/schemas/${name}` });

const TIME = {
  type: "string",
  description:
    "ISO 8601 with a zone (`2017-02-05T16:00:00Z`), a date (UTC midnight) or unix seconds",
  examples: ["2017-02-05T16:00:00Z", "1486310400"],
};
const BBOX = {
  name: "bbox",
  in: "query",
  description: "`lamin,lomin,lamax,lomax` in degrees; lomin > lomax crosses the antimeridian",
  schema: { type: "string", examples: ["43.5,1.0,44.0,1.7"] },
};
const ICAO24 = {
  name: "icao24",
  in: "path",
  required: true,
  description: "24-bit ICAO address, 6 hex digits",
  schema: { type: "string", pattern: "^[0-9a-fA-F]{6}$" },
};

function json(description: string, schema: Json): Json {
  return { description, content: { "application/json": { schema } } };
}

const errors = (...statuses: number[]): Json =>
  Object.fromEntries(statuses.map((status) => [
    String(status),
    json(
      {
        400: "A bad parameter; the message starts with its name",
        404: "Unknown aircraft",
        426: "Not a WebSocket request",
        503: "No database configured, or it does not answer",
      }[status] ?? "Error",
      ref("ApiError"),
    ),
  ]));

let cached: Json | undefined;

/** The document (built once). */
export function openApiDocument(): Json {
  cached ??= build();
  return cached;
}

function build(): Json {
  const schemas: Json = Object.fromEntries(
    Object.entries(SCHEMAS).map(([name, schema]) => [name, jsonSchema(schema)]),
  );
  schemas.Health = {
    type: "object",
    properties: {
      status: { type: "string", enum: ["ok", "unavailable"] },
      problems: { type: "array", items: { type: "string" } },
      checks: {
        type: "object",
        additionalProperties: {
          type: "object",
          properties: { ok: { type: "boolean" }, detail: { type: "string" } },
          required: ["ok"],
        },
      },
    },
    required: ["status", "checks"],
  };
  return {
    openapi: "3.1.0",
    info: {
      title: "SkySentinel API",
      version: "1.0.0",
      description: "Live aircraft, their history, time travel and anomalies. Times are ISO 8601 " +
        "UTC, distances metres, speeds m/s, angles degrees. Errors are " +
        '`{"error": {"code", "message"}}`.',
    },
    servers: [{ url: "/" }],
    paths: {
      "/api/flights": {
        get: {
          operationId: "listFlights",
          summary: "Current flights (the WebSocket hub's state), filtered like `subscribe`",
          parameters: [
            BBOX,
            {
              name: "min_altitude_m",
              in: "query",
              description: "Lowest barometric altitude, metres",
              schema: { type: "number" },
            },
            {
              name: "max_altitude_m",
              in: "query",
              description: "Highest barometric altitude, metres",
              schema: { type: "number" },
            },
            {
              name: "on_ground",
              in: "query",
              description: "true: on the ground only; false: airborne only",
              schema: { type: "boolean" },
            },
            {
              name: "callsign_prefix",
              in: "query",
              description: "Case-insensitive callsign prefix, letters and digits, at most 8",
              schema: { type: "string", maxLength: 8, pattern: "^[A-Za-z0-9]*$" },
            },
          ],
          responses: { 200: json("Matching flights", ref("FlightsResponse")), ...errors(400) },
        },
      },
      "/api/flights/{icao24}": {
        get: {
          operationId: "getFlight",
          summary: "Latest stored state and current (or last) session of one aircraft",
          parameters: [ICAO24],
          responses: {
            200: json("The aircraft", ref("FlightDetailResponse")),
            ...errors(400, 404, 503),
          },
        },
      },
      "/api/flights/{icao24}/track": {
        get: {
          operationId: "getTrack",
          summary: `Trail between from and to (at most ${
            MAX_TRACK_RANGE_MS / 3600000
          } h and ${MAX_TRACK_POINTS} points, thinned evenly beyond)`,
          parameters: [
            ICAO24,
            { name: "from", in: "query", description: "Default: `to` minus 1 h", schema: TIME },
            {
              name: "to",
              in: "query",
              description: "Default: `from` plus 1 h (at most now), or now",
              schema: TIME,
            },
          ],
          responses: {
            200: json("Smoothed and raw positions, oldest first", ref("TrackResponse")),
            ...errors(400, 404, 503),
          },
        },
      },
      "/api/snapshot": {
        get: {
          operationId: "getSnapshot",
          summary: "Time travel: every aircraft's last state at or before `at`, within the " +
            "stale window (WS_STALE_THRESHOLD_SECONDS)",
          parameters: [
            { name: "at", in: "query", description: "Default: now", schema: TIME },
            BBOX,
          ],
          responses: {
            200: json("Flights as they were at `at`", ref("SnapshotResponse")),
            ...errors(400, 503),
          },
        },
      },
      "/api/anomalies": {
        get: {
          operationId: "listAnomalies",
          summary: "Anomaly events, newest first (started_at desc, id desc), keyset paginated",
          parameters: [
            {
              name: "since",
              in: "query",
              description: "started_at at or after",
              schema: TIME,
            },
            { name: "until", in: "query", description: "started_at before", schema: TIME },
            {
              name: "kind",
              in: "query",
              description: `Comma list of: ${ANOMALY_KINDS.join(", ")}`,
              schema: { type: "string" },
            },
            BBOX,
            {
              name: "limit",
              in: "query",
              schema: {
                type: "integer",
                minimum: 1,
                maximum: MAX_ANOMALY_LIMIT,
                default: DEFAULT_ANOMALY_LIMIT,
              },
            },
            {
              name: "cursor",
              in: "query",
              description: "`next_cursor` of the previous page",
              schema: { type: "string" },
            },
          ],
          responses: {
            200: json("One page", ref("AnomaliesResponse")),
            ...errors(400, 503),
          },
        },
      },
      ...alertPaths(),
      "/api/openapi.json": {
        get: {
          operationId: "getOpenApi",
          summary: "This document",
          responses: { 200: json("OpenAPI 3.1", { type: "object" }) },
        },
      },
      "/healthz": {
        get: {
          operationId: "getHealth",
          summary: "200 only when the server can serve (hub ready, database answering)",
          responses: {
            200: json("Healthy", ref("Health")),
            503: json("Not ready; `problems` says why", ref("Health")),
          },
        },
      },
      "/metrics": {
        get: {
          operationId: "getMetrics",
          summary: "Prometheus metrics (text exposition format)",
          responses: {
            200: {
              description: "Metrics",
              content: { "text/plain": { schema: { type: "string" } } },
            },
          },
        },
      },
      "/ws": {
        get: {
          operationId: "openWebSocket",
          summary: "WebSocket: hello, snapshot, delta, anomaly, pong, error (contracts/ws.ts); " +
            "JSON, or MessagePack with a subprotocol containing `msgpack`",
          responses: { 101: { description: "Switching protocols" }, ...errors(426) },
        },
      },
    },
    components: { schemas, securitySchemes: ALERT_SECURITY_SCHEMES },
  };
}
