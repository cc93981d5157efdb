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
 * Restarts and rebalances: the evaluator's state of each aircraft (inside,
 * matching, cooldowns) is written to `alert_state` in the transaction that
 * stores the batch's alerts, before the offsets are committed; an aircraft
 * the evaluator does not know yet is looked up there first. So an aircraft
 * already inside a geofence does not enter again after a restart. When a
 * partition was processed elsewhere meanwhile (its next offset is not the
 * one this worker committed last) or is revoked, the in-memory state of its
 * aircraft is dropped and read back from the table.
 *
 * Outbox: events are stored with `published_at` NULL and marked once sent;
 * a starting stage publishes what a crash left unpublished (the redelivered
 * batch fires nothing again, since the stored state has moved on).
 *
 * @module
 */
import type { AlertEvent } from "../../contracts/alerts.ts";
import type { Flight } from "../../contracts/flight.ts";
import { AlertEvaluator, DEFAULT_STALE_AFTER_S } from "../../lib/alerts/evaluator.ts";
import { offsetAtMost } from "../../lib/bus/offsets.ts";
import type { Bus } from "../../lib/bus/types.ts";
import type { Sql } from "../../lib/db/mod.ts";
import type { Logger } from "../../lib/log.ts";
import { insertAlertEvents, listAlertEvents, loadRules, rulesVersion } from "../alerts/store.ts";
import {
  expireAlertStates,
  loadAlertStates,
  markPublished,
  saveAlertStates,
} from "../alerts/state.ts";
import type { ItemOutput } from "./processor.ts";
import type { Registry } from "prom-client";
import { AlertStageMetrics } from "../alerts/metrics.ts";

/** Default poll period of the rule version, ms. */
export const DEFAULT_RULES_POLL_MS = 2_000;
/** Data time between two expiries of silent aircraft, s. */
const EXPIRE_EVERY_S = 60;
/** Unpublished events older than this are not republished at start, ms. */
const OUTBOX_MAX_AGE_MS = 3_600_000;

/** Options of {@link startAlertStage}. */
export interface AlertStageOptions {
  sql: Sql;
  bus: Bus;
  /** Topic of alert events (default flights.alerts). */
  topic: string;
  log: Logger;
  /** Default {@link DEFAULT_RULES_POLL_MS}. */
  pollMs?: number;
  /** Where `alerts_rules_loaded` and `alerts_fired_total` go (the worker's registry). */
  registry?: Registry;
}

/** The worker's alert step. */
export interface AlertStage {
  /** Evaluates a processed batch and stores its alerts (idempotent); returns them. */
  store(
    at: { topic: string; partition: number; firstOffset: string },
    items: readonly { offset: string; flight: Flight }[],
    outputs: readonly ItemOutput[],
  ): Promise<AlertEvent[]>;
  /** Publishes alerts to the topic and marks them published. */
  publish(events: readonly AlertEvent[]): Promise<void>;
  /** Partitions assigned now: the state of aircraft of the others is dropped. */
  retain(assigned: readonly { topic: string; partition: number }[]): void;
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
  const metrics = options.registry ? new AlertStageMetrics(options.registry) : null;
  const kept = new Map<string, Map<string, AlertEvent[]>>();
  /** Per partition: the offset that continues this worker's state, and its aircraft. */
  const parts = new Map<string, { nextOffset: bigint | null; aircraft: Set<string> }>();
  const forgetPartition = (key: string) => {
    const part = parts.get(key);
    for (const icao24 of part?.aircraft ?? []) evaluator.forget(icao24);
    part?.aircraft.clear();
    kept.delete(key);
  };
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
        const muted = rules.filter((r) => r.muted).length;
        metrics?.rules.set({ state: "active" }, rules.length - muted);
        metrics?.rules.set({ state: "muted" }, muted);
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
  const send = async (events: readonly AlertEvent[]) => {
    if (events.length === 0) return;
    await bus.send([{
      topic: options.topic,
      messages: events.map((e) => ({ key: e.icao24, value: JSON.stringify(e) })),
    }]);
    await markPublished(sql, events.map((e) => e.id));
  };
  try {
    const left = await listAlertEvents(sql, {
      unpublishedSince: new Date(Date.now() - OUTBOX_MAX_AGE_MS),
      limit: 1000,
    });
    await send(left.reverse()); // oldest first, as they were fired
    if (left.length > 0) log.info("published alerts left unpublished", { alerts: left.length });
  } catch (error) {
    log.warn(`publishing left alerts failed: ${error instanceof Error ? error.message : error}`);
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
      let part = parts.get(key);
      if (!part) parts.set(key, part = { nextOffset: null, aircraft: new Set() });
      if (part.nextOffset !== null && BigInt(at.firstOffset) !== part.nextOffset) {
        // Another worker went on with this partition meanwhile: its state is in the table.
        forgetPartition(key);
        part.nextOffset = null;
      }
      let pending = kept.get(key);
      if (!pending) kept.set(key, pending = new Map());
      const unknown = new Set<string>();
      for (const { flight } of items) {
        part.aircraft.add(flight.icao24);
        if (!evaluator.has(flight.icao24)) unknown.add(flight.icao24);
      }
      if (unknown.size > 0) {
        for (const [icao24, saved] of await loadAlertStates(sql, [...unknown])) {
          evaluator.restore(icao24, saved);
        }
      }
      const all: AlertEvent[] = [];
      let dataTime = -Infinity;
      items.forEach((item, i) => {
        let alerts = pending.get(item.offset);
        if (!alerts) {
          const out = outputs[i];
          alerts = evaluator.update(item.flight);
          if (out && out.events.length > 0) alerts.push(...evaluator.anomalies(out.events));
          pending.set(item.offset, alerts);
          for (const a of alerts) {
            metrics?.fired.inc({ kind: a.kind, trigger: String(a.detail.trigger ?? a.kind) });
          }
        }
        all.push(...alerts);
        dataTime = Math.max(dataTime, item.flight.time_position_unix);
      });
      let expireBefore: number | null = null;
      if (dataTime >= nextExpire) {
        evaluator.expire(dataTime);
        for (const p of parts.values()) {
          for (const icao24 of p.aircraft) if (!evaluator.has(icao24)) p.aircraft.delete(icao24);
        }
        expireBefore = dataTime - DEFAULT_STALE_AFTER_S;
        nextExpire = dataTime + EXPIRE_EVERY_S;
      }
      const dirty = evaluator.dirtyStates();
      await sql.begin(async (tx) => {
        await insertAlertEvents(tx, all);
        await saveAlertStates(tx, dirty);
        if (expireBefore !== null) await expireAlertStates(tx, expireBefore);
      });
      evaluator.persisted(dirty);
      return all;
    },
    publish: send,
    retain(assigned) {
      const keep = new Set(assigned.map((a) => `${a.topic}\u0000${a.partition}`));
      for (const key of [...parts.keys()]) {
        if (keep.has(key)) continue;
        forgetPartition(key);
        parts.delete(key);
      }
    },
    committed(at) {
      const key = `${at.topic}\u0000${at.partition}`;
      const part = parts.get(key);
      if (part) part.nextOffset = BigInt(at.lastOffset) + 1n;
      const pending = kept.get(key);
      if (!pending) return;
      for (const offset of pending.keys()) {
        if (offsetAtMost(offset, at.lastOffset)) pending.delete(offset);
      }
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
