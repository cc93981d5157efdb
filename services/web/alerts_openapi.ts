/**
 * The alert paths of the OpenAPI document (services/web/openapi.ts merges
 * them), kept here so the alert routes and their description change together.
 *
 * @module
 */
import {
  AlertEventsResponse,
  AlertRule,
  AlertRuleInput,
  AlertRulePatch,
  AlertRulesResponse,
} from "../../contracts/alerts.ts";
import { DEFAULT_EVENT_LIMIT, MAX_EVENT_LIMIT } from "./alerts.ts";

type Json = Record<string, unknown>;

/** Component schemas (generated from the zod contracts by openapi.ts). */
export const ALERT_SCHEMAS = {
  AlertRuleInput,
  AlertRulePatch,
  AlertRule,
  AlertRulesResponse,
  AlertEventsResponse,
};

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (description: string, schema: Json): Json => ({
  description,
  content: { "application/json": { schema } },
});
const error = (description: string) => json(description, ref("ApiError"));
const TIME = {
  type: "string",
  description: "ISO 8601 with a zone, a date (UTC midnight) or unix seconds",
};
const ID = {
  name: "id",
  in: "path",
  required: true,
  description: "Rule id (`rule_` and 16 hex digits)",
  schema: { type: "string", pattern: "^rule_[0-9a-f]{16}$" },
};
const BEARER = [{ adminToken: [] }];
const WRITE_ERRORS = {
  400: error("Invalid rule; the message starts with the field's name"),
  401: error("Authorization: Bearer <ADMIN_TOKEN> missing or wrong"),
  403: error("ADMIN_TOKEN is not set on the server: writes are disabled"),
  503: error("No database configured, or it does not answer"),
};

/** `/api/alerts`, `/api/alerts/{id}`, `/api/alerts/events`. */
export function alertPaths(): Json {
  return {
    "/api/alerts": {
      get: {
        operationId: "listAlertRules",
        summary: "Every alert rule, oldest first (webhook secrets are never returned)",
        responses: { 200: json("The rules", ref("AlertRulesResponse")), 503: WRITE_ERRORS[503] },
      },
      post: {
        operationId: "createAlertRule",
        summary: "Create a rule (geofence, squawk, aircraft or anomaly)",
        security: BEARER,
        requestBody: {
          required: true,
          content: { "application/json": { schema: ref("AlertRuleInput") } },
        },
        responses: { 201: json("The rule with its id", ref("AlertRule")), ...WRITE_ERRORS },
      },
    },
    "/api/alerts/{id}": {
      get: {
        operationId: "getAlertRule",
        summary: "One rule",
        parameters: [ID],
        responses: { 200: json("The rule", ref("AlertRule")), 404: error("No such rule") },
      },
      patch: {
        operationId: "updateAlertRule",
        summary: "Change some fields (e.g. `muted`); the merged rule is validated again",
        security: BEARER,
        parameters: [ID],
        requestBody: {
          required: true,
          content: { "application/json": { schema: ref("AlertRulePatch") } },
        },
        responses: {
          200: json("The rule as changed", ref("AlertRule")),
          404: error("No such rule"),
          ...WRITE_ERRORS,
        },
      },
      delete: {
        operationId: "deleteAlertRule",
        summary: "Delete a rule (its events stay)",
        security: BEARER,
        parameters: [ID],
        responses: { 204: { description: "Deleted" }, 404: error("No such rule"), ...WRITE_ERRORS },
      },
    },
    "/api/alerts/events": {
      get: {
        operationId: "listAlertEvents",
        summary: "Alert events, newest first (`at` desc)",
        parameters: [
          { name: "rule_id", in: "query", schema: { type: "string" } },
          { name: "icao24", in: "query", schema: { type: "string", pattern: "^[0-9a-fA-F]{6}$" } },
          { name: "since", in: "query", description: "at or after", schema: TIME },
          { name: "until", in: "query", description: "before", schema: TIME },
          {
            name: "limit",
            in: "query",
            schema: {
              type: "integer",
              minimum: 1,
              maximum: MAX_EVENT_LIMIT,
              default: DEFAULT_EVENT_LIMIT,
            },
          },
        ],
        responses: {
          200: json("Events", ref("AlertEventsResponse")),
          400: error("A bad parameter"),
          503: WRITE_ERRORS[503],
        },
      },
    },
  };
}

/** The bearer scheme of the writes. */
export const ALERT_SECURITY_SCHEMES: Json = {
  adminToken: { type: "http", scheme: "bearer", description: "The server's ADMIN_TOKEN" },
};
