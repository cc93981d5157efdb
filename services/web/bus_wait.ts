/**
 * Starts the hub's bus source once its topics exist. A web server started
 * before the producer on a fresh broker used to die on kafkajs'
 * "This server does not host this topic-partition" (issue #14); now it
 * serves at once, says in the log and in `/healthz` which topics it waits
 * for, and starts reading when they appear.
 *
 * @module
 */
import type { Bus } from "../../lib/bus/types.ts";
import type { Hub } from "./hub.ts";
import {
  type BusSourceOptions,
  DEFAULT_HUB_TOPICS,
  type HubSource,
  startBusSource,
} from "./hub_sources.ts";

/** Options for {@link startBusSourceWhenReady}. */
export interface WaitingSourceOptions extends BusSourceOptions {
  /** Time between looks for the topics (and retries of a failed start), ms. Default 2,000. */
  retryMs?: number;
  /** Progress lines. Default console.error. */
  log?: (line: string) => void;
}

/** A {@link HubSource} that waits for its topics, then reads them (see the module doc). */
export function startBusSourceWhenReady(
  hub: Hub,
  bus: Bus,
  options: WaitingSourceOptions,
): HubSource {
  const topics = { ...DEFAULT_HUB_TOPICS, ...options.topics };
  const wanted = [topics.state, topics.anomalies];
  const retryMs = options.retryMs ?? 2_000;
  const log = options.log ?? ((line: string) => console.error(line));
  const stopping = new AbortController();
  let inner: HubSource | undefined;
  let said = "";
  const say = (line: string) => {
    if (line !== said) log(`web: ${line}`);
    said = line;
  };
  const status = (detail: string) => hub.setSourceStatus({ kind: bus.kind, ready: false, detail });

  const run = async () => {
    while (!stopping.signal.aborted) {
      try {
        const missing = (await bus.missingTopics?.(wanted)) ?? [];
        if (missing.length > 0) {
          const line = `waiting for topic${missing.length > 1 ? "s" : ""} ${
            missing.join(", ")
          } (not created yet: is the producer running?)`;
          say(line);
          status(line);
        } else {
          const source = await startBusSource(hub, bus, options);
          if (stopping.signal.aborted) await source.stop();
          else {
            inner = source;
            if (said) say("topics are there; reading them");
          }
          return;
        }
      } catch (error) {
        const line = `cannot read the bus yet (retrying every ${retryMs / 1000} s): ${
          error instanceof Error ? error.message : error
        }`;
        say(line);
        status(line);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, retryMs);
        stopping.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
    }
  };
  const running = run();

  return {
    get ready() {
      return inner?.ready ?? false;
    },
    // While waiting the hub check says why; this one is about the bus itself.
    healthy: () => inner?.healthy() ?? bus.healthy(),
    async stop() {
      stopping.abort();
      await running;
      await inner?.stop();
    },
  };
}
