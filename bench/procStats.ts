import { readFileSync } from 'node:fs';

/**
 * procStats reads a process's resident memory and CPU time from /proc
 * (Linux only; null elsewhere or when the process is gone).
 */

/** CLOCK_TICKS_PER_S: USER_HZ, 100 on every Linux we run on (utime/stime are in these ticks). */
const CLOCK_TICKS_PER_S = 100;

/** rssBytes is VmRSS of the process, or null. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

/** cpuSeconds is user + system CPU time the process has used, or null. */
export function cpuSeconds(pid: number): number | null {
  try {
    return parseCpuTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}

/** parseCpuTicks extracts utime + stime (fields 14 and 15) from a /proc/<pid>/stat line. */
export function parseCpuTicks(stat: string): number {
  // The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`unparsable /proc stat line: ${stat.slice(0, 120)}`);
  return utime + stime;
}

/** CpuMeter measures the cores a process used between start() and stop(). */
export class CpuMeter {
  private startCpuS: number | null = null;
  private startAt = 0;

  constructor(readonly pid: number) {}

  start(): void {
    this.startCpuS = cpuSeconds(this.pid);
    this.startAt = performance.now();
  }

  /** stop returns the average number of cores used since start(), or null if unmeasurable. */
  stop(): number | null {
    const end = cpuSeconds(this.pid);
    const elapsedS = (performance.now() - this.startAt) / 1000;
    if (this.startCpuS === null || end === null || elapsedS <= 0) return null;
    return (end - this.startCpuS) / elapsedS;
  }
}
