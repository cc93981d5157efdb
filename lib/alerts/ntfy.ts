/**
 * The ntfy form of an alert (https://docs.ntfy.sh/publish/): the message as
 * the POST body, `Title`, `Click` and `Tags` headers. Any server speaking
 * that form (ntfy.sh, a self-hosted ntfy, Gotify bridges) shows it.
 *
 * @module
 */
import type { AlertEvent } from "../../contracts/alerts.ts";

/** What is POSTed to a rule's `ntfy_url`. */
export interface NtfyMessage {
  title: string;
  /** Plain text body. */
  message: string;
  /** URL opened when the notification is clicked: the globe centred on the aircraft. */
  click: string;
  tags: string[];
}

const TRIGGER_TEXT: Record<string, string> = {
  enter: "entered",
  leave: "left",
  seen: "seen",
  takeoff: "took off",
  landing: "landed",
  squawk: "squawking",
  anomaly: "anomaly",
};

/** Builds the ntfy message; `baseUrl` is the public URL of the globe (PUBLIC_URL). */
export function ntfyMessage(event: AlertEvent, baseUrl: string): NtfyMessage {
  const who = event.callsign ?? event.icao24;
  const trigger = String(event.detail.trigger ?? event.kind);
  const what = trigger === "squawk"
    ? `squawking ${event.detail.squawk}`
    : trigger === "anomaly"
    ? String(event.detail.anomaly_kind ?? "anomaly").replace(/_/g, " ")
    : `${TRIGGER_TEXT[trigger] ?? trigger}${
      event.kind === "geofence" ? ` ${event.rule_name}` : ""
    }`;
  const alt = event.position.altitude_m === null
    ? "altitude unknown"
    : `${Math.round(event.position.altitude_m)} m`;
  const { lat, lon } = event.position;
  const url = new URL("/", baseUrl);
  url.searchParams.set("icao24", event.icao24);
  url.searchParams.set("lat", lat.toFixed(4));
  url.searchParams.set("lon", lon.toFixed(4));
  return {
    title: `${event.rule_name}: ${who} ${what}`.slice(0, 200),
    message: `${who} (${event.icao24}) ${what} at ${event.at}, ${lat.toFixed(4)}, ${
      lon.toFixed(4)
    }, ${alt}.`,
    click: url.toString(),
    tags: ["airplane", event.kind],
  };
}
