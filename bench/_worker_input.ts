/**
 * The input of bench/worker_e2e.ts (private to it): `switzerland_day_copies_for_load`,
 * derived from the real Switzerland full-day recording (842 aircraft at 10 s). Each poll is
 * repeated for copies of the fleet under other icao24 addresses (the first hex digit
 * replaced), enough copies for the messages asked for; positions, times and everything else
 * are the recording's.
 *
 * @module
 */
import type { OpenSkyReply } from "../contracts/opensky.ts";
import { buildPollMessages } from "../lib/opensky/envelope.ts";
import { readRecording } from "../lib/replay/recording.ts";

const RECORDING = "fixtures/states_switzerland_2018-08-01_fullday_10s.jsonl.gz";

/** The recording's polls, oldest first. */
export async function polls(): Promise<OpenSkyReply[]> {
  const out: OpenSkyReply[] = [];
  const file = await Deno.open(RECORDING);
  for await (const item of readRecording(file.readable, { gzip: true })) {
    if (item.kind === "snapshot") out.push(item.reply);
  }
  return out;
}

/** Copy `k` of an aircraft: its address with the first hex digit replaced. */
export function copyAddress(icao24: string, k: number): string {
  if (k === 0) return icao24;
  const digit = (parseInt(icao24[0]!, 16) + k) % 16;
  return digit.toString(16) + icao24.slice(1);
}

/** Copies of the fleet needed for `count` messages (at most 16; more passes beyond). */
export function copiesFor(replies: readonly OpenSkyReply[], count: number): number {
  const perPass = replies.reduce((n, r) => n + (r.states?.length ?? 0), 0);
  return Math.min(16, Math.max(1, Math.ceil(count / perPass)));
}

/** A poll of pass `pass` with `copies` copies of each aircraft (each copy's rows in a run). */
export function shiftedReply(reply: OpenSkyReply, pass: number, copies: number): OpenSkyReply {
  return {
    // A pass beyond 16 copies replays the day again one day later.
    time: reply.time + pass * 86_400,
    states: (reply.states ?? []).flatMap((s) =>
      Array.from({ length: copies }, (_, k) => {
        const row = [...(s as unknown[])];
        row[0] = copyAddress(String(row[0]), k);
        for (const i of [3, 4]) if (typeof row[i] === "number") row[i] += pass * 86_400;
        return row;
      })
    ) as OpenSkyReply["states"],
  };
}

/** The derived input: `count` flight_update envelopes in time order (and their flights). */
export function* derived(replies: readonly OpenSkyReply[], count: number) {
  const copies = copiesFor(replies, count);
  let made = 0;
  for (let pass = 0; made < count; pass++) {
    for (const reply of replies) {
      const shifted = shiftedReply(reply, pass, copies);
      const built = buildPollMessages(shifted, {
        source: { provider: "opensky", mode: "replay", bbox: null, poll_interval_s: 10 },
        producedAt: new Date(shifted.time * 1000).toISOString(),
        topics: { state: "unused", updates: "updates" },
      });
      const messages = built.batch.find((t) => t.topic === "updates")?.messages ?? [];
      for (let i = 0; i < messages.length && made < count; i++, made++) {
        yield { message: messages[i]!, flight: built.flights[i]! };
      }
    }
  }
}
