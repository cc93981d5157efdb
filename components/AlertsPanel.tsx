/**
 * The alerts panel: create a geofence rule (centre and radius, optionally
 * taken from the selected aircraft or the view centre, and an altitude
 * band), list the rules, mute and delete them. Writes need the server's
 * ADMIN_TOKEN, typed once and kept in this browser's localStorage.
 *
 * @module
 */
import { useEffect, useState } from "preact/hooks";
import type { AlertRule } from "../contracts/alerts.ts";

export interface AlertsPanelProps {
  open: boolean;
  onToggle(): void;
  /** A suggested centre (the selected aircraft, else the view), degrees. */
  centre: { lat: number; lon: number } | null;
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
    call("GET", "/api/alerts", "").then((b) => setRules(b.rules)).catch((e) => setError(e.message));
  useEffect(() => {
    if (p.open) reload();
  }, [p.open]);
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
    act(() =>
      call("POST", "/api/alerts", token, {
        name: form.name || "Area alert",
        kind: "geofence",
        geofence: {
          center: [Number(form.lat), Number(form.lon)],
          radius_m: Number(form.radiusKm) * 1000,
        },
        min_altitude_m: num(form.minAlt),
        max_altitude_m: num(form.maxAlt),
        on: ["enter"],
      })
    );
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
