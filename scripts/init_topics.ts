/**
 * One-shot topic initialisation (compose.yaml's `topics-init`): creates the
 * topics of `contracts/topics.ts` with their partitions and configs on the
 * brokers in KAFKA_BROKERS, waits until they have leaders, and exits 0.
 * Topics that exist already are left as they are, so running it again is
 * harmless.
 *
 * Exit codes: 0 topics ready, 1 the brokers could not be reached or refused
 * (after a few attempts), 2 KAFKA_BROKERS is not set.
 *
 * Permissions (see docs/operations.md):
 * `--allow-net=<the brokers> --allow-env=KAFKA_BROKERS,KAFKA_CLIENT_ID,` plus
 * the names kafkajs reads when it loads (KAFKAJS_*, NODE_ENV). Nothing else.
 *
 * @module
 */
import { TOPIC_LIST } from "../contracts/topics.ts";
import { openBus } from "../lib/bus/mod.ts";

/** Attempts before giving up; compose restarts nothing, so this is the only retry. */
const ATTEMPTS = 5;
/** Pause between attempts, ms (kafkajs retries inside each attempt too). */
const PAUSE_MS = 3_000;

function brokersFromEnv(): string[] {
  return (Deno.env.get("KAFKA_BROKERS") ?? "").split(",").map((b) => b.trim()).filter(Boolean);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Creates the missing topics; resolves when all of them have leaders. */
export async function initTopics(brokers: string[], clientId: string): Promise<void> {
  const bus = await openBus({ brokers, clientId });
  try {
    await bus.ensureTopics(TOPIC_LIST);
  } finally {
    await bus.close();
  }
}

async function main(): Promise<number> {
  const brokers = brokersFromEnv();
  if (brokers.length === 0) {
    console.error("init_topics: KAFKA_BROKERS is not set (comma separated host:port list)");
    return 2;
  }
  const clientId = `${Deno.env.get("KAFKA_CLIENT_ID")?.trim() || "skysentinel"}-init-topics`;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    try {
      await initTopics(brokers, clientId);
      for (const spec of TOPIC_LIST) {
        const config = Object.entries(spec.config).map(([k, v]) => `${k}=${v}`).join(" ");
        console.log(`topic ${spec.name}: ${spec.partitions} partition(s) ${config}`);
      }
      console.log(`init_topics: ${TOPIC_LIST.length} topics ready on ${brokers.join(",")}`);
      return 0;
    } catch (error) {
      console.error(
        `init_topics: attempt ${attempt}/${ATTEMPTS} on ${brokers.join(",")} failed: ${
          message(error)
        }`,
      );
      if (attempt < ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    }
  }
  return 1;
}

if (import.meta.main) Deno.exit(await main());
