/**
 * The altitude colour legend, with the ground and ghost swatches.
 *
 * @module
 */
import {
  GHOST_COLOUR,
  GROUND_COLOUR,
  legendGradient,
  legendTicks,
  toHex,
} from "../lib/client/colour_scale.ts";

export function Legend() {
  return (
    <section class="legend" aria-label="Altitude colours">
      <div class="legend-title">Altitude (ft)</div>
      <div class="legend-bar" style={{ background: legendGradient() }} />
      <div class="legend-ticks">
        {legendTicks().map((t) => (
          <span key={t.label} style={{ left: `${(t.at * 100).toFixed(1)}%` }}>{t.label}</span>
        ))}
      </div>
      <div class="legend-keys">
        <span>
          <i style={{ background: toHex(GROUND_COLOUR) }} /> ground
        </span>
        <span title="No position for a while: dead-reckoned, fading">
          <i style={{ background: toHex(GHOST_COLOUR) }} /> ghost
        </span>
        <span>
          <i class="emerg" /> emergency
        </span>
      </div>
    </section>
  );
}
