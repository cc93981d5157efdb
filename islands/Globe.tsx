/**
 * The globe page's island: live aircraft on a 3D globe with ghost
 * interpolation, cockpit view, filters, search, anomaly feed and time
 * travel. The server renders the panels (empty); in the browser the
 * controller connects to `/ws` and the globe (globe.gl, three.js) is loaded
 * with a dynamic import inside an effect, never during server rendering.
 *
 * Test hook: with the `testHook` prop (dev mode and browser tests only,
 * never in production) `globalThis.__skysentinel` holds
 * `{ controller, scene }` once the globe is up.
 *
 * @module
 */
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { AnomalyEvent } from "../contracts/anomaly.ts";
import { AnomalyFeed } from "../components/AnomalyFeed.tsx";
import { AlertToast } from "../components/AlertToast.tsx";
import { AlertsPanel } from "../components/AlertsPanel.tsx";
import type { AlertEvent, AlertRule } from "../contracts/alerts.ts";
import type { DrawnCircle, GeofenceLayer } from "../lib/client/geofence_layer.ts";
import { DetailsPanel } from "../components/DetailsPanel.tsx";
import { FilterPanel } from "../components/FilterPanel.tsx";
import { Legend } from "../components/Legend.tsx";
import { TimeBar } from "../components/TimeBar.tsx";
import { TopBar } from "../components/TopBar.tsx";
import { AirportIndex, type AirportsFile, describePlace } from "../lib/client/airports.ts";
import type { Encoding } from "../lib/client/connection.ts";
import { SkyController, type UiSnapshot } from "../lib/client/controller.ts";
import { DEFAULT_FILTER } from "../lib/client/filters.ts";
import { sliderRange } from "../lib/client/time_travel.ts";
import { formatHash, parseHash } from "../lib/client/url_state.ts";

export interface GlobeProps {
  /** Path of the WebSocket endpoint. Default `/ws`. */
  wsPath?: string;
  /** `bin` (skysentinel.v2.bin, default), `msgpack` or `json`; `?encoding=` in the page URL overrides it. */
  encoding?: Encoding;
  /** How far back the anomaly feed starts, hours (the server's ANOMALY_WINDOW_HOURS). Default 24. */
  anomalyWindowHours?: number;
  /** Expose `globalThis.__skysentinel` (dev and tests). Default false. */
  testHook?: boolean;
}

const ENCODINGS: readonly string[] = ["bin", "msgpack", "json"];

/** The rules with an area, as the geofence layer draws them. */
function shownAreas(rules: readonly AlertRule[]) {
  return rules.flatMap((r) =>
    r.geofence ? [{ id: r.id, geofence: r.geofence, muted: r.muted }] : []
  );
}

/** The encoding asked for in the page URL (`?encoding=json`), else the prop's. */
function pickEncoding(fallback: Encoding | undefined): Encoding {
  const asked = new URLSearchParams(location.search).get("encoding");
  return asked && ENCODINGS.includes(asked) ? asked as Encoding : fallback ?? "bin";
}

/** What the panels show before the controller runs (and on the server). */
function initialSnapshot(): UiSnapshot {
  const range = sliderRange(0);
  return {
    mode: "live",
    connection: "connecting",
    retryInMs: null,
    count: 0,
    inView: 0,
    total: null,
    freshnessS: null,
    nowS: 0,
    filter: { ...DEFAULT_FILTER },
    query: "",
    results: [],
    matches: 0,
    selected: null,
    cockpit: false,
    anomalies: [],
    replay: null,
    range,
    fps: 0,
    resyncs: 0,
  };
}

export default function Globe(props: GlobeProps) {
  const [ui, setUi] = useState<UiSnapshot>(initialSnapshot);
  const [globeState, setGlobeState] = useState<"loading" | "ready" | "failed">("loading");
  const [filtersOpen, setFiltersOpen] = useState(false);
  const [feedOpen, setFeedOpen] = useState(true);
  const [routine, setRoutine] = useState(false);
  const [help, setHelp] = useState(false);
  const [airports, setAirports] = useState<AirportIndex | null>(null);
  const [lowPower, setLowPower] = useState(false);
  const [alerts, setAlerts] = useState<AlertEvent[]>([]);
  const [alertsOpen, setAlertsOpen] = useState(false);
  const [alertSound, setAlertSound] = useState(false);
  const [drawing, setDrawing] = useState(false);
  const [drawn, setDrawn] = useState<DrawnCircle | null>(null);
  const geofences = useRef<GeofenceLayer | null>(null);
  /** The listed rules' areas, kept for when the globe is not up yet. */
  const ruleAreas = useRef<AlertRule[]>([]);
  const ctrl = useRef<SkyController | null>(null);
  const globeEl = useRef<HTMLDivElement>(null);
  const searchRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const ws = new URL(props.wsPath ?? "/ws", location.href);
    ws.protocol = ws.protocol === "https:" ? "wss:" : "ws:";
    const c = new SkyController({
      wsUrl: ws.href,
      encoding: pickEncoding(props.encoding),
      ...(props.anomalyWindowHours ? { anomalyWindowHours: props.anomalyWindowHours } : {}),
    });
    ctrl.current = c;
    const offUi = c.onChange(setUi);
    const offAlert = c.onAlert((e) => setAlerts((a) => [e, ...a.filter((x) => x.id !== e.id)]));
    let urlTimer: ReturnType<typeof setTimeout> | undefined;
    const offUrl = c.onUrl((u) => {
      clearTimeout(urlTimer);
      urlTimer = setTimeout(() => {
        const hash = formatHash(u);
        if (hash !== location.hash) history.replaceState(null, "", hash || location.pathname);
      }, 400);
    });
    c.start(parseHash(location.hash));
    let cancelled = false;
    let destroy: (() => void) | null = null;
    (async () => {
      const [{ createGlobeScene, softwareRenderer }, index, { GeofenceLayer }] = await Promise.all([
        import("../lib/client/globe_scene.ts"),
        fetch("/airports.json").then((r) => r.ok ? r.json() as Promise<AirportsFile> : null)
          .then((f) => f ? new AirportIndex(f.airports) : null)
          .catch(() => null),
        import("../lib/client/geofence_layer.ts"),
      ]);
      if (cancelled || !globeEl.current) return;
      setAirports(index);
      const software = new URLSearchParams(location.search).get("quality") === "low" ||
        softwareRenderer();
      setLowPower(software);
      const scene = await createGlobeScene(globeEl.current, {
        frame: () => c.frame(),
        onPick: (id) => {
          if (id) c.select(id);
        },
        onPov: (pov) => c.notePov(pov),
      }, { airports: index, texture: "/earth.png", borders: "/borders.bin", software });
      if (cancelled) return scene.destroy();
      c.attachScene(scene);
      const areas = new GeofenceLayer(scene.globe, globeEl.current);
      areas.setGeofences(shownAreas(ruleAreas.current));
      geofences.current = areas;
      destroy = () => {
        areas.destroy();
        scene.destroy();
      };
      if (props.testHook) {
        (globalThis as Record<string, unknown>).__skysentinel = {
          controller: c,
          scene,
          geofences: areas,
        };
      }
      setGlobeState("ready");
    })().catch((e) => {
      console.error("globe:", e);
      setGlobeState("failed");
    });
    return () => {
      cancelled = true;
      offUi();
      offAlert();
      offUrl();
      c.stop();
      destroy?.();
    };
  }, []);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const c = ctrl.current;
      if (!c) return;
      const typing = e.target instanceof HTMLInputElement && e.target.type !== "range" &&
        e.target.type !== "checkbox";
      if (e.key === "Escape" && geofences.current?.drawing) {
        geofences.current.cancelDrawing();
        setDrawing(false);
        return;
      }
      if (e.key === "Escape") {
        if (typing) {
          c.setQuery("");
          (e.target as HTMLInputElement).blur();
        } else if (c.snapshot().cockpit) c.setCockpit(false);
        else c.select(null);
        setHelp(false);
        return;
      }
      if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
      const s = c.snapshot();
      const step = e.shiftKey ? 600 : 60;
      if (e.key === "/") {
        e.preventDefault();
        searchRef.current?.focus();
      } else if (e.key === "c" || e.key === "C") c.setCockpit(!s.cockpit);
      else if (e.key === "l" || e.key === "L") c.goLive();
      else if (e.key === "?") setHelp((h) => !h);
      else if (e.key === " " && s.replay) {
        e.preventDefault();
        if (s.replay.playing) c.pause();
        else c.play();
      } else if (e.key === "ArrowLeft" && !(e.target instanceof HTMLInputElement)) {
        c.seek((s.replay?.atS ?? s.range.maxS) - step);
      } else if (e.key === "ArrowRight" && s.replay && !(e.target instanceof HTMLInputElement)) {
        c.seek(s.replay.atS + step);
      }
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, []);

  const place = useMemo(
    () => (e: AnomalyEvent) => describePlace(airports, e.position.lat, e.position.lon),
    [airports],
  );
  const c = () => ctrl.current;

  return (
    <div
      class={`sky ${ui.cockpit ? "in-cockpit" : ""} ${ui.mode} ${lowPower ? "low-power" : ""}`}
      data-globe={globeState}
    >
      <div
        class="globe"
        ref={globeEl}
        id="globe"
        aria-label="3D globe of live aircraft"
        role="img"
      />
      {globeState === "loading" && <div class="globe-msg">Loading globe…</div>}
      {globeState === "failed" && (
        <div class="globe-msg error">
          The globe needs WebGL, which this browser could not start.
        </div>
      )}
      <TopBar
        mode={ui.mode}
        connection={ui.connection}
        retryInMs={ui.retryInMs}
        count={ui.count}
        inView={ui.inView}
        total={ui.total}
        freshnessS={ui.freshnessS}
        nowS={ui.nowS}
        query={ui.query}
        results={ui.results}
        matches={ui.matches}
        searchRef={searchRef}
        onQuery={(q) => c()?.setQuery(q)}
        onJump={(id) => {
          c()?.select(id, { fly: true });
          searchRef.current?.blur();
        }}
      />
      <div class="side left">
        <FilterPanel
          filter={ui.filter}
          open={filtersOpen}
          onToggle={() => setFiltersOpen((o) => !o)}
          onChange={(f) => c()?.setFilter(f)}
        />
        <Legend />
      </div>
      <div class="side right">
        {ui.selected && (
          <DetailsPanel
            selected={ui.selected}
            cockpit={ui.cockpit}
            onClose={() => c()?.select(null)}
            onCockpit={(on) => c()?.setCockpit(on)}
            onLocate={() => ui.selected && c()?.select(ui.selected.icao24, { fly: true })}
          />
        )}
        <AlertsPanel
          open={alertsOpen}
          onToggle={() => setAlertsOpen((o) => !o)}
          centre={ui.selected?.flight?.position ?? null}
          drawing={drawing}
          drawn={drawn}
          onDraw={() => {
            const layer = geofences.current;
            if (!layer) return;
            if (layer.drawing) {
              layer.cancelDrawing();
              setDrawing(false);
              return;
            }
            setDrawing(true);
            layer.startDrawing((circle) => {
              setDrawing(false);
              setDrawn(circle);
            });
          }}
          onDraft={(circle) => {
            if (!geofences.current?.drawing) geofences.current?.setDraft(circle);
          }}
          onRules={(rules) => {
            ruleAreas.current = rules;
            geofences.current?.setGeofences(shownAreas(rules));
          }}
        />
        <AnomalyFeed
          events={ui.anomalies}
          nowS={ui.nowS}
          open={feedOpen}
          showRoutine={routine}
          place={place}
          onToggle={() => setFeedOpen((o) => !o)}
          onRoutine={setRoutine}
          onFocus={(id) => c()?.focusAnomaly(id)}
        />
      </div>
      <AlertToast
        alerts={alerts}
        sound={alertSound}
        onSound={setAlertSound}
        onFocus={(e) => c()?.focusAlert(e)}
        onDismiss={(id) => setAlerts((a) => a.filter((x) => x.id !== id))}
      />
      {ui.cockpit && (
        <button
          type="button"
          class="btn leave-cockpit"
          onClick={() => c()?.setCockpit(false)}
        >
          Leave cockpit view <kbd>Esc</kbd>
        </button>
      )}
      <TimeBar
        replay={ui.replay}
        range={ui.range}
        onSeek={(s) => c()?.seek(s)}
        onPlay={() => c()?.play()}
        onPause={() => c()?.pause()}
        onSpeed={(s) => c()?.setSpeed(s)}
        onLive={() => c()?.goLive()}
      />
      <button
        type="button"
        class="help-btn"
        aria-label="Keyboard shortcuts (?)"
        onClick={() => setHelp((h) => !h)}
      >
        ?
      </button>
      {help && (
        <div class="help" role="dialog" aria-label="Keyboard shortcuts">
          <h2>Keyboard</h2>
          <dl>
            <dt>/</dt>
            <dd>search callsign or ICAO24</dd>
            <dt>Esc</dt>
            <dd>leave cockpit, clear selection</dd>
            <dt>C</dt>
            <dd>cockpit view of the selected aircraft</dd>
            <dt>← →</dt>
            <dd>time travel 1 min (Shift: 10 min)</dd>
            <dt>Space</dt>
            <dd>play / pause history</dd>
            <dt>L</dt>
            <dd>back to live</dd>
          </dl>
          <p>
            Click an aircraft to see its details and trail. Faded aircraft have not reported for a
            while and are dead-reckoned.
          </p>
        </div>
      )}
    </div>
  );
}
