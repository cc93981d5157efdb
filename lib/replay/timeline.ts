/**
 * Places recordings on one replay timeline and merges them in time order.
 * Pure (async iterables in, async iterables out); deterministic: the same
 * inputs always give the same sequence, ties broken by source index.
 *
 * @module
 */
import type { Flight } from "../../contracts/flight.ts";
import type { RecordingItem } from "./recording.ts";

/**
 * One second of a derived fleet (lib/replay/derived.ts): flights already
 * built from recorded rows that were validated when the fleet was loaded,
 * so the producer publishes them as they are instead of turning them into
 * state vectors to validate again.
 */
export interface FlightsItem {
  kind: "flights";
  /** The second's number in the pass, from 1 (like a recording's line). */
  line: number;
  /** Recorded time of the second, unix s (the replay shifts it to now). */
  time: number;
  /** Fresh objects, the caller's to change (times shifted in place). */
  flights: Flight[];
}

/** An item of a recording placed on the replay timeline. */
export interface TimedItem {
  /** Index of the recording in the replay (ties in time play in this order). */
  source: number;
  /** Seconds after the start of the pass at which it plays. */
  at: number;
  /**
   * Seconds between this recording's snapshots (its first gap), for
   * `source.poll_interval_s`; 0 when it has a single snapshot.
   */
  intervalS: number;
  item: RecordingItem | FlightsItem;
}

/** Placement of one recording; see `ReplaySource` in scenario.ts. */
export interface Placement {
  source: number;
  offsetS: number;
  skipS: number;
  durationS: number | null;
}

/**
 * Moves a recording's snapshots onto the timeline: its first snapshot plus
 * `skipS` plays at `offsetS`, later ones keep their recorded spacing;
 * snapshots inside the skip or after `durationS` are left out. Bad lines
 * play where they sit; a recording whose clock steps backwards is held at
 * its latest time so that the merged order stays sorted.
 */
export async function* placeOnTimeline(
  items: AsyncIterable<RecordingItem>,
  placement: Placement,
): AsyncGenerator<TimedItem> {
  let firstTime: number | null = null;
  let previousTime: number | null = null;
  let intervalS: number | null = null;
  let at = placement.offsetS;
  let playing = placement.skipS === 0;
  // Items wait here until the recording's interval is known (its second snapshot).
  const held: { at: number; item: RecordingItem }[] = [];
  const out = (a: number, item: RecordingItem): TimedItem => ({
    source: placement.source,
    at: a,
    intervalS: intervalS ?? 0,
    item,
  });

  for await (const item of items) {
    if (item.kind === "snapshot") {
      const time = item.reply.time;
      firstTime ??= time;
      if (intervalS === null && previousTime !== null && time > previousTime) {
        intervalS = time - previousTime;
      }
      previousTime = time;
      const rel = time - firstTime - placement.skipS;
      if (rel < 0) continue;
      if (placement.durationS !== null && rel > placement.durationS) break;
      playing = true;
      at = Math.max(at, placement.offsetS + rel);
    } else if (!playing) {
      continue;
    }
    if (intervalS === null) {
      held.push({ at, item });
      continue;
    }
    for (const h of held.splice(0)) yield out(h.at, h.item);
    yield out(at, item);
  }
  for (const h of held.splice(0)) yield out(h.at, h.item);
}

/**
 * Merges timelines into one, ordered by `at`, then by `source`. Stopping
 * the merged iterator early stops (and so closes) every input.
 */
export async function* mergeTimelines(
  timelines: AsyncIterable<TimedItem>[],
): AsyncGenerator<TimedItem> {
  const iterators = timelines.map((t) => t[Symbol.asyncIterator]());
  const heads: (TimedItem | null)[] = await Promise.all(iterators.map(nextOrNull));
  try {
    while (true) {
      let best = -1;
      for (let i = 0; i < heads.length; i++) {
        const head = heads[i];
        if (!head) continue;
        const current = best === -1 ? null : heads[best]!;
        if (
          !current || head.at < current.at ||
          (head.at === current.at && head.source < current.source)
        ) {
          best = i;
        }
      }
      if (best === -1) return;
      yield heads[best]!;
      heads[best] = await nextOrNull(iterators[best]!);
    }
  } finally {
    await Promise.all(iterators.map((it) => it.return?.()));
  }
}

async function nextOrNull(iterator: AsyncIterator<TimedItem>): Promise<TimedItem | null> {
  const next = await iterator.next();
  return next.done ? null : next.value;
}
