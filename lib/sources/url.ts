/**
 * The `SOURCES` variable: a comma-separated list of source URLs.
 *
 * | URL | source |
 * |---|---|
 * | `opensky:` | the OpenSky poller (OPENSKY_* variables) |
 * | `replay:PATH` | a recording or scenario file |
 * | `sbs://host:port` | BaseStation CSV over TCP (readsb/dump1090 port 30003) |
 * | `beast://host:port` | Beast binary over TCP (port 30005) |
 * | `http(s)://host/.../aircraft.json` | readsb / dump1090-fa JSON, polled every second |
 * | `v2+https://host/v2/point/{lat}/{lon}/{radius}` | ADS-B Exchange v2 API; `?rate=N` requests per second (default 1) |
 *
 * Pure: parses strings, opens nothing.
 *
 * @module
 */

export type SourceSpec =
  | { kind: "opensky"; label: string }
  | { kind: "replay"; label: string; path: string }
  | { kind: "sbs" | "beast"; label: string; host: string; port: number }
  | { kind: "aircraft_json"; label: string; url: string; intervalMs: number }
  | { kind: "adsbx_v2"; label: string; url: string; intervalMs: number };

/** Sources that are receivers or aggregators (not OpenSky, not replay). */
export type ReceiverSpec = Extract<
  SourceSpec,
  { kind: "sbs" | "beast" | "aircraft_json" | "adsbx_v2" }
>;

export function isReceiverSpec(spec: SourceSpec): spec is ReceiverSpec {
  return spec.kind !== "opensky" && spec.kind !== "replay";
}

/** Parses one URL; throws a TypeError saying what is wrong. */
export function parseSourceUrl(text: string): SourceSpec {
  const s = text.trim();
  if (s === "opensky:" || s === "opensky") return { kind: "opensky", label: "opensky" };
  if (s.startsWith("replay:")) {
    const path = s.slice("replay:".length);
    if (!path) throw new TypeError(`replay: needs a file path (replay:fixtures/....jsonl)`);
    return { kind: "replay", label: `replay:${path}`, path };
  }
  const tcp = /^(sbs|beast):\/\/(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})\/?$/.exec(s);
  if (tcp) {
    const port = Number(tcp[3]);
    if (port < 1 || port > 65535) throw new TypeError(`${s}: port must be 1-65535`);
    const host = tcp[2]!.replace(/^\[|\]$/g, "");
    return { kind: tcp[1] as "sbs" | "beast", label: s, host, port };
  }
  if (/^(sbs|beast):/.test(s)) {
    throw new TypeError(`${s}: expected sbs://host:port or beast://host:port`);
  }
  if (s.startsWith("v2+http://") || s.startsWith("v2+https://")) {
    const url = parseHttp(s.slice(3), s);
    const rate = url.searchParams.get("rate");
    url.searchParams.delete("rate");
    const perSecond = rate === null ? 1 : Number(rate);
    if (!(perSecond > 0 && perSecond <= 100)) throw new TypeError(`${s}: rate must be in (0, 100]`);
    return {
      kind: "adsbx_v2",
      label: s,
      url: url.toString(),
      intervalMs: Math.round(1000 / perSecond),
    };
  }
  if (s.startsWith("http://") || s.startsWith("https://")) {
    const url = parseHttp(s, s);
    return { kind: "aircraft_json", label: s, url: url.toString(), intervalMs: 1000 };
  }
  throw new TypeError(
    `${JSON.stringify(s)} is not a source URL (opensky:, replay:PATH, sbs://host:port, ` +
      `beast://host:port, http(s)://.../aircraft.json, v2+https://host/v2/point/LAT/LON/RADIUS)`,
  );
}

function parseHttp(s: string, original: string): URL {
  try {
    return new URL(s);
  } catch {
    throw new TypeError(`${original}: not a valid URL`);
  }
}

/** `host:port` pairs the receivers connect to: what `--allow-net` must grant. */
export function netPermissions(specs: readonly SourceSpec[]): string[] {
  const out = new Set<string>();
  for (const spec of specs) {
    if (spec.kind === "sbs" || spec.kind === "beast") {
      out.add(
        spec.host.includes(":") ? `[${spec.host}]:${spec.port}` : `${spec.host}:${spec.port}`,
      );
    }
    if (spec.kind === "aircraft_json" || spec.kind === "adsbx_v2") out.add(new URL(spec.url).host);
  }
  return [...out];
}
