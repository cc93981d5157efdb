/**
 * Sliding sample windows shared by the detectors. Private to `lib/detect/`.
 *
 * @module
 */

/**
 * Appends `sample`, or replaces the newest one while it is less than
 * `spacing` s after the one before: memory stays bounded at high update rates
 * and the newest sample always reflects the latest update.
 */
export function thinPush<T extends { t: number }>(samples: T[], sample: T, spacing: number): void {
  const n = samples.length;
  if (n >= 2 && samples[n - 1]!.t - samples[n - 2]!.t < spacing) samples[n - 1] = sample;
  else samples.push(sample);
}
