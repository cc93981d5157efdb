-- History at world rate and over months (issue #11).
--
-- 1. flights_history stops storing the whole flight as jsonb per row: the
--    fields that were only in `state` get narrow columns of their own, from
--    which the flight object is rebuilt exactly (lib/db/history_rows.ts).
--    That roughly halves a row on disk and saves the server a jsonb parse per
--    row on the write path.
-- 2. The btree on ts becomes a BRIN index: rows arrive in time order, so the
--    time-travel scan of a window finds them through a few block ranges, and
--    the index costs bytes per partition instead of bytes per row.
-- 3. A sampled tier, flights_history_sampled: one point per aircraft per
--    5 minutes plus every point where a take-off, landing or anomaly
--    happened, partitioned by month and kept HISTORY_SAMPLED_RETENTION_DAYS
--    (the fine tier keeps HISTORY_RETENTION_DAYS). The worker writes both in
--    one transaction; services/worker/retention.ts drops expired partitions.

ALTER TABLE flights_history
  -- Ordered for alignment: 8-byte values first, then 2-byte, then 1-byte and text.
  ADD COLUMN geo_altitude_m double precision,
  -- last_contact_unix of the flight object.
  ADD COLUMN last_contact timestamptz,
  ADD COLUMN position_source smallint NOT NULL DEFAULT 0,
  ADD COLUMN category smallint NOT NULL DEFAULT 0,
  ADD COLUMN spi boolean NOT NULL DEFAULT false,
  ADD COLUMN origin_country text,
  -- Where the position came from (`opensky`, `replay`, `sbs`, ...), when the flight said.
  ADD COLUMN source text;

UPDATE flights_history SET
  geo_altitude_m = (state->>'geo_altitude_m')::double precision,
  last_contact = to_timestamp((state->>'last_contact_unix')::double precision),
  position_source = COALESCE((state->>'position_source')::smallint, 0),
  category = COALESCE((state->>'category')::smallint, 0),
  spi = COALESCE((state->>'spi')::boolean, false),
  origin_country = state->>'origin_country',
  source = state->>'source';

UPDATE flights_history SET last_contact = ts WHERE last_contact IS NULL;
ALTER TABLE flights_history ALTER COLUMN last_contact SET NOT NULL;
ALTER TABLE flights_history DROP COLUMN state;

DROP INDEX flights_history_ts_idx;
CREATE INDEX flights_history_ts_brin ON flights_history USING brin (ts);

-- The sampled tier: the same columns plus why the point was kept.
CREATE TABLE flights_history_sampled (
  icao24 text NOT NULL,
  ts timestamptz NOT NULL,
  callsign text,
  session_id text,
  on_ground boolean NOT NULL,
  squawk text,
  raw_lat double precision NOT NULL,
  raw_lon double precision NOT NULL,
  raw_altitude_m double precision,
  raw_velocity_mps double precision,
  raw_heading_deg double precision,
  raw_vertical_rate_mps double precision,
  lat double precision NOT NULL,
  lon double precision NOT NULL,
  altitude_m double precision,
  velocity_mps double precision,
  heading_deg double precision,
  vertical_rate_mps double precision,
  geo_altitude_m double precision,
  last_contact timestamptz NOT NULL,
  position_source smallint NOT NULL DEFAULT 0,
  category smallint NOT NULL DEFAULT 0,
  spi boolean NOT NULL DEFAULT false,
  origin_country text,
  source text,
  -- `periodic` (the first point of its aircraft in a 5-minute bucket) or the
  -- kind of the event that happened there (`takeoff`, `landing`, `go_around`, ...).
  sample text NOT NULL,
  UNIQUE (icao24, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX flights_history_sampled_ts_brin ON flights_history_sampled USING brin (ts);

-- The month partition of flights_history_sampled holding `day`. Same rules as
-- flights_history_ensure_partition: call it in a statement of its own.
CREATE FUNCTION flights_history_sampled_ensure_partition(day date) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  first date := date_trunc('month', day)::date;
  part text := 'flights_history_sampled_' || to_char(day, 'YYYYMM');
BEGIN
  IF to_regclass(part) IS NULL THEN
    PERFORM pg_advisory_xact_lock(hashtext(part));
    EXECUTE format(
      'CREATE TABLE IF NOT EXISTS %I PARTITION OF flights_history_sampled FOR VALUES FROM (%L) TO (%L)',
      part, to_char(first, 'YYYY-MM-DD') || ' 00:00:00+00',
      to_char((first + interval '1 month')::date, 'YYYY-MM-DD') || ' 00:00:00+00');
  END IF;
  RETURN part;
END $$;

-- Backfill the sampled tier from what the fine tier holds (the periodic points only:
-- events are added by the worker from now on).
DO $$
DECLARE
  m date;
BEGIN
  FOR m IN SELECT DISTINCT date_trunc('month', ts AT TIME ZONE 'UTC')::date FROM flights_history LOOP
    PERFORM flights_history_sampled_ensure_partition(m);
  END LOOP;
END $$;
INSERT INTO flights_history_sampled
SELECT DISTINCT ON (icao24, floor(extract(epoch FROM ts) / 300))
  icao24, ts, callsign, session_id, on_ground, squawk,
  raw_lat, raw_lon, raw_altitude_m, raw_velocity_mps, raw_heading_deg, raw_vertical_rate_mps,
  lat, lon, altitude_m, velocity_mps, heading_deg, vertical_rate_mps,
  geo_altitude_m, last_contact, position_source, category, spi, origin_country, source,
  'periodic'
FROM flights_history
ORDER BY icao24, floor(extract(epoch FROM ts) / 300), ts;

-- Sessions and anomalies are kept as long as the sampled tier: retention deletes
-- by these columns.
CREATE INDEX flights_last_seen_idx ON flights (last_seen);
