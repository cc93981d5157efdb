/**
 * Time travel: a slider over the last two hours, play/pause at 1x-60x, and
 * the way back to live.
 *
 * @module
 */
import { formatBehind, SPEEDS } from "../lib/client/time_travel.ts";
import { formatClock } from "../lib/client/format.ts";
import type { ReplayView } from "../lib/client/ui_types.ts";
import { ClockIcon, PauseIcon, PlayIcon } from "./Icons.tsx";

export interface TimeBarProps {
  replay: ReplayView | null;
  range: { minS: number; maxS: number };
  onSeek(atS: number): void;
  onPlay(): void;
  onPause(): void;
  onSpeed(speed: number): void;
  onLive(): void;
}

export function TimeBar(p: TimeBarProps) {
  const r = p.replay;
  const min = r?.minS ?? p.range.minS;
  const max = r?.maxS ?? p.range.maxS;
  const value = r ? Math.min(max, Math.max(min, r.atS)) : max;
  return (
    <section class={`timebar ${r ? "active" : ""}`} aria-label="Time travel">
      <button
        type="button"
        class="btn play"
        id="replay-play"
        aria-label={r?.playing ? "Pause (Space)" : "Play history (Space)"}
        onClick={() => {
          if (!r) p.onSeek(max - 15 * 60);
          if (r?.playing) p.onPause();
          else p.onPlay();
        }}
      >
        {r?.playing ? <PauseIcon size={14} /> : <PlayIcon size={14} />}
      </button>
      <select
        class="speed"
        id="replay-speed"
        aria-label="Playback speed"
        value={String(r?.speed ?? 1)}
        onChange={(e) => p.onSpeed(Number((e.currentTarget as HTMLSelectElement).value))}
      >
        {SPEEDS.map((s) => <option key={s} value={String(s)}>{s}×</option>)}
      </select>
      <div class="slider">
        <input
          type="range"
          id="time-slider"
          aria-label="Time (drag to travel back up to two hours)"
          min={min}
          max={max}
          step={10}
          value={value}
          onInput={(e) => p.onSeek(Number((e.currentTarget as HTMLInputElement).value))}
        />
        <div class="slider-labels">
          <span>{formatClock(min)}</span>
          <span class={`when ${r ? "on" : ""}`} id="replay-time">
            <ClockIcon size={12} />
            {r ? `${formatClock(r.atS)} (${formatBehind(r.atS, max)})` : "live"}
            {r?.loading && <span class="spinner" aria-label="loading" />}
          </span>
          <span>{formatClock(max)}</span>
        </div>
        {r?.error && <div class="replay-error" role="alert">History unavailable: {r.error}</div>}
      </div>
      <button
        type="button"
        class={`btn live-btn ${r ? "" : "on"}`}
        id="go-live"
        disabled={!r}
        onClick={p.onLive}
        title="Back to live (L)"
      >
        <span class="dot" />
        Live
      </button>
    </section>
  );
}
