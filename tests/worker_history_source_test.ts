/**
 * The worker's warm-up reads (services/worker/history_source.ts) on PostgreSQL: the tracks
 * it rebuilds aircraft from are the same whether or not it skips reading tracks that have
 * ended (every row's time and contact, and the current row's contact, more than
 * `staleAfterS` before the update: a server-side aggregate says so), and it does skip them.
 *
 * Input: the real Switzerland 30-minute recording (97 aircraft, 10 s), plus
 * `switzerland_30min_contact_backwards_derived`: one real aircraft's track under another
 * address with an early row's `last_contact` moved past the last row's (contact going
 * backwards, which only the aggregate over the rows sees), and the same track under a third
 * address with its last position repeated later (the repeat's contact is only in
 * `flights_current`).
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Flight } from "../contracts/flight.ts";
import { createHistorySource } from "../services/worker/history_source.ts";
import type { TrackRequest } from "../services/worker/processor.ts";
import { BatchWriter } from "../services/worker/writer.ts";
import { freshPostgres } from "./_db.ts";
import { recordedFlights } from "./_recordings.ts";
import { skipWithoutPostgres } from "./_services.ts";

const STALE_S = 1200;
const MAX_S = 6 * 3600;

Deno.test({
  name: "worker history source/postgres: skipping ended tracks rebuilds the same tracks",
  ignore: skipWithoutPostgres(),
  async fn() {
    const real = await recordedFlights("states_switzerland_2018-08-01T1130Z_30min_10s.jsonl");
    const byAircraft = Map.groupBy(real, (f) => f.icao24);
    const [donor, track] = [...byAircraft].sort((a, b) => b[1].length - a[1].length)[0]!;
    const address = ((parseInt(donor[0]!, 16) + 1) % 16).toString(16) + donor.slice(1);
    const last = track[track.length - 1]!;
    const derived: Flight[] = track.map((f, i) => ({
      ...f,
      icao24: address,
      last_contact_unix: i === 1 ? last.last_contact_unix + 600 : f.last_contact_unix,
    }));
    // And one whose last position is repeated with a later contact (history keeps the first
    // row of a repeat; flights_current the repeat, which currentTrack adds last).
    const address2 = ((parseInt(donor[0]!, 16) + 2) % 16).toString(16) + donor.slice(1);
    const repeatedTrack = track.map((f) => ({ ...f, icao24: address2 }));
    const repeat = { ...repeatedTrack.at(-1)!, last_contact_unix: last.last_contact_unix + 300 };
    for (const a of [address, address2]) assert.ok(!byAircraft.has(a), `${a} is not recorded`);
    const flights = [...real, ...derived, ...repeatedTrack];
    const db = await freshPostgres({ migrate: true });
    try {
      await new BatchWriter(db.sql, { stage: "copy" }).write({
        history: flights.map((flight) => ({ flight, smoothed: null, sessionId: null })),
        sessions: [],
        anomalies: [],
      });
      await new BatchWriter(db.sql, { stage: "copy" }).write({
        history: [{ flight: repeat, smoothed: null, sessionId: null }],
        sessions: [],
        anomalies: [],
      });
      const aircraft = Map.groupBy(flights, (f) => f.icao24);
      // Per aircraft: its last time, its last row's contact, the largest contact of its rows.
      const variants: [string, (fs: Flight[]) => number][] = [
        ["live (5 s after its last row)", (fs) => fs.at(-1)!.time_position_unix + 5],
        ["in the middle of its track", (fs) => fs[Math.floor(fs.length / 2)]!.time_position_unix],
        ["just past the silence after its last row", (fs) => at(fs, "t") + STALE_S + 0.5],
        ["just before its last contact's silence", (fs) => at(fs, "last") + STALE_S - 0.5],
        ["just past its last contact's silence", (fs) => at(fs, "last") + STALE_S + 0.5],
        ["just before its largest contact's silence", (fs) => at(fs, "max") + STALE_S - 0.5],
        ["just past its largest contact's silence", (fs) => at(fs, "max") + STALE_S + 0.5],
        ["an hour later", (fs) => at(fs, "t") + 3600],
        ["beyond the window", (fs) => at(fs, "t") + MAX_S + 60],
      ];
      let fastRows = 0;
      let referenceRows = 0;
      let nonEmpty = 0;
      const fast = createHistorySource(db.sql, { onRowsRead: (n) => fastRows += n });
      const reference = createHistorySource(db.sql, {
        readEndedTracks: true,
        onRowsRead: (n) => referenceRows += n,
      });
      for (const [label, before] of variants) {
        for (const trailingGap of [true, false]) {
          const requests: TrackRequest[] = [...aircraft].map(([icao24, fs]) => ({
            icao24,
            beforeUnix: before(fs),
            trailingGap,
          }));
          const options = { staleAfterS: STALE_S, maxS: MAX_S, newest: new Map() };
          const referenceOptions = { ...options, newest: new Map() };
          const [fastBefore, referenceBefore] = [fastRows, referenceRows];
          const got = await fast.tracks(requests, options);
          const expected = await reference.tracks(requests, referenceOptions);
          if (label === "an hour later" && trailingGap) {
            // Every track has ended: none is read, where the reference reads them all.
            assert.equal(fastRows - fastBefore, 0, "rows read for ended tracks");
            assert.ok(
              referenceRows - referenceBefore > 5_000,
              `the reference read ${referenceRows - referenceBefore}`,
            );
          }
          assert.deepEqual(sorted(got), sorted(expected), `${label}, trailingGap ${trailingGap}`);
          assert.deepEqual(sorted(options.newest), sorted(referenceOptions.newest));
          nonEmpty += got.size;
        }
      }
      // At one time for both: only the backwards contact keeps the derived aircraft's track
      // alive; the donor's (the same rows, contacts in order) has ended, and is not read.
      const before = at(derived, "max") + STALE_S - 0.5;
      const pair = [donor, address].map((icao24) => ({
        icao24,
        beforeUnix: before,
        trailingGap: true,
      }));
      const readBefore = fastRows;
      const both = await fast.tracks(pair, { staleAfterS: STALE_S, maxS: MAX_S });
      // Its whole track (and the current row after it, which the engine takes as a repeat).
      assert.deepEqual(
        both.get(address)?.slice(0, derived.length).map((f) => f.time_position_unix),
        derived.map((f) => f.time_position_unix),
        "the derived aircraft's track is rebuilt",
      );
      assert.ok(!both.has(donor), "the donor's track has ended");
      assert.equal(fastRows - readBefore, derived.length, "only the derived aircraft's rows read");
      assert.deepEqual(
        sorted(both),
        sorted(await reference.tracks(pair, { staleAfterS: STALE_S, maxS: MAX_S })),
      );
      // Only the repeat's contact (in flights_current, not in the history) keeps this one alive.
      const repeated = await fast.tracks([{
        icao24: address2,
        beforeUnix: repeat.last_contact_unix + STALE_S - 0.5,
        trailingGap: true,
      }], { staleAfterS: STALE_S, maxS: MAX_S });
      assert.equal(repeated.get(address2)?.length, track.length + 1, "the repeated one's track");
      assert.equal(repeated.get(address2)?.at(-1)?.last_contact_unix, repeat.last_contact_unix);
      assert.ok(nonEmpty > 500, `${nonEmpty} tracks rebuilt`);
    } finally {
      await db.close();
    }
  },
});

/** An aircraft's last time (`t`), its last row's contact, or the largest contact of its rows. */
function at(flights: Flight[], what: "t" | "last" | "max"): number {
  const last = flights[flights.length - 1]!;
  if (what === "t") return last.time_position_unix;
  if (what === "last") return Math.max(last.last_contact_unix, last.time_position_unix);
  return Math.max(...flights.map((f) => Math.max(f.last_contact_unix, f.time_position_unix)));
}

const sorted = <V>(map: Map<string, V>) => [...map].sort(([a], [b]) => a < b ? -1 : 1);
