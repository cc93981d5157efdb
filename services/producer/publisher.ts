/**
 * Publishes snapshots: builds the envelopes of every valid row and the
 * dead-letter records of what failed validation (bounded: see
 * lib/bus/deadletter.ts), and hands them to the {@link Outbox}: one send per
 * poll (or replay step) for the flights, dead letters in sends that fit the
 * broker's limit. What the broker does not take is held and sent later, in
 * order. Shared by live, record and replay.
 *
 * @module
 */
import type { OpenSkyReply } from "../../contracts/opensky.ts";
import { Flight, type Source } from "../../contracts/flight.ts";
import type { Bus, OutgoingMessage, TopicMessages } from "../../lib/bus/types.ts";
import { buildDeadLetter, deadLetterChunks } from "../../lib/bus/deadletter.ts";
import {
  buildFlightMessages,
  buildPollMessages,
  type ProducerTopics,
} from "../../lib/opensky/envelope.ts";
import type { ProducerMetrics } from "./metrics.ts";
import type { Logger } from "../../lib/log.ts";
import { Outbox, type WhenFull } from "./outbox.ts";

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
  /** Messages held (this call's and older ones) because the broker did not take them yet. */
  held: number;
}

/** Options for one {@link Publisher.publish} call. */
export interface PublishOptions {
  /**
   * Where the valid flights go instead of the bus: the receivers' merger, when receivers run
   * beside the OpenSky poller (it publishes them with the receivers' flights, one per
   * aircraft). Dead letters are still sent.
   */
  intake?: (flights: Flight[]) => void;
}

/** Options for {@link Publisher}. */
export interface PublisherOptions {
  topics: ProducerTopics;
  metrics: ProducerMetrics;
  log: Logger;
  /** Clock, unix ms. */
  now: () => number;
  /** Most messages held while the broker is away (PRODUCER_HOLD_MAX_MESSAGES). Default 200,000. */
  holdMaxMessages?: number;
  /** Past that bound: live drops the oldest, replay waits. Default `drop_oldest`. */
  whenFull?: WhenFull;
  /** Time between tries while the broker refuses, ms. Default 1,000. */
  retryMs?: number;
}

export class Publisher {
  #topics: ProducerTopics;
  #metrics: ProducerMetrics;
  #log: Logger;
  #now: () => number;
  #outbox: Outbox;

  constructor(bus: Bus, options: PublisherOptions) {
    this.#outbox = new Outbox(bus, {
      metrics: options.metrics,
      log: options.log,
      maxMessages: options.holdMaxMessages,
      whenFull: options.whenFull,
      retryMs: options.retryMs,
    });
    this.#topics = options.topics;
    this.#metrics = options.metrics;
    this.#log = options.log;
    this.#now = options.now;
  }

  /** Messages held because the broker did not take them yet (or a send is in flight). */
  get held(): number {
    return this.#outbox.held;
  }

  /** True from a failed send until the broker takes what is held again. */
  get failing(): boolean {
    return this.#outbox.failing;
  }

  /** Tries to send what is held now (the poller calls it before a poll). Never rejects. */
  flush(): Promise<void> {
    return this.#outbox.flush();
  }

  /** Stops retrying; what is still held is logged and counted as dropped. */
  close(): void {
    this.#outbox.close();
  }

  /**
   * Queues the flight messages of all `snapshots` (one send) and the
   * dead-letter records (sends that fit), behind anything held, and tries
   * to send them. Does not reject when the broker is away: they are held.
   */
  async publish(
    snapshots: SnapshotInput[],
    rejections: Rejection[] = [],
    options: PublishOptions = {},
  ): Promise<PublishResult> {
    const producedAt = new Date(this.#now()).toISOString();
    const state: TopicMessages = { topic: this.#topics.state, messages: [] };
    const updates: TopicMessages = { topic: this.#topics.updates, messages: [] };
    const flights: number[] = [];
    const valid: Flight[] = [];
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
      if (options.intake) { for (const f of built.flights) valid.push(f); }
      for (const row of built.rejected) {
        bad.push({
          reason: `${snapshot.origin}, row ${row.index}: ${row.reason}`,
          raw: row.raw,
          key: row.icao24,
        });
      }
    }
    if (options.intake) options.intake(valid);
    else if (state.messages.length > 0) await this.#outbox.push([state, updates]);
    await this.#sendDeadLetters(bad, producedAt);
    return { flights, rejected: bad.length, held: this.#outbox.held };
  }

  async #sendDeadLetters(bad: Rejection[], producedAt: string): Promise<void> {
    if (bad.length === 0) return;
    for (const messages of this.#deadLetters(bad, producedAt)) {
      await this.#outbox.push([{ topic: this.#topics.deadletter, messages }]);
    }
    this.#metrics.deadletter.inc(bad.length);
    this.#log.debug("dead-lettered input", { count: bad.length, first: bad[0]!.reason });
  }

  /**
   * Queues flight objects made here (the receiver sources' merged flights) like a poll: each
   * is validated (what fails is dead-lettered with `rejections`), one send for both topics,
   * behind anything held. Does not reject when the broker is away: they are held.
   */
  async publishFlights(
    flights: readonly Flight[],
    options: {
      source: Source | ((flight: Flight) => Source);
      rejections?: Rejection[];
      /**
       * The flights are valid by construction (a derived fleet's, built from rows validated
       * when it was loaded): not validated again.
       */
      valid?: boolean;
    },
  ): Promise<PublishResult> {
    const producedAt = new Date(this.#now()).toISOString();
    const valid: Flight[] = options.valid ? [...flights] : [];
    const bad: Rejection[] = [...(options.rejections ?? [])];
    for (const flight of options.valid ? [] : flights) {
      const checked = Flight.safeParse(flight);
      if (checked.success) valid.push(flight);
      else {
        bad.push({
          reason: `flight failed validation: ${checked.error.issues[0]?.message}`,
          raw: JSON.stringify(flight),
          key: flight.icao24,
        });
      }
    }
    if (valid.length > 0) {
      await this.#outbox.push(
        buildFlightMessages(valid, { source: options.source, producedAt, topics: this.#topics }),
      );
    }
    await this.#sendDeadLetters(bad, producedAt);
    return { flights: [valid.length], rejected: bad.length, held: this.#outbox.held };
  }

  /** Dead-letters inputs that came without any flight (a reply that is not JSON). */
  async deadLetter(rejections: Rejection[]): Promise<void> {
    await this.publish([], rejections);
  }

  /** Bounded records in sends that fit, keyed by the rejecting component (the topic's key). */
  #deadLetters(rejections: Rejection[], at: string): OutgoingMessage[][] {
    return deadLetterChunks(rejections.map((r) =>
      buildDeadLetter({
        source: DEADLETTER_SOURCE,
        topic: null, // the input came from OpenSky, a receiver or a file, not from a topic
        key: r.key,
        reason: r.reason,
        raw: r.raw,
        at: new Date(at),
      })
    ));
  }
}
