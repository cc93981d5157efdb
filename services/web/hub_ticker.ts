/**
 * When the hub ticks. A fixed timer makes every update wait for the next
 * tick: up to a whole interval (200 ms), which alone is the p99 of
 * ingest-to-receive. Instead the ticks follow the feed:
 *
 * - the first change after a tick schedules the next one as soon as
 *   `minIntervalMs` (WS_DELTA_INTERVAL_MS) has passed since the previous
 *   tick was due (a timer's lateness up to a quarter interval is not
 *   counted, so ticks do not drift off a feed's grid; nor is a change's own
 *   lateness within its interval), after the current
 *   task (so a feed batch or a Kafka batch, ingested synchronously, goes out
 *   in one delta); the tick rate stays within one per interval, but for the
 *   rare early tick below, so the per-tick cost is bounded as before;
 * - without changes, a heartbeat tick every `heartbeatMs` (empty deltas:
 *   liveness for the clients, stale sweeps);
 * - {@link TickScheduler.now} ticks at once (a relay forwarding an upstream
 *   frame: the upstream already spaced its ticks).
 *
 * A feed that arrives in bursts (a receiver's batch, OpenSky's 10 s poll, a
 * relay's upstream) then waits only for the encode; a feed that trickles in
 * continuously waits up to `minIntervalMs`, as with the fixed timer. Seq and
 * resync semantics do not change (docs/protocol.md): each tick is still one
 * delta with the next seq for every client.
 *
 * A feed whose period equals `minIntervalMs` (the load harness's 5 parts/s
 * against 200 ms, a receiver's batches) would otherwise keep whatever phase
 * the first ticks took: when its parts land just after a tick, every part
 * waits most of an interval, and nothing moves the ticks back onto the feed
 * (measured at 10,000 x 500: bin ingest-to-receive p50 94-201 ms from run to
 * run, with tick p50 35-47 ms). So once every {@link REALIGN_INTERVALS}
 * intervals a change may tick at once, sooner than the interval after the
 * previous tick: the next part then finds the interval passed and ticks as it
 * lands. That costs at most one extra (small) tick per {@link REALIGN_INTERVALS}
 * intervals against a continuous trickle, and bounds a feed that drifts
 * against the interval to about as many intervals' drift of waiting.
 *
 * @module
 */

/** At most one early tick per this many intervals (see above): at most 10% more ticks. */
export const REALIGN_INTERVALS = 10;

export interface TickSchedulerOptions {
  /** Shortest time between two ticks, ms. */
  minIntervalMs: number;
  /** Longest time between two ticks when nothing changes, ms. */
  heartbeatMs: number;
  /** Runs one tick (which calls {@link TickScheduler.ticked}). */
  tick: () => void;
  /** Monotonic clock and timers (tests drive them by hand). Default performance.now and setTimeout. */
  timers?: TickTimers;
}

export interface TickTimers {
  now(): number;
  set(fn: () => void, ms: number): number;
  clear(id: number): void;
}

const REAL_TIMERS: TickTimers = {
  now: () => performance.now(),
  set: (fn, ms) => setTimeout(fn, ms) as unknown as number,
  clear: (id) => clearTimeout(id),
};

export class TickScheduler {
  readonly #o: TickSchedulerOptions;
  readonly #t: TickTimers;
  #timer: number | undefined;
  /** When the armed timer fires (monotonic ms), Infinity when none. */
  #dueAt = Infinity;
  #lastTickAt = -Infinity;
  /** From when a change may tick sooner than the interval again (monotonic ms). */
  #earlyAt = -Infinity;
  /** The due time of the timer whose tick is running, if a timer started it. */
  #firedDueAt: number | undefined;
  /** Where the interval after the running tick counts from, when not its due time. */
  #firedSlot: number | undefined;
  #running = false;

  constructor(options: TickSchedulerOptions) {
    this.#o = options;
    this.#t = options.timers ?? REAL_TIMERS;
  }

  /** Arms the heartbeat. */
  start(): void {
    this.#running = true;
    this.#arm(this.#t.now() + this.#o.heartbeatMs);
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) this.#t.clear(this.#timer);
    this.#timer = undefined;
    this.#dueAt = Infinity;
  }

  /** When the next tick is due (monotonic ms), Infinity when none is armed. */
  get dueAt(): number {
    return this.#dueAt;
  }

  /**
   * Changes are pending: tick once the minimum interval since the last tick
   * has passed, or at once when an early tick is allowed (realigning on the feed).
   */
  wake(): void {
    if (!this.#running) return;
    const allowed = this.#lastTickAt + this.#o.minIntervalMs;
    // Already due as early as allowed: the common case while a batch is ingested.
    if (this.#dueAt <= allowed) return;
    const now = this.#t.now();
    if (now < allowed && now >= this.#earlyAt) {
      this.#earlyAt = now + REALIGN_INTERVALS * this.#o.minIntervalMs;
      this.#arm(now);
      return;
    }
    const at = Math.max(now, allowed);
    // A change that comes late in its interval goes out at once but leaves the ticks' grid
    // where it was: counting the next interval from it would hold every later tick back by the
    // worst delay since the last realignment (a busy event loop delays a feed's parts).
    const slot = now > allowed && now - allowed < this.#o.minIntervalMs ? allowed : at;
    if (at < this.#dueAt) this.#arm(at, { slot });
  }

  /** Ticks now, whatever the interval (the caller spaces its calls). */
  now(): void {
    if (this.#running) this.#o.tick();
  }

  /** Called by every tick (timer, {@link now} or a test's direct call): re-arms the heartbeat. */
  ticked(): void {
    const now = this.#t.now();
    const due = this.#firedDueAt;
    const slot = this.#firedSlot;
    this.#firedDueAt = undefined;
    this.#firedSlot = undefined;
    // The interval counts from when the tick was due, not from when the timer got to run: timers
    // fire a little late, and counting from the late run made every tick later than the last
    // (~1 ms each), sliding the ticks away from a feed that comes on a fixed grid until updates
    // waited a whole interval again. A tick much later than due (a busy loop) counts from now.
    this.#lastTickAt = due !== undefined && now - due < this.#o.minIntervalMs / 4
      ? slot ?? due
      : now;
    if (this.#running) this.#arm(now + this.#o.heartbeatMs, { replace: true });
  }

  /** Arms the timer for `at`; `slot` is where the interval after that tick counts from (default `at`). */
  #arm(at: number, options: { replace?: boolean; slot?: number } = {}): void {
    if (!options.replace && at >= this.#dueAt) return;
    if (this.#timer !== undefined) this.#t.clear(this.#timer);
    this.#dueAt = at;
    this.#timer = this.#t.set(() => {
      this.#timer = undefined;
      this.#dueAt = Infinity;
      this.#firedDueAt = at;
      this.#firedSlot = options.slot;
      try {
        this.#o.tick();
      } finally {
        this.#firedDueAt = undefined;
        this.#firedSlot = undefined;
        // A tick that threw did not re-arm: keep ticking, as an interval timer would.
        if (this.#running && this.#timer === undefined) {
          this.#arm(this.#t.now() + this.#o.heartbeatMs);
        }
      }
    }, Math.max(0, at - this.#t.now()));
  }
}
