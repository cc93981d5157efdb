/**
 * Server-side subscription filters: normalisation, a canonical key (clients
 * with equal keys share a bucket and its encoded frames), and matching.
 *
 * Semantics (the `Subscription` schema in contracts/ws.ts):
 * - `bbox` `[lamin, lomin, lamax, lomax]` includes its edges; `lomin > lomax`
 *   is a box across the antimeridian (lon >= lomin or lon <= lomax);
 * - altitude bounds use the barometric altitude; an aircraft without one
 *   passes only when it reports being on the ground (and `on_ground` allows it);
 * - `callsign_prefix` is case-insensitive; aircraft without a callsign fail it.
 *
 * @module
 */
import type { Flight } from "../../contracts/flight.ts";
import type { Subscription } from "../../contracts/ws.ts";

export type { Subscription };

/** A predicate compiled from a normalised subscription. */
export type FlightPredicate = (flight: Flight) => boolean;

/**
 * The canonical form of a subscription: callsign prefix upper-cased, empty
 * constraints dropped (an empty prefix, a bbox covering the globe).
 */
export function normaliseSubscription(sub: Subscription = {}): Subscription {
  const out: Subscription = {};
  if (sub.bbox && !coversGlobe(sub.bbox)) out.bbox = [...sub.bbox];
  if (sub.min_altitude_m !== undefined) out.min_altitude_m = sub.min_altitude_m;
  if (sub.max_altitude_m !== undefined) out.max_altitude_m = sub.max_altitude_m;
  if (sub.on_ground !== undefined) out.on_ground = sub.on_ground;
  if (sub.callsign_prefix) out.callsign_prefix = sub.callsign_prefix.toUpperCase();
  return out;
}

/** Canonical key of a subscription: equal filters, equal keys. `all` for no constraint. */
export function subscriptionKey(sub: Subscription = {}): string {
  const n = normaliseSubscription(sub);
  if (isUnfiltered(n)) return "all";
  // Fixed field order, so the key does not depend on the client's key order.
  return JSON.stringify([
    n.bbox ?? null,
    n.min_altitude_m ?? null,
    n.max_altitude_m ?? null,
    n.on_ground ?? null,
    n.callsign_prefix ?? null,
  ]);
}

/** True when a (normalised) subscription lets every aircraft through. */
export function isUnfiltered(sub: Subscription): boolean {
  return sub.bbox === undefined && sub.min_altitude_m === undefined &&
    sub.max_altitude_m === undefined && sub.on_ground === undefined && !sub.callsign_prefix;
}

/** True when `flight` passes `sub`. */
export function matches(flight: Flight, sub: Subscription): boolean {
  return compileFilter(sub)(flight);
}

/** A predicate for `sub`, with the normalisation done once (for buckets). */
export function compileFilter(sub: Subscription): FlightPredicate {
  const n = normaliseSubscription(sub);
  if (isUnfiltered(n)) return () => true;
  const { bbox, min_altitude_m: min, max_altitude_m: max, on_ground: onGround } = n;
  const prefix = n.callsign_prefix;
  const hasAltitude = min !== undefined || max !== undefined;
  return (f) => {
    if (onGround !== undefined && f.on_ground !== onGround) return false;
    if (prefix && !(f.callsign !== null && f.callsign.toUpperCase().startsWith(prefix))) {
      return false;
    }
    if (bbox) {
      const [lamin, lomin, lamax, lomax] = bbox;
      const { lat, lon } = f.position;
      if (lat < lamin || lat > lamax) return false;
      const inLon = lomin <= lomax ? lon >= lomin && lon <= lomax : lon >= lomin || lon <= lomax;
      if (!inLon) return false;
    }
    if (hasAltitude) {
      const alt = f.altitude_m;
      if (alt === null) return f.on_ground;
      if (min !== undefined && alt < min) return false;
      if (max !== undefined && alt > max) return false;
    }
    return true;
  };
}

function coversGlobe(bbox: readonly number[]): boolean {
  return bbox[0] === -90 && bbox[1] === -180 && bbox[2] === 90 && bbox[3] === 180;
}
