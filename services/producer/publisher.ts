/**
 * Publishes snapshots: builds the envelopes of every valid row and the
 * dead-letter records of what failed validation (reason and raw text), and
 * sends them all in one `bus.send` per poll (or replay step). Shared by live,
 * record and replay.
 *
 * @module
 */
import type { OpenSkyReply } from "../../contracts/opensky.ts";
import type { Source } from "../../contracts/flight.ts";
import type { Bus, TopicMessages } from "../../lib/bus/types.ts";
import { buildDeadLetter } from "../../lib/bus/deadletter.ts";
import { buildPollMessages, type ProducerTopics } from "../../lib/opensky/envelope.ts";
import type { ProducerMetrics } from "./metrics.ts";
import type { Logger } from "../../lib/log.ts";

/** The `source` of dead-letter records written by the producer. */
export const DEADLETTER_SOURCE = "producer";

/** One snapshot to publish. */
export interface SnapshotInput {
  reply: OpenSkyReply;
  source: Source;
  /** Seconds added to the rows' times (replay); 0 for live. */
  shiftSeconds: number;
  /** Where it came from, for dead-letter reasons (`poll`, `EZY158T line 12`). */
  origin: string;
}

/** Input that is rejected as a whole (a reply that is not JSON, a bad recording line). */
export interface Rejection {
  reason: string;
  raw: string;
  /** The message key it would have had, if known. */
  key: string | null;
}

/** What one {@link Publisher.publish} call did. */
export interface PublishResult {
  /** Valid rows per snapshot, in input order. */
  flights: number[];
  /** Rows and inputs dead-lettered. */
  rejected: number;
}

/** Options for {@link Publisher}. */
export interface PublisherOptions {
  topics: ProducerTopics;
  metrics: ProducerMetrics;
  log: Logger;
  /** Clock, unix ms. */
  now: () => number;
}

export class Publisher {
  #bus: Bus;
  #topics: ProducerTopics;
  #metrics: ProducerMetrics;
  #log: Logger;
  #now: () => number;

  constructor(bus: Bus, options: PublisherOptions) {
    this.#bus = bus;
    this.#topics = options.topics;
    this.#metrics = options.metrics;
    this.#log = options.log;
    this.#now = options.now;
  }

  /**
   * Sends the flight messages of all `snapshots` and the dead-letter records
   * in one `bus.send`. Throws when the bus refuses (the caller logs and
   * carries on with the next poll).
   */
  async publish(
    snapshots: SnapshotInput[],
    rejections: Rejection[] = [],
  ): Promise<PublishResult> {
    const producedAt = new Date(this.#now()).toISOString();
    const state: TopicMessages = { topic: this.#topics.state, messages: [] };
    const updates: TopicMessages = { topic: this.#topics.updates, messages: [] };
    const flights: number[] = [];
    const bad: Rejection[] = [...rejections];
    for (const snapshot of snapshots) {
      const built = buildPollMessages(snapshot.reply, {
        source: snapshot.source,
        producedAt,
        shiftSeconds: snapshot.shiftSeconds,
        topics: this.#topics,
      });
      for (const part of built.batch) {
        const target = part.topic === this.#topics.state ? state : updates;
        for (const m of part.messages) target.messages.push(m);
      }
      flights.push(built.flights.length);
      for (const row of built.rejected) {
        bad.push({
          reason: `${snapshot.origin}, row ${row.index}: ${row.reason}`,
          raw: row.raw,
          key: row.icao24,
        });
      }
    }
    const batch: TopicMessages[] = [];
    if (state.messages.length > 0) batch.push(state, updates);
    if (bad.length > 0) batch.push(this.#deadLetters(bad, producedAt));
    if (batch.length === 0) return { flights, rejected: 0 };
    await this.#bus.send(batch);
    if (state.messages.length > 0) {
      this.#metrics.published.inc({ topic: state.topic }, state.messages.length);
      this.#metrics.published.inc({ topic: updates.topic }, updates.messages.length);
    }
    if (bad.length > 0) {
      this.#metrics.deadletter.inc(bad.length);
      this.#log.debug("dead-lettered input", { count: bad.length, first: bad[0]!.reason });
    }
    return { flights, rejected: bad.length };
  }

  /** Dead-letters inputs that came without any flight (a reply that is not JSON). */
  async deadLetter(rejections: Rejection[]): Promise<void> {
    await this.publish([], rejections);
  }

  #deadLetters(rejections: Rejection[], at: string): TopicMessages {
    return {
      topic: this.#topics.deadletter,
      // Keyed by the rejecting component, the dead-letter topic's key (as lib/bus/deadletter.ts does).
      messages: rejections.map((r) => {
        const record = buildDeadLetter({
          source: DEADLETTER_SOURCE,
          topic: null, // the input came from OpenSky or a file, not from a topic
          key: r.key,
          reason: r.reason,
          raw: r.raw,
          at: new Date(at),
        });
        return { key: record.source, value: JSON.stringify(record) };
      }),
    };
  }
}
