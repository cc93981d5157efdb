-- Alerts (issue #13), for restarts: the evaluator's state per aircraft and an
-- outbox flag on alert events. Times are unix seconds (data time) where noted.

-- What a restarted or rebalanced worker needs so that an aircraft already
-- inside a geofence does not enter again and cooldowns hold: one row per
-- aircraft with state, written in the transaction that stores the batch's
-- alert events, before the batch's offsets are committed.
CREATE TABLE alert_state (
  icao24 text PRIMARY KEY,
  -- Data time of the last update evaluated, unix s (refreshed at least every 60 s of data
  -- time while the state is not empty).
  last_t double precision NOT NULL,
  -- {"active": [rule key], "fired": {rule key: unix s}, "anomalies": ["rule key|anomaly id"]};
  -- a rule key is "id@updated_at" (lib/alerts/evaluator.ts AircraftAlertState).
  state jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_state_last_t_idx ON alert_state (last_t);

-- Outbox: NULL until the event is on flights.alerts. A worker publishes what
-- is left unpublished (a crash between the database commit and the send) when
-- it starts. Events stored before this migration count as published.
ALTER TABLE alert_events ADD COLUMN published_at timestamptz DEFAULT now();
ALTER TABLE alert_events ALTER COLUMN published_at DROP DEFAULT;
CREATE INDEX alert_events_unpublished_idx ON alert_events (stored_at) WHERE published_at IS NULL;
