/**
 * Evaluates alert rules on the stream of flight updates and anomaly events.
 * Pure and deterministic: the same rules and the same input give the same
 * alerts with the same ids, on every run and every worker.
 *
 * Semantics (issue #13):
 * - geofence: fires on the update where the aircraft goes from outside to
 *   inside (`enter`) or back (`leave`), inside meaning within the area and
 *   the altitude band. Hysteresis: staying inside fires nothing. The first
 *   update of an aircraft (or the first after {@link DEFAULT_STALE_AFTER_S}
 *   of silence) counts as coming from outside, so an aircraft first seen
 *   inside enters. An update without altitude keeps the previous state when
 *   the rule has a band: a missing field is not a move.
 * - squawk: fires when the squawk starts matching one of the codes (within
 *   the area and band, if given), again only after it stopped matching.
 * - aircraft: matches icao24 or a callsign prefix; `seen` fires the first
 *   time the rule matches during a track, `takeoff`/`landing` on the
 *   session events of the detectors.
 * - anomaly: fires once per anomaly event id whose kind and severity match
 *   (default: every kind but the session events, severity warning or more),
 *   within the area when one is given (the event's position).
 * - cooldown: after a rule fired for an aircraft it stays quiet for that
 *   aircraft for `cooldown_s` of data time; the state still moves meanwhile.
 * - muted rules are not evaluated.
 * - restarts: the state of each aircraft (inside / matching, cooldowns,
 *   anomalies alerted) can be taken out ({@link AlertEvaluator.dirtyStates})
 *   and put back ({@link AlertEvaluator.restore}), so that a restarted or
 *   rebalanced worker carries on where the last one stopped instead of
 *   seeing every aircraft for the first time.
 *
 * Cost: rules with an area sit in a {@link SpatialIndex}; an update tests
 * the rules of its grid cell, the rules the aircraft is currently inside or
 * matching (to see it leave), squawk rules under its squawk code and
 * aircraft rules under its address or callsign. Nothing else.
 *
 * @module
 */
import type { AlertEvent, AlertRule, AlertTrigger } from "../../contracts/alerts.ts";
import type { AnomalyEvent, AnomalyKind, Severity } from "../../contracts/anomaly.ts";
import type { Flight } from "../../contracts/flight.ts";
import { fnv1a64Hex } from "../detect/hash.ts";
import { type PreparedGeofence, prepareGeofence } from "./geofence.ts";
import { SpatialIndex } from "./spatial_index.ts";

/** Silence after which an aircraft counts as newly seen, s (the session logic's). */
export const DEFAULT_STALE_AFTER_S = 1200;
/** Anomaly kinds an anomaly rule fires on when it names none. */
export const DEFAULT_ANOMALY_KINDS: readonly AnomalyKind[] = [
  "emergency_squawk",
  "emergency_descent",
  "go_around",
  "holding",
];
const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
/** Callsign prefixes are bucketed by their first characters. */
const PREFIX_KEY_LEN = 3;

/** A rule prepared for evaluation. */
interface Compiled {
  rule: AlertRule;
  /** Id plus version: state of an edited rule starts afresh. */
  key: string;
  area: PreparedGeofence | null;
  on: ReadonlySet<AlertTrigger>;
  squawks: ReadonlySet<string> | null;
  anomalyKinds: ReadonlySet<string>;
  minSeverity: number;
  /** Evaluation stamp, to test each candidate once per update. */
  stamp: number;
}

interface AircraftState {
  lastT: number;
  /** Bumped on every change that must be persisted. */
  version: number;
  /** lastT when the state was last handed out for persisting. */
  persistedT: number;
  /** Rule keys the aircraft is inside (geofence), matching (squawk) or seen by (aircraft). */
  active: Set<string>;
  /** Rule key to data time of its last alert for this aircraft, unix s. */
  lastFired: Map<string, number>;
  /** `ruleKey|anomalyId` already alerted. */
  anomalies: Set<string>;
}

/**
 * The persisted form of an aircraft's state (services/alerts/store.ts keeps
 * it in `alert_state`). Rule keys are `id@updated_at`: the state of an
 * edited rule starts afresh after a restart too.
 */
export interface AircraftAlertState {
  /** Data time of the last update evaluated, unix s. */
  last_t: number;
  /** Rule keys the aircraft is inside (geofence), matching (squawk) or seen by (aircraft). */
  active: string[];
  /** Rule key to data time of its last alert for this aircraft, unix s. */
  fired: Record<string, number>;
  /** `ruleKey|anomalyId` already alerted. */
  anomalies: string[];
}

/** A state handed out by {@link AlertEvaluator.dirtyStates}, with its version. */
export interface DirtyAlertState {
  icao24: string;
  version: number;
  state: AircraftAlertState;
}

/**
 * Data time after which a non-empty state is persisted again though nothing
 * changed, s: keeps the stored `last_t` fresh, so that an aircraft staying
 * inside a geofence is not taken for a new track after a restart.
 */
export const PERSIST_REFRESH_S = 60;

/** Options of {@link AlertEvaluator}. */
export interface AlertEvaluatorOptions {
  /** Default {@link DEFAULT_STALE_AFTER_S}. */
  staleAfterS?: number;
  /**
   * false: test every rule on every update (the naive scan the benchmark
   * compares against). Same results, only slower. Default true.
   */
  index?: boolean;
}

/** Counters, for metrics and the benchmark. */
export interface AlertEvaluatorStats {
  rules: number;
  aircraft: number;
  /** Rule tests done so far (the cost the index keeps small). */
  tests: number;
  fired: number;
}

const NONE: readonly Compiled[] = Object.freeze([]);

const iso = (unix: number) => new Date(Math.round(unix * 1000)).toISOString();

/** Deterministic alert id: 32 hex digits from two FNV-1a 64 passes. */
export function alertId(parts: readonly string[]): string {
  const text = parts.join("|");
  return fnv1a64Hex(text) + fnv1a64Hex(`alert|${text}`);
}

/** The rule engine; one per worker (aircraft state is per icao24). */
export class AlertEvaluator {
  readonly #staleAfterS: number;
  readonly #useIndex: boolean;
  #all: Compiled[] = [];
  #byKey = new Map<string, Compiled>();
  #spatial = new SpatialIndex<Compiled>();
  #squawk = new Map<string, Compiled[]>();
  #byIcao = new Map<string, Compiled[]>();
  #byPrefix = new Map<string, Compiled[]>();
  #shortPrefix: Compiled[] = [];
  #anomaly: Compiled[] = [];
  #aircraft = new Map<string, AircraftState>();
  /** icao24 of the states changed since they were last persisted. */
  #dirty = new Set<string>();
  #stamp = 0;
  #tests = 0;
  #fired = 0;

  constructor(rules: readonly AlertRule[] = [], options: AlertEvaluatorOptions = {}) {
    this.#staleAfterS = options.staleAfterS ?? DEFAULT_STALE_AFTER_S;
    this.#useIndex = options.index ?? true;
    this.setRules(rules);
  }

  get stats(): AlertEvaluatorStats {
    return {
      rules: this.#all.length,
      aircraft: this.#aircraft.size,
      tests: this.#tests,
      fired: this.#fired,
    };
  }

  /**
   * Replaces the rule set. State (inside, cooldowns) of rules that did not
   * change (same id and `updated_at`) is kept; that of edited or deleted
   * rules is dropped lazily.
   */
  setRules(rules: readonly AlertRule[]): void {
    this.#all = [];
    this.#byKey = new Map();
    this.#spatial = new SpatialIndex();
    this.#squawk = new Map();
    this.#byIcao = new Map();
    this.#byPrefix = new Map();
    this.#shortPrefix = [];
    this.#anomaly = [];
    for (const rule of rules) {
      if (rule.muted) continue;
      const c: Compiled = {
        rule,
        key: `${rule.id}@${rule.updated_at}`,
        area: rule.geofence ? prepareGeofence(rule.geofence) : null,
        on: new Set(rule.on),
        squawks: rule.squawks ? new Set(rule.squawks) : null,
        anomalyKinds: new Set(rule.anomaly_kinds ?? DEFAULT_ANOMALY_KINDS),
        minSeverity: SEVERITY_RANK[rule.min_severity ?? "warning"],
        stamp: 0,
      };
      this.#all.push(c);
      this.#byKey.set(c.key, c);
      if (c.area) {
        this.#spatial.insert(c.area.bounds, c);
        if (rule.kind === "anomaly") this.#anomaly.push(c);
        continue;
      }
      switch (rule.kind) {
        case "squawk":
          for (const code of c.squawks ?? []) push(this.#squawk, code, c);
          break;
        case "aircraft":
          if (rule.icao24) push(this.#byIcao, rule.icao24, c);
          if (rule.callsign_prefix && rule.callsign_prefix.length >= PREFIX_KEY_LEN) {
            push(this.#byPrefix, rule.callsign_prefix.slice(0, PREFIX_KEY_LEN), c);
          } else if (rule.callsign_prefix) this.#shortPrefix.push(c);
          break;
        case "anomaly":
          this.#anomaly.push(c);
          break;
        case "geofence":
          break; // cannot happen: the contract requires a geofence
      }
    }
  }

  /** Evaluates one accepted flight update; returns the alerts it fired. */
  update(flight: Flight): AlertEvent[] {
    const t = flight.time_position_unix;
    let state = this.#aircraft.get(flight.icao24);
    if (state && t - state.lastT > this.#staleAfterS) {
      // A new track: it comes from outside everything again.
      this.#aircraft.delete(flight.icao24);
      state = undefined;
    }
    if (!state) {
      state = newState(t);
      this.#aircraft.set(flight.icao24, state);
    }
    // An older update than one already evaluated (redelivered, reordered) must not move the
    // state back: it would fire a leave and a second enter.
    if (t < state.lastT) return [];
    state.lastT = t;
    if (t - state.persistedT >= PERSIST_REFRESH_S && !isEmpty(state)) {
      // Cooldowns that ran out (or whose rule is gone) need not be kept, nor persisted.
      for (const [key, last] of state.lastFired) {
        const c = this.#byKey.get(key);
        if (!c || t - last >= c.rule.cooldown_s) state.lastFired.delete(key);
      }
      this.#touch(flight.icao24, state);
    }
    const out: AlertEvent[] = [];
    // No rule can fire and none is active: nothing to visit (the usual case per update when
    // few rules are set; a closure and a generator per update were measurable, issue #11).
    if (this.#all.length === 0 && state.active.size === 0) return out;
    const stamp = ++this.#stamp;
    if (!this.#useIndex) {
      for (const c of this.#all) this.#visit(c, stamp, flight, state, out);
    } else {
      const { lat, lon } = flight.position;
      for (const c of this.#spatial.cell(lat, lon)) this.#visit(c, stamp, flight, state, out);
      for (const c of this.#spatial.everywhere) this.#visit(c, stamp, flight, state, out);
      for (const key of state.active) {
        const c = this.#byKey.get(key);
        if (c) this.#visit(c, stamp, flight, state, out);
        else {
          state.active.delete(key); // edited, deleted or muted meanwhile
          this.#touch(flight.icao24, state);
        }
      }
      if (flight.squawk !== null) {
        for (const c of this.#squawk.get(flight.squawk) ?? []) {
          this.#visit(c, stamp, flight, state, out);
        }
      }
      for (const c of this.#aircraftRules(flight.icao24, flight.callsign)) {
        this.#visit(c, stamp, flight, state, out);
      }
    }
    return out;
  }

  /** Tests rule `c` once per stamp (one update may reach a rule by several indexes). */
  #visit(c: Compiled, stamp: number, flight: Flight, state: AircraftState, out: AlertEvent[]) {
    if (c.stamp === stamp) return;
    c.stamp = stamp;
    this.#tests++;
    this.#test(c, flight, state, out);
  }

  /**
   * Evaluates anomaly events (new or updated; each alerts once per rule):
   * anomaly rules, and aircraft rules on `takeoff`/`landing`.
   */
  anomalies(events: readonly AnomalyEvent[]): AlertEvent[] {
    const out: AlertEvent[] = [];
    for (const event of events) {
      let state = this.#aircraft.get(event.icao24);
      if (!state) {
        state = newState(Date.parse(event.started_at) / 1000);
        this.#aircraft.set(event.icao24, state);
      }
      const stamp = ++this.#stamp;
      const candidates: Compiled[] = [];
      const add = (c: Compiled) => {
        if (c.stamp === stamp) return;
        c.stamp = stamp;
        candidates.push(c);
      };
      if (!this.#useIndex) {
        this.#all.forEach(add);
      } else {
        this.#anomaly.forEach(add);
        if (event.kind === "takeoff" || event.kind === "landing") {
          for (const c of this.#aircraftRules(event.icao24, event.callsign)) add(c);
          for (const c of this.#spatial.cell(event.position.lat, event.position.lon)) {
            if (c.rule.kind === "aircraft") add(c);
          }
        }
      }
      for (const c of candidates) {
        this.#tests++;
        this.#testAnomaly(c, event, state, out);
      }
    }
    return out;
  }

  /** True when the evaluator holds state for `icao24` (else {@link restore} may give it). */
  has(icao24: string): boolean {
    return this.#aircraft.has(icao24);
  }

  /**
   * Puts back a persisted state (after a restart or a rebalance), unless the
   * evaluator already holds a state for the aircraft.
   */
  restore(icao24: string, saved: AircraftAlertState): void {
    if (this.#aircraft.has(icao24)) return;
    this.#aircraft.set(icao24, {
      lastT: saved.last_t,
      version: 0,
      persistedT: saved.last_t,
      active: new Set(saved.active),
      lastFired: new Map(Object.entries(saved.fired)),
      anomalies: new Set(saved.anomalies),
    });
  }

  /** Drops the state of an aircraft (its partition was processed elsewhere meanwhile). */
  forget(icao24: string): void {
    this.#aircraft.delete(icao24);
    this.#dirty.delete(icao24);
  }

  /**
   * The states changed since they were last persisted (and non-empty ones
   * not persisted for {@link PERSIST_REFRESH_S} of data time). They stay
   * dirty until {@link persisted} confirms them.
   */
  dirtyStates(): DirtyAlertState[] {
    const out: DirtyAlertState[] = [];
    for (const icao24 of this.#dirty) {
      const s = this.#aircraft.get(icao24);
      if (!s) {
        this.#dirty.delete(icao24);
        continue;
      }
      out.push({
        icao24,
        version: s.version,
        state: {
          last_t: s.lastT,
          active: [...s.active],
          fired: Object.fromEntries(s.lastFired),
          anomalies: [...s.anomalies],
        },
      });
    }
    return out;
  }

  /** The states were stored: they are clean unless they changed again since. */
  persisted(states: readonly DirtyAlertState[]): void {
    for (const d of states) {
      const s = this.#aircraft.get(d.icao24);
      if (s && s.version === d.version) {
        this.#dirty.delete(d.icao24);
        s.persistedT = d.state.last_t;
      }
    }
  }

  /** Forgets aircraft silent since before `nowUnix - staleAfterS`; returns how many. */
  expire(nowUnix: number): number {
    let n = 0;
    for (const [icao24, state] of this.#aircraft) {
      if (nowUnix - state.lastT > this.#staleAfterS) {
        this.#aircraft.delete(icao24);
        this.#dirty.delete(icao24);
        n++;
      }
    }
    return n;
  }

  #touch(icao24: string, state: AircraftState): void {
    state.version++;
    this.#dirty.add(icao24);
  }

  /** The aircraft rules that may match, in this order: by icao24, by prefix, short prefixes. */
  #aircraftRules(icao24: string, callsign: string | null): readonly Compiled[] {
    const byIcao = this.#byIcao.get(icao24);
    if (callsign === null || (this.#byPrefix.size === 0 && this.#shortPrefix.length === 0)) {
      return byIcao ?? NONE;
    }
    const byPrefix = this.#byPrefix.get(callsign.toUpperCase().slice(0, PREFIX_KEY_LEN));
    if (!byIcao && !byPrefix) return this.#shortPrefix;
    return [...byIcao ?? NONE, ...byPrefix ?? NONE, ...this.#shortPrefix];
  }

  #test(c: Compiled, flight: Flight, state: AircraftState, out: AlertEvent[]): void {
    const rule = c.rule;
    const t = flight.time_position_unix;
    const altitude = flight.altitude_m ?? flight.geo_altitude_m;
    const position = { lat: flight.position.lat, lon: flight.position.lon, altitude_m: altitude };
    const band = inBand(rule, altitude);
    const area = c.area ? c.area.contains(flight.position) : true;
    const was = state.active.has(c.key);
    const distance = () => {
      const d = c.area?.centerDistanceM(flight.position);
      return d == null ? {} : { distance_m: Math.round(d) };
    };
    switch (rule.kind) {
      case "geofence": {
        const now = band === null ? (area ? was : false) : area && band;
        if (now === was) return;
        if (now) state.active.add(c.key);
        else state.active.delete(c.key);
        this.#touch(flight.icao24, state);
        const trigger: AlertTrigger = now ? "enter" : "leave";
        if (!c.on.has(trigger)) return;
        this.#fire(c, state, out, {
          id: alertId([rule.id, flight.icao24, trigger, iso(t)]),
          t,
          icao24: flight.icao24,
          callsign: flight.callsign,
          position,
          detail: { trigger, altitude_m: altitude, squawk: flight.squawk, ...distance() },
        });
        return;
      }
      case "squawk": {
        const now = area && band !== false && flight.squawk !== null &&
          (c.squawks?.has(flight.squawk) ?? false);
        if (now === was) return;
        this.#touch(flight.icao24, state);
        if (!now) {
          state.active.delete(c.key);
          return;
        }
        state.active.add(c.key);
        this.#fire(c, state, out, {
          id: alertId([rule.id, flight.icao24, "squawk", flight.squawk ?? "", iso(t)]),
          t,
          icao24: flight.icao24,
          callsign: flight.callsign,
          position,
          detail: { trigger: "squawk", squawk: flight.squawk, altitude_m: altitude, ...distance() },
        });
        return;
      }
      case "aircraft": {
        if (was || !c.on.has("seen")) return;
        if (!matchesAircraft(rule, flight.icao24, flight.callsign)) return;
        if (!area || band === false) return;
        state.active.add(c.key);
        this.#touch(flight.icao24, state);
        this.#fire(c, state, out, {
          id: alertId([rule.id, flight.icao24, "seen", iso(t)]),
          t,
          icao24: flight.icao24,
          callsign: flight.callsign,
          position,
          detail: { trigger: "seen", altitude_m: altitude, squawk: flight.squawk, ...distance() },
        });
        return;
      }
      case "anomaly":
        return; // fired by anomaly events, not by updates
    }
  }

  #testAnomaly(c: Compiled, event: AnomalyEvent, state: AircraftState, out: AlertEvent[]): void {
    const rule = c.rule;
    if (rule.kind === "anomaly") {
      if (!c.anomalyKinds.has(event.kind)) return;
      if (SEVERITY_RANK[event.severity] < c.minSeverity) return;
    } else if (rule.kind === "aircraft") {
      if (event.kind !== "takeoff" && event.kind !== "landing") return;
      if (!c.on.has(event.kind)) return;
      if (!matchesAircraft(rule, event.icao24, event.callsign)) return;
    } else return;
    if (c.area && !c.area.contains(event.position)) return;
    if (inBand(rule, event.position.altitude_m) === false) return;
    const seen = `${c.key}|${event.id}`;
    if (state.anomalies.has(seen)) return;
    state.anomalies.add(seen);
    this.#touch(event.icao24, state);
    const trigger = rule.kind === "anomaly" ? "anomaly" : event.kind;
    this.#fire(c, state, out, {
      id: alertId([rule.id, event.id]),
      t: Date.parse(event.started_at) / 1000,
      icao24: event.icao24,
      callsign: event.callsign,
      position: event.position,
      detail: {
        trigger,
        anomaly_id: event.id,
        anomaly_kind: event.kind,
        severity: event.severity,
        started_at: event.started_at,
        ...(c.area?.centerDistanceM(event.position) != null
          ? { distance_m: Math.round(c.area.centerDistanceM(event.position)!) }
          : {}),
      },
    });
  }

  #fire(
    c: Compiled,
    state: AircraftState,
    out: AlertEvent[],
    e: {
      id: string;
      t: number;
      icao24: string;
      callsign: string | null;
      position: AlertEvent["position"];
      detail: Record<string, unknown>;
    },
  ): void {
    const last = state.lastFired.get(c.key);
    if (last !== undefined && e.t - last < c.rule.cooldown_s && e.t >= last) return;
    state.lastFired.set(c.key, e.t);
    this.#touch(e.icao24, state);
    this.#fired++;
    out.push({
      id: e.id,
      rule_id: c.rule.id,
      rule_name: c.rule.name,
      kind: c.rule.kind,
      icao24: e.icao24,
      callsign: e.callsign,
      at: iso(e.t),
      position: {
        lat: e.position.lat,
        lon: e.position.lon,
        altitude_m: e.position.altitude_m,
      },
      detail: e.detail,
    });
  }
}

function newState(t: number): AircraftState {
  return {
    lastT: t,
    version: 0,
    persistedT: t,
    active: new Set(),
    lastFired: new Map(),
    anomalies: new Set(),
  };
}

function isEmpty(s: AircraftState): boolean {
  return s.active.size === 0 && s.lastFired.size === 0 && s.anomalies.size === 0;
}

/** true / false, or null when the rule has a band and the altitude is unknown. */
function inBand(rule: AlertRule, altitude: number | null): boolean | null {
  const min = rule.min_altitude_m;
  const max = rule.max_altitude_m;
  if (min === null && max === null) return true;
  if (altitude === null) return null;
  return (min === null || altitude >= min) && (max === null || altitude <= max);
}

function matchesAircraft(rule: AlertRule, icao24: string, callsign: string | null): boolean {
  if (rule.icao24 !== null && rule.icao24 === icao24) return true;
  if (rule.callsign_prefix !== null && callsign !== null) {
    return callsign.toUpperCase().startsWith(rule.callsign_prefix);
  }
  return false;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
