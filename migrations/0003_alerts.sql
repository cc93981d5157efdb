-- Alerts (issue #13): rules managed through /api/alerts, events fired by the
-- worker. Times are timestamptz (UTC), distances metres.

-- One row per rule. `rule` holds the rule object's fields (contracts/alerts.ts
-- AlertRule without id, times, and the secret); the secret stays in its own
-- column so that listing rules never selects it by accident.
CREATE TABLE alert_rules (
  id text PRIMARY KEY,
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('geofence', 'squawk', 'aircraft', 'anomaly')),
  rule jsonb NOT NULL,
  webhook_secret text,
  muted boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Every change sets it: the worker reloads when count or max(updated_at) moves.
  updated_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX alert_rules_updated_idx ON alert_rules (updated_at);

-- Alert events; the id is deterministic, so a redelivered batch writes nothing twice.
-- rule_id is not a foreign key: events outlive the rules that fired them.
CREATE TABLE alert_events (
  id text PRIMARY KEY,
  rule_id text NOT NULL,
  rule_name text NOT NULL,
  kind text NOT NULL,
  icao24 text NOT NULL,
  callsign text,
  at timestamptz NOT NULL,
  lat double precision NOT NULL,
  lon double precision NOT NULL,
  altitude_m double precision,
  detail jsonb NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_events_at_idx ON alert_events (at DESC, id DESC);
CREATE INDEX alert_events_rule_idx ON alert_events (rule_id, at DESC);
CREATE INDEX alert_events_icao24_idx ON alert_events (icao24, at DESC);
