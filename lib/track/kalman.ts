/**
 * Constant-velocity Kalman filter for one aircraft.
 *
 * Horizontal state `[east, north, v_east, v_north]` (m, m/s) in a local
 * tangent-plane frame ({@link createEnuFrame}) that is re-centred on the
 * aircraft when it moves more than `recentreM` from the reference. Vertical
 * state `[altitude, vertical_rate]` (m, m/s) is a second, independent filter.
 * Time steps vary (dt from `time_position`); process noise is white
 * acceleration, so it grows with dt (dt³/3, dt²/2, dt).
 *
 * Every measured quantity passes a chi-square innovation gate first
 * (position and velocity with 2 degrees of freedom, altitude and vertical
 * rate with 1, both at 99.9 %: 13.82 and 10.83). A gated measurement is not
 * applied and is reported as `rejected`, so a single bad value (a jump of
 * kilometres, a vertical-rate spike, a stale velocity) does not drag the
 * track. After a rejection the next prediction is widened
 * (`manoeuvreBoost`), so that the start of a real turn or pull-up gets in.
 * When `restartAfterRejects` of the last five positions (or that many
 * altitudes in a row) are rejected, the aircraft really is elsewhere and the
 * filter re-initialises from the measurements, with the velocity derived
 * from the run of rejected positions when the reported one disagrees (so a
 * stale velocity field cannot poison the restart); it also restarts after a
 * gap longer than `maxGapS`.
 *
 * Data quirks handled, all seen in the fixtures: whole-second timestamps
 * (the along-track position error grows with speed, see `timingSigmaS`), a
 * position repeated unchanged while the aircraft moves (not applied), and a
 * speed/track field frozen for minutes (`staleVelocityS`).
 *
 * Pure: no I/O.
 *
 * @module
 */
import { createEnuFrame, type EnuFrame } from "../geo/enu.ts";
import { normalizeDeg } from "../geo/angles.ts";
import { DEG } from "../geo/units.ts";
import { gatedUpdate2, mul4, mul4T, popcount } from "./_linalg.ts";

/** Tuning of {@link KalmanTrack}. Defaults fit 1-10 s ADS-B updates of airliners. */
export interface KalmanOptions {
  /** Horizontal white-acceleration spectral density, m²/s³. Default 10 (about 3 m/s² over one second). */
  accelNoise?: number;
  /**
   * Factor on `accelNoise` for the step after a gated-out position or
   * velocity: a rejection may be the start of a turn rather than an outlier,
   * and the wider next prediction lets a real manoeuvre in while a single bad
   * value still fails the gate. Default 10.
   */
  manoeuvreBoost?: number;
  /**
   * Vertical white-acceleration spectral density, m²/s³. Default 3: a
   * go-around pull-up changes the vertical rate by ~20 m/s within 10 s.
   */
  verticalAccelNoise?: number;
  /** Position measurement sigma per axis, m. Default 20. */
  positionSigmaM?: number;
  /**
   * Timing error of a position, s. `time_position` comes in whole seconds and
   * the position may be up to a second older, so the error along the track
   * grows with speed: R = σ² I + (σ_t v)(σ_t v)ᵀ. Default 0.5.
   */
  timingSigmaS?: number;
  /** Velocity measurement sigma per axis, m/s. Default 2. */
  velocitySigmaMps?: number;
  /** Barometric altitude sigma, m (25 ft steps plus noise). Default 10. */
  altitudeSigmaM?: number;
  /** Vertical-rate sigma, m/s. Default 1.5. */
  verticalRateSigmaMps?: number;
  /** Gate for 2-dof innovations (chi-square, 99.9 %). Default 13.82. */
  gate2?: number;
  /** Gate for 1-dof innovations (chi-square, 99.9 %). Default 10.83. */
  gate1?: number;
  /** Rejected positions (altitudes) in a row that force a restart. Default 3. */
  restartAfterRejects?: number;
  /** A gap longer than this (s) restarts the filter. Default 60. */
  maxGapS?: number;
  /**
   * A speed/track pair repeated unchanged for longer than this (s) is a frozen
   * field, not a measurement, and is no longer applied. Live ADS-B velocity is
   * quantised finely enough to flicker: the longest unchanged runs in the real
   * recordings are 60-100 s in steady cruise, frozen ones 210-760 s (HFY312P,
   * VLG64MN over Switzerland, TRA051 after touchdown). Default 120.
   */
  staleVelocityS?: number;
  /** Re-centre the local frame beyond this distance from its reference, m. Default 20,000. */
  recentreM?: number;
}

/** One observation, SI units; null where the source had no value. */
export interface KalmanMeasurement {
  /** Unix seconds of the position. */
  t: number;
  lat: number;
  lon: number;
  /** Ground speed, m/s. */
  velocityMps: number | null;
  /** True track, degrees. */
  trackDeg: number | null;
  /** Barometric altitude, m. */
  altitudeM: number | null;
  /** Vertical rate, m/s, positive up. */
  verticalRateMps: number | null;
}

/** What was gated out of this update. */
export interface RejectedFlags {
  position: boolean;
  velocity: boolean;
  altitude: boolean;
  vertical_rate: boolean;
}

/** Filter output for one update: smoothed values next to the raw ones. */
export interface KalmanEstimate {
  /** Unix seconds. */
  t: number;
  lat: number;
  lon: number;
  /** Smoothed altitude, m; null until a first altitude arrives. */
  altitude_m: number | null;
  ground_speed_mps: number;
  /** Degrees clockwise from true north, [0, 360). */
  track_deg: number;
  /** m/s, positive up; null until a first altitude arrives. */
  vertical_rate_mps: number | null;
  rejected: RejectedFlags;
  /** True when this update (re)started the horizontal or the vertical filter. */
  reinitialised: { horizontal: boolean; vertical: boolean };
  raw: {
    lat: number;
    lon: number;
    altitude_m: number | null;
    velocity_mps: number | null;
    track_deg: number | null;
    vertical_rate_mps: number | null;
  };
}

const DEFAULTS: Required<KalmanOptions> = {
  accelNoise: 10,
  manoeuvreBoost: 10,
  verticalAccelNoise: 3,
  positionSigmaM: 20,
  timingSigmaS: 0.5,
  velocitySigmaMps: 2,
  altitudeSigmaM: 10,
  verticalRateSigmaMps: 1.5,
  gate2: 13.82,
  gate1: 10.83,
  restartAfterRejects: 3,
  maxGapS: 60,
  staleVelocityS: 120,
  recentreM: 20_000,
};

/** Initial velocity sigma when the first fix has a velocity / has none, m/s. */
const INIT_SIGMA_V_MEASURED = 15;
const INIT_SIGMA_V_UNKNOWN = 150;
/** Above this difference a measured velocity is not trusted to restart with, m/s. */
const RESTART_VELOCITY_AGREEMENT_MPS = 25;
/** Position updates looked back on when counting rejections for a restart. */
const RESTART_WINDOW = 5;
/** Above this speed an unchanged position is a repeated (stale) one, m/s. */
const STALE_POSITION_MIN_SPEED_MPS = 5;

interface Rejected {
  t: number;
  lat: number;
  lon: number;
}

/** The filter state of one aircraft. Feed it measurements in increasing `t`. */
export class KalmanTrack {
  readonly #o: Required<KalmanOptions>;
  #frame: EnuFrame | null = null;
  readonly #x = new Float64Array(4);
  readonly #P = new Float64Array(16);
  #t = Number.NaN;
  /** Outcomes of the last RESTART_WINDOW position updates, 1 = rejected (newest in bit 0). */
  #posRejects = 0;
  #boost = 1;
  #firstRejectedPos: Rejected | null = null;
  // The last raw position and velocity field as plain numbers: objects here cost an allocation
  // per update (the worker's CPU time, issue #11).
  #lastRawLat = Number.NaN;
  #lastRawLon = Number.NaN;
  /** The last reported speed/track pair and since when it has not changed. */
  #fieldSpeed = Number.NaN;
  #fieldTrack = Number.NaN;
  #fieldSince = Number.NaN;
  // Vertical filter.
  #hKnown = false;
  #h = 0;
  #vh = 0;
  #p00 = 0;
  #p01 = 0;
  #p11 = 0;
  #tAltMeasured = Number.NaN;
  #tVertical = Number.NaN;
  #vBoost = 1;
  #altRejects = 0;
  #lastRejectedAlt: { t: number; h: number } | null = null;

  constructor(options: KalmanOptions = {}) {
    this.#o = { ...DEFAULTS, ...options };
  }

  /** Unix seconds of the last update, NaN before the first. */
  get lastTime(): number {
    return this.#t;
  }

  /** Applies one measurement; `m.t` must be greater than {@link lastTime}. */
  update(m: KalmanMeasurement): KalmanEstimate {
    const rejected: RejectedFlags = {
      position: false,
      velocity: false,
      altitude: false,
      vertical_rate: false,
    };
    const reinitialised = { horizontal: false, vertical: false };
    const dt = m.t - this.#t;
    if (this.#frame === null || !(dt <= this.#o.maxGapS)) {
      this.#initHorizontal(m, null);
      reinitialised.horizontal = true;
    } else {
      this.#updateHorizontal(m, Math.max(0, dt), rejected, reinitialised);
    }
    this.#t = m.t;
    this.#updateVertical(m, rejected, reinitialised);
    return this.#estimate(m, rejected, reinitialised);
  }

  #initHorizontal(
    m: KalmanMeasurement,
    derived: { ve: number; vn: number; spanS: number } | null,
  ): void {
    this.#frame = createEnuFrame(m);
    this.#lastRawLat = m.lat;
    this.#lastRawLon = m.lon;
    const x = this.#x;
    const P = this.#P;
    P.fill(0);
    x[0] = 0;
    x[1] = 0;
    const measured = this.#measuredVelocity(m);
    let sigmaV = INIT_SIGMA_V_UNKNOWN;
    if (derived !== null) {
      // The derived velocity is only as good as the timing over its span.
      const tolerance = RESTART_VELOCITY_AGREEMENT_MPS + 300 / derived.spanS;
      const agree = measured !== null &&
        Math.hypot(measured.ve - derived.ve, measured.vn - derived.vn) < tolerance;
      const v = agree ? measured : derived;
      x[2] = v.ve;
      x[3] = v.vn;
      sigmaV = agree ? this.#o.velocitySigmaMps * 2 : INIT_SIGMA_V_MEASURED;
    } else if (measured !== null) {
      x[2] = measured.ve;
      x[3] = measured.vn;
      sigmaV = INIT_SIGMA_V_MEASURED;
    } else {
      x[2] = 0;
      x[3] = 0;
    }
    const sp2 = this.#o.positionSigmaM ** 2;
    P[0] = sp2;
    P[5] = sp2;
    P[10] = sigmaV * sigmaV;
    P[15] = sigmaV * sigmaV;
    this.#posRejects = 0;
    this.#firstRejectedPos = null;
  }

  #updateHorizontal(
    m: KalmanMeasurement,
    dt: number,
    rejected: RejectedFlags,
    reinitialised: { horizontal: boolean },
  ): void {
    const frame = this.#recentreIfFar();
    this.#predict(dt, this.#boost);
    this.#boost = 1;
    const v = this.#measuredVelocity(m);
    const stale = m.lat === this.#lastRawLat && m.lon === this.#lastRawLon &&
      Math.hypot(this.#x[2]!, this.#x[3]!) > STALE_POSITION_MIN_SPEED_MPS;
    this.#lastRawLat = m.lat;
    this.#lastRawLon = m.lon;
    if (stale) {
      // A moving aircraft cannot report the same position twice (1e-5° is about a metre):
      // the source repeated an old one. Not applied, and not evidence of a jump either.
      rejected.position = true;
    } else {
      this.#updatePosition(m, v, frame, rejected, reinitialised);
      if (reinitialised.horizontal) return;
    }
    if (v !== null) {
      const rv = this.#o.velocitySigmaMps ** 2;
      if (!gatedUpdate2(this.#x, this.#P, 2, v.ve, v.vn, rv, 0, rv, this.#o.gate2)) {
        rejected.velocity = true;
        this.#boost = this.#o.manoeuvreBoost;
      }
    }
  }

  #updatePosition(
    m: KalmanMeasurement,
    v: { ve: number; vn: number } | null,
    frame: EnuFrame,
    rejected: RejectedFlags,
    reinitialised: { horizontal: boolean },
  ): void {
    const z = frame.toEnu(m);
    const sp2 = this.#o.positionSigmaM ** 2;
    const st = this.#o.timingSigmaS;
    const ae = st * (v?.ve ?? this.#x[2]!);
    const an = st * (v?.vn ?? this.#x[3]!);
    const mask = (1 << RESTART_WINDOW) - 1;
    const r00 = sp2 + ae * ae;
    const r01 = ae * an;
    const r11 = sp2 + an * an;
    if (gatedUpdate2(this.#x, this.#P, 0, z.east, z.north, r00, r01, r11, this.#o.gate2)) {
      this.#posRejects = (this.#posRejects << 1) & mask;
      if (this.#posRejects === 0) this.#firstRejectedPos = null;
    } else {
      rejected.position = true;
      this.#boost = this.#o.manoeuvreBoost;
      this.#posRejects = ((this.#posRejects << 1) | 1) & mask;
      const first = this.#firstRejectedPos ?? { t: m.t, lat: m.lat, lon: m.lon };
      this.#firstRejectedPos = first;
      if (popcount(this.#posRejects) >= this.#o.restartAfterRejects) {
        // Velocity over the whole run of rejected positions: a longer baseline than
        // two neighbours, whose timing jitter alone can be a second.
        let derived: { ve: number; vn: number; spanS: number } | null = null;
        if (m.t > first.t) {
          const p = frame.toEnu(first);
          const span = m.t - first.t;
          derived = { ve: (z.east - p.east) / span, vn: (z.north - p.north) / span, spanS: span };
        }
        this.#initHorizontal(m, derived);
        reinitialised.horizontal = true;
      }
    }
  }

  /**
   * Measured velocity rotated into the frame, or null when speed or track is
   * missing or has been frozen for longer than `staleVelocityS`.
   */
  #measuredVelocity(m: KalmanMeasurement): { ve: number; vn: number } | null {
    if (m.velocityMps === null || m.trackDeg === null || this.#frame === null) return null;
    if (this.#fieldSpeed !== m.velocityMps || this.#fieldTrack !== m.trackDeg) {
      this.#fieldSpeed = m.velocityMps;
      this.#fieldTrack = m.trackDeg;
      this.#fieldSince = m.t;
    } else if (m.t - this.#fieldSince > this.#o.staleVelocityS) {
      return null;
    }
    const angle = (m.trackDeg + this.#frame.convergenceDeg(m)) * DEG;
    return { ve: m.velocityMps * Math.sin(angle), vn: m.velocityMps * Math.cos(angle) };
  }

  /** Moves the frame reference onto the aircraft when it has flown far from it. */
  #recentreIfFar(): EnuFrame {
    const frame = this.#frame as EnuFrame;
    const x = this.#x;
    if (Math.hypot(x[0]!, x[1]!) <= this.#o.recentreM) return frame;
    const here = frame.fromEnu(x[0]!, x[1]!);
    const next = createEnuFrame(here);
    // The axes turn by the meridian convergence between the two references.
    const rot = (next.convergenceDeg(here) - frame.convergenceDeg(here)) * DEG;
    const c = Math.cos(rot);
    const s = Math.sin(rot);
    const ve = x[2]!;
    const vn = x[3]!;
    x[0] = 0;
    x[1] = 0;
    x[2] = c * ve + s * vn;
    x[3] = -s * ve + c * vn;
    // P' = T P Tᵀ with T = blockdiag(rot, rot) (clockwise rotation of the axes).
    const T = new Float64Array(16);
    T[0] = c, T[1] = s, T[4] = -s, T[5] = c;
    T[10] = c, T[11] = s, T[14] = -s, T[15] = c;
    const TP = mul4(T, this.#P);
    this.#P.set(mul4T(TP, T));
    this.#frame = next;
    return next;
  }

  #predict(dt: number, boost: number): void {
    if (dt === 0) return;
    const x = this.#x;
    x[0] = x[0]! + dt * x[2]!;
    x[1] = x[1]! + dt * x[3]!;
    const P = this.#P;
    // F P Fᵀ for F = [[I, dt I], [0, I]], written out per 2x2 block.
    for (let axis = 0; axis < 2; axis++) {
      for (let other = 0; other < 2; other++) {
        const pp = P[axis * 4 + other]!;
        const pv = P[axis * 4 + other + 2]!;
        const vp = P[(axis + 2) * 4 + other]!;
        const vv = P[(axis + 2) * 4 + other + 2]!;
        P[axis * 4 + other] = pp + dt * (pv + vp) + dt * dt * vv;
        P[axis * 4 + other + 2] = pv + dt * vv;
        P[(axis + 2) * 4 + other] = vp + dt * vv;
      }
    }
    const q = this.#o.accelNoise * boost;
    const q11 = q * dt * dt * dt / 3;
    const q12 = q * dt * dt / 2;
    const q22 = q * dt;
    P[0] = P[0]! + q11;
    P[5] = P[5]! + q11;
    P[2] = P[2]! + q12;
    P[8] = P[8]! + q12;
    P[7] = P[7]! + q12;
    P[13] = P[13]! + q12;
    P[10] = P[10]! + q22;
    P[15] = P[15]! + q22;
  }

  #updateVertical(
    m: KalmanMeasurement,
    rejected: RejectedFlags,
    reinitialised: { vertical: boolean },
  ): void {
    const alt = m.altitudeM;
    if (!this.#hKnown || (alt !== null && !(m.t - this.#tAltMeasured <= this.#o.maxGapS))) {
      if (alt === null) return;
      this.#initVertical(m.t, alt, m.verticalRateMps, null);
      reinitialised.vertical = true;
      return;
    }
    // Without altitudes the estimate coasts for at most maxGapS, then holds.
    const until = Math.min(m.t, this.#tAltMeasured + this.#o.maxGapS);
    if (until > this.#tVertical) {
      this.#predictVertical(until - this.#tVertical, this.#vBoost);
      this.#vBoost = 1;
      this.#tVertical = until;
    }
    if (alt !== null) {
      // Same whole-second timing error as positions, along the vertical motion.
      const timing = this.#o.timingSigmaS * this.#vh;
      const s = this.#p00 + this.#o.altitudeSigmaM ** 2 + timing * timing;
      const y = alt - this.#h;
      if ((y * y) / s > this.#o.gate1) {
        rejected.altitude = true;
        // Only an altitude rejection hints at a manoeuvre; a rejected rate is just a bad rate.
        this.#vBoost = this.#o.manoeuvreBoost;
        this.#altRejects++;
        const previous = this.#lastRejectedAlt;
        this.#lastRejectedAlt = { t: m.t, h: alt };
        if (this.#altRejects >= this.#o.restartAfterRejects) {
          const derived = previous !== null && m.t > previous.t
            ? (alt - previous.h) / (m.t - previous.t)
            : null;
          this.#initVertical(m.t, alt, m.verticalRateMps, derived);
          reinitialised.vertical = true;
          return;
        }
      } else {
        this.#altRejects = 0;
        this.#lastRejectedAlt = null;
        this.#tAltMeasured = m.t;
        this.#applyVertical(0, y, s);
      }
    }
    if (m.verticalRateMps !== null) {
      const s = this.#p11 + this.#o.verticalRateSigmaMps ** 2;
      const y = m.verticalRateMps - this.#vh;
      if ((y * y) / s > this.#o.gate1) rejected.vertical_rate = true;
      else this.#applyVertical(1, y, s);
    }
  }

  #initVertical(t: number, alt: number, rate: number | null, derived: number | null): void {
    this.#hKnown = true;
    this.#h = alt;
    // A restart trusts the rate derived from the two rejected altitudes over a
    // disagreeing reported rate; a first fix trusts the reported rate loosely.
    if (derived !== null) {
      this.#vh = rate !== null && Math.abs(rate - derived) < 5 ? rate : derived;
    } else {
      this.#vh = rate ?? 0;
    }
    const sigmaV = derived !== null || rate !== null ? 5 : 15;
    this.#p00 = this.#o.altitudeSigmaM ** 2;
    this.#p01 = 0;
    this.#p11 = sigmaV * sigmaV;
    this.#tVertical = t;
    this.#tAltMeasured = t;
    this.#altRejects = 0;
    this.#lastRejectedAlt = null;
  }

  #predictVertical(dt: number, boost: number): void {
    if (!(dt > 0)) return;
    const q = this.#o.verticalAccelNoise * boost;
    this.#h += dt * this.#vh;
    const p00 = this.#p00 + dt * 2 * this.#p01 + dt * dt * this.#p11 + (q * dt * dt * dt) / 3;
    const p01 = this.#p01 + dt * this.#p11 + (q * dt * dt) / 2;
    this.#p11 += q * dt;
    this.#p00 = p00;
    this.#p01 = p01;
  }

  /** Scalar update of the vertical state on component `i` (0 altitude, 1 rate). */
  #applyVertical(i: 0 | 1, y: number, s: number): void {
    const k0 = (i === 0 ? this.#p00 : this.#p01) / s;
    const k1 = (i === 0 ? this.#p01 : this.#p11) / s;
    this.#h += k0 * y;
    this.#vh += k1 * y;
    const r0 = i === 0 ? this.#p00 : this.#p01;
    const r1 = i === 0 ? this.#p01 : this.#p11;
    this.#p00 -= k0 * r0;
    this.#p01 -= k0 * r1;
    this.#p11 -= k1 * r1;
  }

  #estimate(
    m: KalmanMeasurement,
    rejected: RejectedFlags,
    reinitialised: { horizontal: boolean; vertical: boolean },
  ): KalmanEstimate {
    const frame = this.#frame as EnuFrame;
    const x = this.#x;
    const pos = frame.fromEnu(x[0]!, x[1]!);
    const ve = x[2]!;
    const vn = x[3]!;
    const speed = Math.hypot(ve, vn);
    const track = speed > 0
      ? normalizeDeg(Math.atan2(ve, vn) / DEG - frame.convergenceDeg(pos))
      : 0;
    return {
      t: m.t,
      lat: pos.lat,
      lon: pos.lon,
      altitude_m: this.#hKnown ? this.#h : null,
      ground_speed_mps: speed,
      track_deg: track,
      vertical_rate_mps: this.#hKnown ? this.#vh : null,
      rejected,
      reinitialised,
      raw: {
        lat: m.lat,
        lon: m.lon,
        altitude_m: m.altitudeM,
        velocity_mps: m.velocityMps,
        track_deg: m.trackDeg,
        vertical_rate_mps: m.verticalRateMps,
      },
    };
  }
}
