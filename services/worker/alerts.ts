/**
 * Alert evaluation in the worker: each accepted update of a batch and the
 * anomaly events it produced (take-off and landing from the session logic,
 * go-arounds, holdings, emergencies from the detectors) go through the
 * {@link AlertEvaluator}; the alerts are stored in `alert_events` and
 * published to `flights.alerts` (key icao24) before the batch's offsets are
 * committed, so none is lost (at-least-once, same ids every time).
 *
 * Redelivery: the evaluator has already moved on when a batch fails after
 * evaluation, and would not fire again for the same updates (hysteresis).
 * So the alerts of each message are kept by offset until its batch commits,
 * and a redelivered message gets its kept alerts, as processor.ts does for
 * anomalies.
 *
 * Rules: loaded at start and reloaded when `rulesVersion` (count and latest
 * `updated_at` of `alert_rules`) changes, polled every `pollMs`. Polling
 * rather than LISTEN/NOTIFY because the embedded PGlite does not relay
 * notifications across connections, and 2 s of delay is fine for rule edits.
 *
 * Known gap: the hysteresis state lives in memory. After a restart or a
 * rebalance an aircraft already inside a geofence counts as first seen and
 * enters again (a new id, since the update differs). TODO(#13): rebuild it
 * from the processor's warm-up.
 *
 * @module
 */
import type { AlertEvent } from "../../contracts/alerts.ts";
import type { Flight } from "../../contracts/flight.ts";
import { AlertEvaluator } from "../../lib/alerts/evaluator.ts";
import type { Bus } from "../../lib/bus/types.ts";
import type { Sql } from "../../lib/db/mod.ts";
import type { Logger } from "../../lib/log.ts";
import { insertAlertEvents, loadRules, rulesVersion } from "../alerts/store.ts";
import type { ItemOutput } from "./processor.ts";

/** Default poll period of the rule version, ms. */
export const DEFAULT_RULES_POLL_MS = 2_000;
/** Data time between two expiries of silent aircraft, s. */
const EXPIRE_EVERY_S = 60;

/** Options of {@link startAlertStage}. */
export interface AlertStageOptions {
  sql: Sql;
  bus: Bus;
  /** Topic of alert events (default flights.alerts). */
  topic: string;
  log: Logger;
  /** Default {@link DEFAULT_RULES_POLL_MS}. */
  pollMs?: number;
}

/** The worker's alert step. */
export interface AlertStage {
  /** Evaluates a processed batch and stores its alerts (idempotent); returns them. */
  store(
    at: { topic: string; partition: number },
    items: readonly { offset: string; flight: Flight }[],
    outputs: readonly ItemOutput[],
  ): Promise<AlertEvent[]>;
  /** Publishes alerts to the topic. */
  publish(events: readonly AlertEvent[]): Promise<void>;
  /** The batch ending at `lastOffset` committed: forget its kept alerts. */
  committed(at: { topic: string; partition: number; lastOffset: string }): void;
  /** Reloads the rules now when they changed (the poll calls it). */
  reload(): Promise<boolean>;
  readonly evaluator: AlertEvaluator;
  stop(): void;
}

/** Loads the rules and starts polling for changes. */
export async function startAlertStage(options: AlertStageOptions): Promise<AlertStage> {
  const { sql, bus, log } = options;
  const evaluator = new AlertEvaluator();
  const kept = new Map<string, Map<string, AlertEvent[]>>();
  let version = "";
  let nextExpire = -Infinity;
  let reloading: Promise<boolean> | null = null;

  const reload = () =>
    reloading ??= (async () => {
      try {
        const v = await rulesVersion(sql);
        if (v === version) return false;
        const rules = await loadRules(sql);
        evaluator.setRules(rules);
        version = v;
        log.info("alert rules loaded", {
          rules: rules.length,
          active: rules.filter((r) => !r.muted).length,
        });
        return true;
      } finally {
        reloading = null;
      }
    })();

  try {
    await reload();
  } catch (error) {
    // The database may be down at start; the worker waits that out, and so does the poll.
    log.warn(`loading alert rules failed: ${error instanceof Error ? error.message : error}`);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;
  const poll = () => {
    if (stopped) return;
    timer = setTimeout(async () => {
      try {
        await reload();
      } catch (error) {
        log.warn(`reloading alert rules failed: ${error instanceof Error ? error.message : error}`);
      }
      poll();
    }, options.pollMs ?? DEFAULT_RULES_POLL_MS);
  };
  poll();

  return {
    evaluator,
    reload,
    async store(at, items, outputs) {
      const key = `${at.topic}\u0000${at.partition}`;
      let pending = kept.get(key);
      if (!pending) kept.set(key, pending = new Map());
      const all: AlertEvent[] = [];
      let dataTime = -Infinity;
      items.forEach((item, i) => {
        let alerts = pending.get(item.offset);
        if (!alerts) {
          const out = outputs[i];
          alerts = evaluator.update(item.flight);
          if (out && out.events.length > 0) alerts.push(...evaluator.anomalies(out.events));
          pending.set(item.offset, alerts);
        }
        all.push(...alerts);
        dataTime = Math.max(dataTime, item.flight.time_position_unix);
      });
      if (dataTime >= nextExpire) {
        evaluator.expire(dataTime);
        nextExpire = dataTime + EXPIRE_EVERY_S;
      }
      await insertAlertEvents(sql, all);
      return all;
    },
    async publish(events) {
      if (events.length === 0) return;
      await bus.send([{
        topic: options.topic,
        messages: events.map((e) => ({ key: e.icao24, value: JSON.stringify(e) })),
      }]);
    },
    committed(at) {
      const pending = kept.get(`${at.topic}\u0000${at.partition}`);
      if (!pending) return;
      const last = BigInt(at.lastOffset);
      for (const offset of pending.keys()) if (BigInt(offset) <= last) pending.delete(offset);
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
