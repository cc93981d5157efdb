/**
 * Opens the message bus: Kafka when brokers are configured, else the
 * in-process {@link MemoryBus}.
 *
 * A MemoryBus exists only inside its process, and two instances share
 * nothing. The embedded stack runs producer, worker and hub in one process,
 * so it creates one MemoryBus and passes it to each component as
 * `openBus({ clientId, memory })`: every component then gets a handle on the
 * same topics and groups, and closing a handle stops only that component's
 * subscriptions. Whoever created the MemoryBus closes it last.
 *
 * @module
 */
import type { TopicSpec } from "../../contracts/topics.ts";
import { SkySentinelError } from "../errors.ts";
import { MemoryBus } from "./memory.ts";
import type { Bus, BusSubscription, SubscribeOptions, TopicMessages } from "./types.ts";

export type * from "./types.ts";
export type { KafkaBus, KafkaBusOptions } from "./kafka.ts";
export { MemoryBus, type MemoryBusOptions } from "./memory.ts";
export { partitionForKey } from "./partitioner.ts";

/** `KAFKA_BROKERS` as {@link openBus} takes it: undefined when unset, which means the memory bus. */
export function configuredBrokers(
  config: { KAFKA_BROKERS: readonly string[] },
): string[] | undefined {
  return config.KAFKA_BROKERS.length > 0 ? [...config.KAFKA_BROKERS] : undefined;
}

const ALONE: Record<"producer" | "worker" | "web", string> = {
  producer: "publishes to a private in-memory bus that no worker or web server can read",
  worker: "consumes a private in-memory bus that no producer writes, so it will process nothing",
  web: "reads a private in-memory bus that no producer writes, so the map stays empty",
};

/**
 * What a service started without KAFKA_BROKERS says first, in one line: it
 * runs alone. (The single-process stack, `deno task up`, shares one memory
 * bus between all of them and says nothing.)
 */
export function aloneNotice(service: keyof typeof ALONE): string {
  return `ALONE: KAFKA_BROKERS is not set, so this ${service} ${
    ALONE[service]
  }. Set KAFKA_BROKERS to join a Kafka cluster, or run the whole stack in one process with ` +
    "`deno task up`.";
}

export interface OpenBusOptions {
  /** Kafka bootstrap brokers (`host:port`); empty or missing means the memory bus. */
  brokers?: string[];
  /** Kafka client id, e.g. `skysentinel-worker`. */
  clientId: string;
  /** The process' shared MemoryBus (embedded stack); without it a new one is created. */
  memory?: MemoryBus;
}

/**
 * A connected Kafka bus (throws `upstream_unavailable` when no broker
 * answers), a handle on `options.memory` (see {@link shareMemoryBus}), or a
 * new MemoryBus.
 */
export async function openBus(options: OpenBusOptions): Promise<Bus> {
  if (options.brokers && options.brokers.length > 0) {
    // Loaded on demand: kafkajs reads KAFKAJS_* and NODE_ENV when it loads, which
    // the embedded stack should not need --allow-env for.
    const { KafkaBus } = await import("./kafka.ts");
    const bus = new KafkaBus({ brokers: options.brokers, clientId: options.clientId });
    try {
      await bus.connect();
    } catch (error) {
      await bus.close();
      throw error;
    }
    return bus;
  }
  return options.memory ? shareMemoryBus(options.memory) : new MemoryBus();
}

/**
 * A handle on a shared MemoryBus for one component: the same topics and
 * groups, but its `close()` stops only the subscriptions made through it
 * and leaves the bus open for the other components.
 */
export function shareMemoryBus(bus: MemoryBus): Bus {
  return new MemoryBusHandle(bus);
}

class MemoryBusHandle implements Bus {
  readonly kind = "memory" as const;
  #bus: MemoryBus;
  #subscriptions = new Set<BusSubscription>();
  #closed = false;

  constructor(bus: MemoryBus) {
    this.#bus = bus;
  }

  ensureTopics(specs?: readonly TopicSpec[]): Promise<void> {
    return this.#closed ? this.#rejectClosed() : this.#bus.ensureTopics(specs);
  }

  send(batch: TopicMessages[]): Promise<void> {
    return this.#closed ? this.#rejectClosed() : this.#bus.send(batch);
  }

  async subscribe(options: SubscribeOptions): Promise<BusSubscription> {
    if (this.#closed) return this.#rejectClosed();
    const inner = await this.#bus.subscribe(options);
    const subscriptions = this.#subscriptions;
    const sub: BusSubscription = {
      get ready() {
        return inner.ready;
      },
      lag: () => inner.lag(),
      assignments: () => inner.assignments?.() ?? [],
      stop: async () => {
        await inner.stop();
        subscriptions.delete(sub);
      },
    };
    subscriptions.add(sub);
    return sub;
  }

  healthy(): boolean {
    return !this.#closed && this.#bus.healthy();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#subscriptions].map((s) => s.stop()));
  }

  #rejectClosed(): Promise<never> {
    return Promise.reject(new SkySentinelError("shutting_down", "this bus handle is closed"));
  }
}
