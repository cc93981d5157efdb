/**
 * Alert delivery: a consumer group on `flights.alerts` that sends each
 * alert to its rule's webhook and ntfy targets (webhook.ts) and dead-letters
 * to `flights.deadletter` what could not be delivered after the last try or
 * was refused. Offsets commit after every alert of the batch is delivered or
 * dead-lettered: a crash in between sends again (at-least-once; receivers
 * drop duplicates by the `X-SkySentinel-Event` id). A separate consumer
 * from the worker so that a slow receiver never holds up the stream, and
 * because it needs network access to hosts no permission list can name.
 *
 * Rules (with their secrets) are read from PostgreSQL and reloaded when
 * their version changes; a muted or deleted rule's alerts are not sent.
 *
 * @module
 */
import { type AlertEvent, AlertEvent as AlertEventSchema } from "../../contracts/alerts.ts";
import { TOPICS } from "../../contracts/topics.ts";
import { deadLetter, subscribeValidated } from "../../lib/bus/deadletter.ts";
import type { Bus, BusSubscription } from "../../lib/bus/types.ts";
import type { Sql } from "../../lib/db/mod.ts";
import type { Logger } from "../../lib/log.ts";
import type { AlertDeliveryMetrics } from "./metrics.ts";
import { loadRules, rulesVersion, type StoredRule } from "./store.ts";
import { deliverAlert, type DeliveryOptions, type TargetOutcome } from "./webhook.ts";

/** Default consumer group. */
export const DEFAULT_DELIVERY_GROUP = "skysentinel-alerts";
/** Alert ids remembered to skip republished versions, per process. */
const RECENT_IDS = 10_000;

/** Options of {@link startAlertDelivery}. */
export interface AlertDeliveryOptions {
  bus: Bus;
  sql: Sql;
  log: Logger;
  /** Default flights.alerts. */
  topic?: string;
  /** Default flights.deadletter. */
  deadletterTopic?: string;
  /** Default {@link DEFAULT_DELIVERY_GROUP}. */
  groupId?: string;
  /** Where a new group starts. Default false: only alerts from now on. */
  fromBeginning?: boolean;
  delivery: Omit<DeliveryOptions, "signal">;
  /** Rule version poll, ms. Default 2,000. */
  pollMs?: number;
  /** Each target's outcome (tests). */
  onOutcome?: (event: AlertEvent, outcome: TargetOutcome) => void;
  /** Deliveries, tries and latency (services/alerts/metrics.ts). */
  metrics?: AlertDeliveryMetrics;
}

/** A running delivery consumer. */
export interface AlertDeliveryHandle {
  readonly subscription: BusSubscription;
  stop(): Promise<void>;
}

/** Subscribes and delivers until stopped. */
export async function startAlertDelivery(
  options: AlertDeliveryOptions,
): Promise<AlertDeliveryHandle> {
  const { bus, sql, log } = options;
  const topic = options.topic ?? TOPICS.alerts.name;
  const deadletterTopic = options.deadletterTopic ?? TOPICS.deadletter.name;
  const stopping = new AbortController();
  let rules = new Map<string, StoredRule>();
  let version = "";
  const refresh = async () => {
    const v = await rulesVersion(sql);
    if (v === version) return;
    rules = new Map((await loadRules(sql)).map((r) => [r.id, r]));
    version = v;
  };
  await refresh();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const poll = () => {
    if (stopping.signal.aborted) return;
    timer = setTimeout(() => {
      refresh().catch((e) => log.warn(`reloading alert rules failed: ${e}`)).finally(poll);
    }, options.pollMs ?? 2_000);
  };
  poll();
  const recent = new Set<string>();
  const remember = (id: string) => {
    recent.add(id);
    if (recent.size > RECENT_IDS) recent.delete(recent.values().next().value!);
  };

  const metrics = options.metrics;
  /** `publishedAt`: the Kafka timestamp of the alert's message, unix ms. */
  const deliverOne = async (event: AlertEvent, key: string | null, publishedAt: number) => {
    if (recent.has(event.id)) return;
    let rule = rules.get(event.rule_id);
    if (!rule) {
      await refresh(); // created just now, faster than the poll
      rule = rules.get(event.rule_id);
    }
    if (!rule || rule.muted || (!rule.webhook_url && !rule.ntfy_url)) {
      remember(event.id);
      return;
    }
    const outcomes = await deliverAlert(event, rule, {
      ...options.delivery,
      signal: stopping.signal,
    });
    for (const outcome of outcomes) {
      options.onOutcome?.(event, outcome);
      const failedTries = outcome.ok ? outcome.attempts - 1 : outcome.attempts;
      if (failedTries > 0) {
        metrics?.attempts.inc({ target: outcome.target, result: "failed" }, failedTries);
      }
      if (outcome.ok) {
        metrics?.attempts.inc({ target: outcome.target, result: "ok" });
        metrics?.deliveries.inc({ target: outcome.target, outcome: "ok" });
        metrics?.latency.observe(
          { target: outcome.target },
          Math.max(0, Date.now() - publishedAt) / 1000,
        );
        log.debug("alert delivered", {
          id: event.id,
          target: outcome.target,
          tries: outcome.attempts,
        });
        continue;
      }
      if (stopping.signal.aborted) throw new Error("stopping: alert left for redelivery");
      log.warn(`alert not delivered: ${outcome.reason}`, {
        id: event.id,
        rule_id: event.rule_id,
        target: outcome.target,
      });
      await deadLetter(bus, {
        source: `alerts.${outcome.target}`,
        topic,
        key,
        reason: `${outcome.target} ${redact(outcome.url)}: ${outcome.reason}`,
        raw: JSON.stringify(event),
        deadletterTopic,
      });
      metrics?.deliveries.inc({ target: outcome.target, outcome: "dead_lettered" });
    }
    remember(event.id);
  };

  const subscription = await subscribeValidated(bus, {
    source: "alerts",
    schema: AlertEventSchema,
    topic,
    groupId: options.groupId ?? DEFAULT_DELIVERY_GROUP,
    fromBeginning: options.fromBeginning ?? false,
    deadletterTopic,
    async handle(items) {
      // One aircraft's alerts in order; different aircraft in parallel.
      const byKey = new Map<string, { event: AlertEvent; key: string | null; at: number }[]>();
      for (const { message, value } of items) {
        const k = message.key ?? "";
        const list = byKey.get(k) ?? [];
        list.push({ event: value, key: k || null, at: message.timestamp });
        byKey.set(k, list);
      }
      await Promise.all(
        [...byKey.values()].map(async (list) => {
          for (const { event, key, at } of list) await deliverOne(event, key, at);
        }),
      );
    },
    onError: (error) => log.warn(`alert batch failed, will be redelivered: ${error}`),
  });
  return {
    subscription,
    async stop() {
      stopping.abort();
      clearTimeout(timer);
      await subscription.stop();
    },
  };
}

/** The URL without its query and credentials (ntfy tokens and webhook keys live there). */
function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "(bad URL)";
  }
}
