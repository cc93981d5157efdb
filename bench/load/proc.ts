/**
 * A process's CPU, memory and scheduling from Linux `/proc`, for the load
 * benchmarks; NaN where `/proc` is not there.
 *
 * @module
 */

/** utime + stime of a process, ms, and its RSS now and at peak, MB. */
export function procFigures(
  pid: number | "self",
): { cpuMs: number; rssMb: number; peakMb: number } {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
    return { cpuMs: ticks * 10, rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
  } catch {
    return { cpuMs: NaN, rssMb: NaN, peakMb: NaN };
  }
}

/**
 * The main thread (the event loop) of a process: time on a CPU and time runnable but waiting
 * for one (run queue), ms (schedstat). A busy machine shows as waiting, not as CPU.
 */
export function mainThreadSched(pid: number): { runMs: number; waitMs: number } {
  try {
    const [run, wait] = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/schedstat`).split(" ");
    return { runMs: Number(run) / 1e6, waitMs: Number(wait) / 1e6 };
  } catch {
    return { runMs: NaN, waitMs: NaN };
  }
}
