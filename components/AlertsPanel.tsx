/**
 * The alerts panel: create a geofence rule (a circle drawn on the globe:
 * "draw", press at the centre, drag to the radius; or centre and radius
 * typed in, optionally taken from the selected aircraft; and an altitude
 * band), list the rules, mute and delete them. Writes need the server's
 * ADMIN_TOKEN, typed once and kept in this browser's localStorage. The
 * island draws the listed rules' areas and the draft circle on the globe.
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import type { AlertRule } from "../contracts/alerts.ts";
import type { DrawnCircle } from "../lib/client/geofence_layer.ts";

export interface AlertsPanelProps {
  open: boolean;
  onToggle(): void;
  /** A suggested centre (the selected aircraft, else the view), degrees. */
  centre: { lat: number; lon: number } | null;
  /** True while the globe is in draw mode. */
  drawing: boolean;
  /** Toggles draw mode on the globe. */
  onDraw(): void;
  /** The circle drawn last (its centre and radius fill the form). */
  drawn: DrawnCircle | null;
  /** The circle the form describes now, or null (the globe shows it as a draft). */
  onDraft(circle: DrawnCircle | null): void;
  /** The rules listed (the globe shows their areas). */
  onRules(rules: AlertRule[]): void;
}

const TOKEN_KEY = "skysentinel.adminToken";

async function call(method: string, path: string, token: string, body?: unknown) {
  const res = await fetch(path, {
    method,
    headers: {
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) {
    const text = await res.text();
    let message = text;
    try {
      message = JSON.parse(text).error?.message ?? text;
    } catch {
      // not JSON
    }
    throw new Error(`${res.status}: ${message}`);
  }
  return res.status === 204 ? null : await res.json();
}

const num = (v: string) => (v.trim() === "" ? null : Number(v));

export function AlertsPanel(p: AlertsPanelProps) {
  const [rules, setRules] = useState<AlertRule[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [token, setToken] = useState(() => globalThis.localStorage?.getItem(TOKEN_KEY) ?? "");
  const [form, setForm] = useState({
    name: "",
    lat: "",
    lon: "",
    radiusKm: "10",
    minAlt: "",
    maxAlt: "",
  });
  const reload = () =>
    call("GET", "/api/alerts", "").then((b) => {
      setRules(b.rules);
      p.onRules(b.rules);
    }).catch((e) => setError(e.message));
  // On load too: the globe shows the saved areas with the panel closed.
  useEffect(() => {
    reload();
  }, [p.open]);
  useEffect(() => {
    if (!p.drawn) return;
    setForm((f) => ({
      ...f,
      lat: p.drawn!.center[0].toFixed(5),
      lon: p.drawn!.center[1].toFixed(5),
      radiusKm: String(p.drawn!.radius_m / 1000),
    }));
  }, [p.drawn]);
  useEffect(() => {
    const lat = num(form.lat), lon = num(form.lon), km = num(form.radiusKm);
    const ok = lat !== null && lon !== null && km !== null && Math.abs(lat) <= 90 &&
      Math.abs(lon) <= 180 && km > 0;
    p.onDraft(ok ? { center: [lat, lon], radius_m: Math.round(km * 1000) } : null);
  }, [form.lat, form.lon, form.radiusKm]);
  const set = (k: keyof typeof form) => (e: Event) =>
    setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      await reload();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const create = (e: Event) => {
    e.preventDefault();
    globalThis.localStorage?.setItem(TOKEN_KEY, token);
    act(async () => {
      await call("POST", "/api/alerts", token, {
        name: form.name || "Area alert",
        kind: "geofence",
        geofence: {
          center: [Number(form.lat), Number(form.lon)],
          radius_m: Math.round(Number(form.radiusKm) * 1000),
        },
        min_altitude_m: num(form.minAlt),
        max_altitude_m: num(form.maxAlt),
        on: ["enter"],
      });
      // Saved: the globe shows it as a rule now, not as a draft.
      setForm((f) => ({ ...f, name: "", lat: "", lon: "" }));
    });
  };
  return (
    <section class={`card alerts-panel ${p.open ? "open" : ""}`} aria-label="Alert rules">
      <button type="button" class="card-head toggle" aria-expanded={p.open} onClick={p.onToggle}>
        <span>Alerts</span>
        <span class="badge">{rules.length}</span>
      </button>
      {p.open && (
        <div class="card-body">
          <form onSubmit={create} class="alert-form">
            <input placeholder="name" value={form.name} onInput={set("name")} name="name" />
            <div class="row">
              <input placeholder="lat" value={form.lat} onInput={set("lat")} name="lat" required />
              <input placeholder="lon" value={form.lon} onInput={set("lon")} name="lon" required />
              <button
                type="button"
                disabled={!p.centre}
                title="Use the selected aircraft or the view centre"
                onClick={() =>
                  p.centre && setForm({
                    ...form,
                    lat: p.centre.lat.toFixed(4),
                    lon: p.centre.lon.toFixed(4),
                  })}
              >
                here
              </button>
              <button
                type="button"
                class={p.drawing ? "active" : ""}
                aria-pressed={p.drawing}
                title="Draw a circle on the globe: press at the centre, drag to the radius"
                onClick={p.onDraw}
                name="draw"
              >
                {p.drawing ? "drawing…" : "draw"}
              </button>
            </div>
            <div class="row">
              <input
                placeholder="radius km"
                value={form.radiusKm}
                onInput={set("radiusKm")}
                name="radius_km"
              />
              <input
                placeholder="min alt m"
                value={form.minAlt}
                onInput={set("minAlt")}
                name="min_altitude_m"
              />
              <input
                placeholder="max alt m"
                value={form.maxAlt}
                onInput={set("maxAlt")}
                name="max_altitude_m"
              />
            </div>
            <input
              type="password"
              placeholder="ADMIN_TOKEN"
              value={token}
              onInput={(e) => setToken((e.target as HTMLInputElement).value)}
              name="token"
            />
            <button type="submit" class="btn">Create rule</button>
          </form>
          {error && <p class="error" role="alert">{error}</p>}
          <ul class="alert-rules">
            {rules.map((r) => (
              <li key={r.id} data-rule-id={r.id} class={r.muted ? "muted" : ""}>
                <span>{r.name}</span>
                <button
                  type="button"
                  onClick={() =>
                    act(() => call("PATCH", `/api/alerts/${r.id}`, token, { muted: !r.muted }))}
                >
                  {r.muted ? "unmute" : "mute"}
                </button>
                <button
                  type="button"
                  onClick={() => act(() => call("DELETE", `/api/alerts/${r.id}`, token))}
                >
                  delete
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
