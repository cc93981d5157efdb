/**
 * OpenSky's credit arithmetic for `GET /states/all`. Pure.
 *
 * Credits are counted per UTC day and per endpoint family; a `/states/all`
 * request costs by the area of the box asked for (OpenSky REST docs,
 * openskynetwork/opensky-api docs/free/rest.rst).
 *
 * @module
 */
import type { BBox } from "../../contracts/common.ts";

/** Which daily budget applies: anonymous (per IP), a registered user, or an active feeder. */
export type AccountType = "anonymous" | "standard" | "feeder";

/** Credits per UTC day for `/states` requests. */
export const DAILY_CREDITS: Readonly<Record<AccountType, number>> = Object.freeze({
  anonymous: 400,
  standard: 4_000,
  feeder: 8_000,
});

/**
 * Finest time resolution OpenSky serves, seconds: anonymous callers get
 * `now - now mod 10`, authenticated ones `t - t mod 5`. Polling faster only
 * spends credits on identical snapshots.
 */
export const TIME_RESOLUTION_S: Readonly<Record<AccountType, number>> = Object.freeze({
  anonymous: 10,
  standard: 5,
  feeder: 5,
});

const SECONDS_PER_DAY = 86_400;

/** Area of a box in square degrees (lat span x lon span); the whole world when null. */
export function boxAreaSqDeg(bbox: BBox | null): number {
  if (bbox === null) return 180 * 360;
  const [lamin, lomin, lamax, lomax] = bbox;
  return Math.abs(lamax - lamin) * Math.abs(lomax - lomin);
}

/** Credits one `/states/all` request costs: 1 up to 25 sq deg, 2 up to 100, 3 up to 400, else 4. */
export function requestCost(bbox: BBox | null): 1 | 2 | 3 | 4 {
  const area = boxAreaSqDeg(bbox);
  if (area <= 25) return 1;
  if (area <= 100) return 2;
  if (area <= 400) return 3;
  return 4;
}

/** What a poll interval costs per day against a budget. */
export interface BudgetCheck {
  /** Credits per request. */
  cost: number;
  /** Requests per UTC day at this interval. */
  pollsPerDay: number;
  /** Credits per UTC day at this interval. */
  creditsPerDay: number;
  /** The account's daily credits. */
  budget: number;
  /** True when a whole day of polling fits in the budget. */
  fits: boolean;
  /**
   * The smallest interval, whole seconds, whose daily cost fits the budget
   * and that is not finer than OpenSky's time resolution for the account.
   */
  minIntervalS: number;
}

/** Options for {@link checkBudget}. */
export interface BudgetOptions {
  /** The polled box, or null for the whole world. */
  bbox: BBox | null;
  account: AccountType;
}

/** Whether polling every `intervalS` seconds fits the account's daily credits. */
export function checkBudget(intervalS: number, options: BudgetOptions): BudgetCheck {
  if (!(intervalS > 0)) throw new RangeError(`poll interval must be positive, got ${intervalS}`);
  const cost = requestCost(options.bbox);
  const budget = DAILY_CREDITS[options.account];
  const pollsPerDay = Math.ceil(SECONDS_PER_DAY / intervalS);
  const creditsPerDay = pollsPerDay * cost;
  return {
    cost,
    pollsPerDay,
    creditsPerDay,
    budget,
    fits: creditsPerDay <= budget,
    minIntervalS: minimumPollInterval(options),
  };
}

/** The smallest whole-second poll interval that fits a day of polling in the budget. */
export function minimumPollInterval(options: BudgetOptions): number {
  const cost = requestCost(options.bbox);
  const budget = DAILY_CREDITS[options.account];
  const maxPolls = Math.floor(budget / cost);
  // Smallest integer s with ceil(86400 / s) <= maxPolls.
  let interval = Math.ceil(SECONDS_PER_DAY / maxPolls);
  while (Math.ceil(SECONDS_PER_DAY / interval) > maxPolls) interval++;
  return Math.max(interval, TIME_RESOLUTION_S[options.account]);
}
