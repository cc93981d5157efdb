/**
 * The selected aircraft: identity, the numbers spotters look at, ages of
 * the data, and the cockpit-view toggle.
 *
 * @module
 */
import type { Flight } from "../contracts/flight.ts";
import type { SelectedView } from "../lib/client/controller.ts";
import { EMERGENCY_SQUAWKS } from "../lib/client/anomalies.ts";
import {
  formatAge,
  formatAltitude,
  formatClock,
  formatHeading,
  formatKmh,
  formatMetres,
  formatSpeed,
  formatVerticalRate,
} from "../lib/client/format.ts";
import { countryOfAddress } from "../lib/client/icao_country.ts";
import { CameraIcon, CloseIcon, PlaneIcon } from "./Icons.tsx";

/**
 * Why marker and trail can differ by a few metres: the live map draws each
 * aircraft at its raw reported position (moved on by dead reckoning between
 * reports), while the trail is the worker's Kalman-smoothed track from the
 * history API (README, "The globe").
 */
export const POSITION_NOTE =
  "The marker is the raw reported position, dead-reckoned between reports; the trail is the " +
  "smoothed track recorded by the worker (Kalman filter), so the two can differ by a few metres.";

/** Display names of the flight's `source` (contracts/flight.ts). */
const SOURCE_NAMES: Record<NonNullable<Flight["source"]>, string> = {
  opensky: "OpenSky",
  replay: "replay",
  sbs: "receiver (SBS)",
  beast: "receiver (Beast)",
  aircraft_json: "receiver (aircraft.json)",
  adsbx_v2: "aggregator (v2 API)",
};

export interface DetailsPanelProps {
  selected: SelectedView;
  cockpit: boolean;
  onClose(): void;
  onCockpit(on: boolean): void;
  onLocate(): void;
}

export function DetailsPanel(
  { selected: s, cockpit, onClose, onCockpit, onLocate }: DetailsPanelProps,
) {
  const f = s.flight;
  const country = f?.origin_country ?? countryOfAddress(s.icao24);
  const emergency = f?.squawk ? EMERGENCY_SQUAWKS[f.squawk] : undefined;
  return (
    <section class="card details" aria-label="Selected aircraft" data-icao24={s.icao24}>
      <div class="card-head">
        <PlaneIcon size={16} />
        <h2 class="callsign" id="details-callsign">{f?.callsign || s.icao24.toUpperCase()}</h2>
        <button type="button" class="icon-btn" aria-label="Close details (Esc)" onClick={onClose}>
          <CloseIcon size={14} />
        </button>
      </div>
      <div class="card-body">
        <div class="ident">
          <span class="hex" title="ICAO 24-bit address">{s.icao24}</span>
          <span
            class="country"
            title={f?.origin_country ? "Country of registration" : "From the ICAO address block"}
          >
            {country ?? "unknown country"}
          </span>
        </div>
        {!f && <p class="note">Not in view right now (gone, filtered out, or not yet received).</p>}
        {emergency && <p class="alert">Squawk {f!.squawk}: {emergency}</p>}
        {f?.emergency && !emergency && <p class="alert">Declared emergency: {f.emergency}</p>}
        {f && (
          <dl class="grid">
            <div>
              <dt>Altitude</dt>
              <dd id="details-altitude">
                {f.on_ground ? "on ground" : formatAltitude(f.altitude_m)}
                <small>{f.on_ground ? "" : formatMetres(f.altitude_m)}</small>
              </dd>
            </div>
            <div>
              <dt>Ground speed</dt>
              <dd>
                {formatSpeed(f.velocity_mps)}
                <small>{formatKmh(f.velocity_mps)}</small>
              </dd>
            </div>
            <div>
              <dt>Track</dt>
              <dd>{formatHeading(f.heading_deg)}</dd>
            </div>
            <div>
              <dt>Vertical rate</dt>
              <dd>{formatVerticalRate(f.vertical_rate_mps)}</dd>
            </div>
            <div>
              <dt>Squawk</dt>
              <dd class={emergency ? "emerg" : ""}>{f.squawk ?? "—"}</dd>
            </div>
            <div>
              <dt>GNSS altitude</dt>
              <dd>{formatAltitude(f.geo_altitude_m)}</dd>
            </div>
            <div>
              <dt>Last contact</dt>
              <dd id="details-age">{formatAge(s.contactAgeS)} ago</dd>
            </div>
            <div>
              <dt>Position</dt>
              <dd id="details-position" title={POSITION_NOTE}>
                {formatAge(s.positionAgeS)} old, as reported
                {s.positionAgeS !== null && s.positionAgeS > 20 && (
                  <small class="ghost-note">dead-reckoned</small>
                )}
              </dd>
            </div>
            <div>
              <dt>Source</dt>
              <dd id="details-source" title="Where the position came from">
                {f.source ? SOURCE_NAMES[f.source] : "—"}
              </dd>
            </div>
          </dl>
        )}
        <p class="trail-note" title={POSITION_NOTE}>
          {s.trailPoints >= 2
            ? `Trail: ${s.trailPoints} points${
              s.session ? ` since ${formatClock(s.session.first_seen)}` : ""
            }, Kalman-smoothed`
            : s.trailNote ?? "Loading trail…"}
        </p>
        <div class="actions">
          <button
            type="button"
            class={`btn ${cockpit ? "on" : ""}`}
            id="cockpit-toggle"
            aria-pressed={cockpit}
            disabled={!f}
            onClick={() => onCockpit(!cockpit)}
          >
            <CameraIcon size={14} />
            {cockpit ? "Leave cockpit (Esc)" : "Cockpit view (C)"}
          </button>
          <button type="button" class="btn ghost" disabled={!f || cockpit} onClick={onLocate}>
            Locate
          </button>
        </div>
      </div>
    </section>
  );
}
