/**
 * Alert rules (`/api/alerts`) and alert events (`flights.alerts`,
 * `/api/alerts/events`, WebSocket `alert`, webhooks). Scripts rely on these
 * field names (issue #13): keep them stable.
 *
 * @module
 */
import { z } from "zod";
import { ANOMALY_KINDS, Severity } from "./anomaly.ts";
import { Icao24, IsoTime } from "./common.ts";

export const ALERT_KINDS = ["geofence", "squawk", "aircraft", "anomaly"] as const;
export const AlertKind = z.enum(ALERT_KINDS);
export type AlertKind = z.infer<typeof AlertKind>;

/** What a geofence rule fires on. */
export const GEOFENCE_TRIGGERS = ["enter", "leave"] as const;
/** What an aircraft rule fires on. */
export const AIRCRAFT_TRIGGERS = ["seen", "takeoff", "landing"] as const;
export const AlertTrigger = z.enum([...GEOFENCE_TRIGGERS, ...AIRCRAFT_TRIGGERS]);
export type AlertTrigger = z.infer<typeof AlertTrigger>;

/** `[lat, lon]` in degrees (the order the rule object uses). */
export const LatLonPair = z.tuple([z.number().min(-90).max(90), z.number().min(-180).max(180)]);

/** A circle: centre `[lat, lon]` (degrees) and radius (metres, 10 m .. 5,000 km). */
export const CircleGeofence = z.object({
  center: LatLonPair,
  radius_m: z.number().min(10).max(5_000_000),
}).strict();
/**
 * A polygon: `[[lat, lon], ...]` (degrees), at least 3 corners, closed
 * implicitly; edges are straight in latitude/longitude (fine for areas up to
 * a few hundred km; split larger areas). Must not cross the antimeridian.
 */
export const PolygonGeofence = z.object({
  polygon: z.array(LatLonPair).min(3).max(1000),
}).strict();
export const Geofence = z.union([CircleGeofence, PolygonGeofence]);
export type Geofence = z.infer<typeof Geofence>;

const SquawkCode = z.string().regex(/^[0-7]{4}$/, "squawk must be 4 octal digits");
const CallsignPrefix = z.string().regex(/^[A-Za-z0-9]{1,8}$/, "1-8 letters or digits")
  .transform((s) => s.toUpperCase());
const HttpUrl = z.string().url().max(2048).refine(
  (u) => /^https?:\/\//i.test(u),
  "must be an http:// or https:// URL",
);

/** Default cooldown per rule and aircraft, s. */
export const DEFAULT_COOLDOWN_S = 300;

/** The writable fields of a rule, before the per-kind checks. */
const RuleFields = z.object({
  /** Human name, shown in toasts and notifications. */
  name: z.string().trim().min(1).max(120),
  kind: AlertKind,
  /** Area: required for `geofence`, optional for the other kinds (then only inside it). */
  geofence: Geofence.nullable().optional(),
  /** Altitude band, metres (barometric, else geometric); either bound optional. */
  min_altitude_m: z.number().finite().nullable().optional(),
  max_altitude_m: z.number().finite().nullable().optional(),
  /** `geofence`: subset of `enter`, `leave` (default enter); `aircraft`: of `seen`, `takeoff`, `landing` (default seen). */
  on: z.array(AlertTrigger).min(1).max(3).optional(),
  /** `squawk`: transponder codes, 4 octal digits. */
  squawks: z.array(SquawkCode).min(1).max(64).nullable().optional(),
  /** `aircraft`: one 24-bit address. */
  icao24: z.string().transform((s) => s.toLowerCase()).pipe(Icao24).nullable().optional(),
  /** `aircraft`: callsign or callsign prefix (case-insensitive). */
  callsign_prefix: CallsignPrefix.nullable().optional(),
  /** `anomaly`: kinds to fire on (default all but the session events). */
  anomaly_kinds: z.array(z.enum(ANOMALY_KINDS)).min(1).nullable().optional(),
  /** `anomaly`: lowest severity that fires (default warning). */
  min_severity: Severity.nullable().optional(),
  /** Seconds after a firing during which the same rule and aircraft stay quiet (data time). */
  cooldown_s: z.number().int().min(0).max(7 * 86_400).optional(),
  /** POSTed the event as JSON, signed with `webhook_secret`. */
  webhook_url: HttpUrl.nullable().optional(),
  /** HMAC-SHA256 key of `X-SkySentinel-Signature`; never returned by the API. */
  webhook_secret: z.string().min(1).max(256).nullable().optional(),
  /** An ntfy topic URL (`https://ntfy.sh/mytopic`): POSTed title, message and click URL. */
  ntfy_url: HttpUrl.nullable().optional(),
  /** A muted rule is kept but not evaluated. */
  muted: z.boolean().optional(),
});

type Fields = z.infer<typeof RuleFields>;

/** Per-kind requirements; `ctx.addIssue` paths name the field. */
function checkKind(rule: Partial<Fields>, ctx: z.RefinementCtx): void {
  const issue = (path: string, message: string) =>
    ctx.addIssue({ code: "custom", path: [path], message });
  const min = rule.min_altitude_m;
  const max = rule.max_altitude_m;
  if (min != null && max != null && min > max) {
    issue("min_altitude_m", "must not exceed max_altitude_m");
  }
  const on = rule.on ?? [];
  switch (rule.kind) {
    case "geofence":
      if (!rule.geofence) issue("geofence", "a geofence rule needs a geofence");
      if (on.some((t) => !(GEOFENCE_TRIGGERS as readonly string[]).includes(t))) {
        issue("on", "a geofence rule fires on enter and/or leave");
      }
      break;
    case "squawk":
      if (!rule.squawks?.length) issue("squawks", "a squawk rule needs squawks");
      break;
    case "aircraft":
      if (!rule.icao24 && !rule.callsign_prefix) {
        issue("icao24", "an aircraft rule needs icao24 or callsign_prefix");
      }
      if (on.some((t) => !(AIRCRAFT_TRIGGERS as readonly string[]).includes(t))) {
        issue("on", "an aircraft rule fires on seen, takeoff and/or landing");
      }
      break;
    case "anomaly":
      break;
  }
  if (rule.webhook_url && !rule.webhook_secret) {
    issue("webhook_secret", "a webhook_url needs a webhook_secret to sign with");
  }
}

/** The body of `POST /api/alerts`. */
export const AlertRuleInput = RuleFields.strict().superRefine(checkKind);
export type AlertRuleInput = z.input<typeof AlertRuleInput>;

/** The body of `PATCH /api/alerts?id=`: any writable field; the merged rule is checked again. */
export const AlertRulePatch = RuleFields.partial().strict();
export type AlertRulePatch = z.infer<typeof AlertRulePatch>;

/** A stored rule, as the API returns it (without `webhook_secret`) and the evaluator uses it. */
export const AlertRule = z.object({
  /** Server-assigned id (`rule_` and 16 hex digits). */
  id: z.string().min(1).max(64),
  name: z.string(),
  kind: AlertKind,
  geofence: Geofence.nullable(),
  min_altitude_m: z.number().nullable(),
  max_altitude_m: z.number().nullable(),
  on: z.array(AlertTrigger),
  squawks: z.array(z.string()).nullable(),
  icao24: z.string().nullable(),
  callsign_prefix: z.string().nullable(),
  anomaly_kinds: z.array(z.enum(ANOMALY_KINDS)).nullable(),
  min_severity: Severity.nullable(),
  cooldown_s: z.number().int(),
  webhook_url: z.string().nullable(),
  /** True when a secret is set (the secret itself is never sent). */
  webhook_secret_set: z.boolean(),
  ntfy_url: z.string().nullable(),
  muted: z.boolean(),
  /** Creation and last change, ISO 8601 UTC. */
  created_at: IsoTime,
  updated_at: IsoTime,
});
export type AlertRule = z.infer<typeof AlertRule>;

/** Fills the defaults of a validated input into the stored shape (without id and times). */
export function normalizeRule(
  input: z.output<typeof AlertRuleInput>,
): Omit<AlertRule, "id" | "created_at" | "updated_at" | "webhook_secret_set"> & {
  webhook_secret: string | null;
} {
  return {
    name: input.name,
    kind: input.kind,
    geofence: input.geofence ?? null,
    min_altitude_m: input.min_altitude_m ?? null,
    max_altitude_m: input.max_altitude_m ?? null,
    on: input.on ??
      (input.kind === "geofence" ? ["enter"] : input.kind === "aircraft" ? ["seen"] : []),
    squawks: input.squawks ?? null,
    icao24: input.icao24 ?? null,
    callsign_prefix: input.callsign_prefix ?? null,
    anomaly_kinds: input.anomaly_kinds ?? null,
    min_severity: input.min_severity ?? null,
    cooldown_s: input.cooldown_s ?? DEFAULT_COOLDOWN_S,
    webhook_url: input.webhook_url ?? null,
    webhook_secret: input.webhook_secret ?? null,
    ntfy_url: input.ntfy_url ?? null,
    muted: input.muted ?? false,
  };
}

/** An alert: one rule fired for one aircraft. */
export const AlertEvent = z.object({
  /** Deterministic: a hash of rule id, icao24, trigger and time (or anomaly id). */
  id: z.string().min(8).max(64),
  rule_id: z.string(),
  rule_name: z.string(),
  /** The rule's kind. */
  kind: AlertKind,
  icao24: Icao24,
  callsign: z.string().max(8).nullable(),
  /** Data time of the update (or anomaly start) that fired it, ISO 8601 UTC. */
  at: IsoTime,
  /** Where the aircraft was, degrees and metres (barometric altitude, else geometric). */
  position: z.object({
    lat: z.number().min(-90).max(90),
    lon: z.number().min(-180).max(180),
    altitude_m: z.number().finite().nullable(),
  }),
  /**
   * Why it fired: `trigger` (`enter`, `leave`, `seen`, `takeoff`, `landing`,
   * `squawk` or `anomaly`) and kind-specific values with units in their
   * names (`squawk`, `anomaly_id`, `anomaly_kind`, `severity`, `distance_m`).
   */
  detail: z.record(z.string(), z.unknown()),
});
export type AlertEvent = z.infer<typeof AlertEvent>;

/** `GET /api/alerts`. */
export const AlertRulesResponse = z.object({ rules: z.array(AlertRule) });
/** `GET /api/alerts/events`: newest first. */
export const AlertEventsResponse = z.object({ events: z.array(AlertEvent) });
