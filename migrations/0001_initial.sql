-- SkySentinel initial schema. Times are timestamptz (UTC), distances metres,
-- speeds m/s, angles degrees.

-- One row per aircraft: its latest state, upserted by the worker.
CREATE TABLE flights_current (
  icao24 text PRIMARY KEY,
  callsign text,
  lat double precision NOT NULL,
  lon double precision NOT NULL,
  altitude_m double precision,
  on_ground boolean NOT NULL,
  -- The flight object (contracts/flight.ts) as last received.
  state jsonb NOT NULL,
  -- time_position of that state.
  ts timestamptz NOT NULL,
  session_id text,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX flights_current_ts_idx ON flights_current (ts);

-- Raw and smoothed positions. Partitioned by day so that retention drops
-- whole partitions; flights_history_ensure_partition() creates them.
CREATE TABLE flights_history (
  icao24 text NOT NULL,
  ts timestamptz NOT NULL,
  callsign text,
  session_id text,
  on_ground boolean NOT NULL,
  squawk text,
  -- As received.
  raw_lat double precision NOT NULL,
  raw_lon double precision NOT NULL,
  raw_altitude_m double precision,
  raw_velocity_mps double precision,
  raw_heading_deg double precision,
  raw_vertical_rate_mps double precision,
  -- Kalman-smoothed.
  lat double precision NOT NULL,
  lon double precision NOT NULL,
  altitude_m double precision,
  velocity_mps double precision,
  heading_deg double precision,
  vertical_rate_mps double precision,
  -- The full flight object as received, so time travel returns the same objects as live.
  state jsonb NOT NULL,
  UNIQUE (icao24, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX flights_history_ts_idx ON flights_history (ts);

-- Call it in its own statement, before the transaction that inserts: creating
-- a partition locks flights_history exclusively, which deadlocks with another
-- writer's open transaction that has inserted rows already.
CREATE FUNCTION flights_history_ensure_partition(day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  part text := 'flights_history_' || to_char(day, 'YYYYMMDD');
BEGIN
  IF to_regclass(part) IS NULL THEN
    -- Writers that meet a new day together queue here; the later ones then
    -- find the table (IF NOT EXISTS) instead of failing on a duplicate name.
    PERFORM pg_advisory_xact_lock(hashtext(part));
    -- to_char, not day::text: the bounds must not depend on the session's DateStyle.
    EXECUTE format(
      'CREATE TABLE IF NOT EXISTS %I PARTITION OF flights_history FOR VALUES FROM (%L) TO (%L)',
      part, to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00',
      to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00');
  END IF;
  RETURN part;
END $$;

-- Flight sessions: a new one after 20 min without contact, or after a
-- landing followed by a take-off.
CREATE TABLE flights (
  id text PRIMARY KEY,
  icao24 text NOT NULL,
  callsign text,
  first_seen timestamptz NOT NULL,
  last_seen timestamptz NOT NULL,
  ended_at timestamptz,
  -- 'timeout' (no contact for 20 min) or 'landing'.
  end_reason text
);
CREATE INDEX flights_icao24_idx ON flights (icao24, first_seen DESC);
CREATE INDEX flights_open_idx ON flights (last_seen) WHERE ended_at IS NULL;

-- Anomaly events (contracts/anomaly.ts), idempotent on their deterministic id.
CREATE TABLE anomalies (
  id text PRIMARY KEY,
  kind text NOT NULL,
  severity text NOT NULL,
  icao24 text NOT NULL,
  callsign text,
  started_at timestamptz NOT NULL,
  ended_at timestamptz,
  lat double precision NOT NULL,
  lon double precision NOT NULL,
  altitude_m double precision,
  evidence jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX anomalies_started_idx ON anomalies (started_at DESC, id DESC);
CREATE INDEX anomalies_kind_idx ON anomalies (kind, started_at DESC);
CREATE INDEX anomalies_icao24_idx ON anomalies (icao24, started_at DESC);
