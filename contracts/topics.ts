/**
 * The Kafka topics, their keys and configs. The Kafka adapter creates them
 * with these settings and the memory bus follows the same semantics.
 *
 * @module
 */

const DAY_MS = 86_400_000;

export interface TopicSpec {
  /** Topic name. */
  readonly name: string;
  /** What the message key holds. */
  readonly key: "icao24" | "source";
  /** Default partition count. */
  readonly partitions: number;
  /** Topic-level configs as Kafka expects them (strings). */
  readonly config: Readonly<Record<string, string>>;
}

export const TOPICS = Object.freeze(
  {
    state: {
      name: "flights.state",
      key: "icao24",
      partitions: 3,
      config: { "cleanup.policy": "compact", "min.cleanable.dirty.ratio": "0.1" },
    },
    updates: {
      name: "flights.updates",
      key: "icao24",
      partitions: 3,
      config: { "cleanup.policy": "delete", "retention.ms": String(7 * DAY_MS) },
    },
    anomalies: {
      name: "flights.anomalies",
      key: "icao24",
      partitions: 3,
      config: { "cleanup.policy": "delete", "retention.ms": String(30 * DAY_MS) },
    },
    alerts: {
      name: "flights.alerts",
      key: "icao24",
      partitions: 3,
      config: { "cleanup.policy": "delete", "retention.ms": String(30 * DAY_MS) },
    },
    deadletter: {
      name: "flights.deadletter",
      key: "source",
      partitions: 1,
      config: { "cleanup.policy": "delete", "retention.ms": String(7 * DAY_MS) },
    },
  } as const satisfies Record<string, TopicSpec>,
);

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS]["name"];
export const TOPIC_LIST: readonly TopicSpec[] = Object.values(TOPICS);
