/**
 * Alert toasts: one per alert pushed by the hub (`alert` messages), newest
 * on top, the aircraft and what it did; a click flies to it. An optional
 * short beep (Web Audio, off by default: browsers allow sound only after a
 * user gesture, and a room full of beeping screens is nobody's wish).
 *
 * @module
 */
import { useEffect, useRef } from "preact/hooks";
import type { AlertEvent } from "../contracts/alerts.ts";

export interface AlertToastProps {
  alerts: AlertEvent[];
  sound: boolean;
  onSound(on: boolean): void;
  onFocus(e: AlertEvent): void;
  onDismiss(id: string): void;
}

const TRIGGER: Record<string, string> = {
  enter: "entered",
  leave: "left",
  seen: "seen",
  takeoff: "took off",
  landing: "landed",
};

/** What the aircraft did, in words. */
export function alertText(e: AlertEvent): string {
  const trigger = String(e.detail.trigger ?? e.kind);
  if (trigger === "squawk") return `squawking ${e.detail.squawk}`;
  if (trigger === "anomaly") return String(e.detail.anomaly_kind ?? "anomaly").replace(/_/g, " ");
  return TRIGGER[trigger] ?? trigger;
}

function beep(): void {
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.05;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.15);
    osc.onended = () => void ctx.close();
  } catch {
    // No audio device or not allowed yet: the toast is enough.
  }
}

export function AlertToast(p: AlertToastProps) {
  const newest = p.alerts[0]?.id;
  const last = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (newest && newest !== last.current && p.sound) beep();
    last.current = newest;
  }, [newest, p.sound]);
  return (
    <div class="alert-toasts" aria-live="polite" aria-label="Alerts">
      {p.alerts.length > 0 && (
        <label class="alert-sound">
          <input
            type="checkbox"
            checked={p.sound}
            onChange={(e) => p.onSound((e.target as HTMLInputElement).checked)}
          />{" "}
          sound
        </label>
      )}
      {p.alerts.slice(0, 5).map((e) => (
        <div class="alert-toast card" key={e.id} data-alert-id={e.id} data-rule-id={e.rule_id}>
          <button
            type="button"
            class="alert-main"
            title="Fly there"
            onClick={() =>
              p.onFocus(e)}
          >
            <strong>{e.rule_name}</strong>
            <span>
              {e.callsign ?? e.icao24} {alertText(e)}
              {e.position.altitude_m !== null && ` at ${Math.round(e.position.altitude_m)} m`}
            </span>
          </button>
          <button
            type="button"
            class="alert-close"
            aria-label="Dismiss"
            onClick={() =>
              p.onDismiss(e.id)}
          >
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
