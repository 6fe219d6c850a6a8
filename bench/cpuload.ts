/**
 * How much CPU *other* processes used while the bench ran: system-wide busy time (/proc/stat)
 * minus the CPU time of the bench process itself and of its (waited-for) children
 * (/proc/self/stat utime, stime, cutime, cstime). Other engineers' builds on the same cores make
 * timings noisy; this says how noisy. Linux only; returns NaN elsewhere.
 */
import { readFileSync } from 'node:fs';

/** Linux USER_HZ; /proc reports jiffies in these units. */
const TICKS_PER_SECOND = 100;

export interface CpuSnapshot {
  readonly atMs: number;
  /** Busy jiffies of all CPUs together (user+nice+system+irq+softirq+steal). */
  readonly systemBusy: number;
  /** Jiffies of this process and its reaped children. */
  readonly ours: number;
}

export function cpuSnapshot(): CpuSnapshot {
  const atMs = Number(process.hrtime.bigint()) / 1e6;
  try {
    const cpu = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
    const self = readFileSync('/proc/self/stat', 'utf8');
    // Fields after the parenthesised command name; utime is field 14 (index 11 here).
    const fields = self.slice(self.lastIndexOf(')') + 2).split(' ').map(Number);
    const ours = (fields[11] ?? 0) + (fields[12] ?? 0) + (fields[13] ?? 0) + (fields[14] ?? 0);
    return { atMs, systemBusy: user + nice + system + irq + softirq + steal, ours };
  } catch {
    return { atMs, systemBusy: Number.NaN, ours: Number.NaN };
  }
}

/** CPUs' worth of foreign load between two snapshots (0.5 = half a core busy with other work). */
export function foreignCpus(a: CpuSnapshot, b: CpuSnapshot): number {
  const seconds = (b.atMs - a.atMs) / 1000;
  const foreignJiffies = b.systemBusy - a.systemBusy - (b.ours - a.ours);
  return seconds > 0 ? Math.max(0, foreignJiffies / TICKS_PER_SECOND / seconds) : Number.NaN;
}

/** Samples the foreign load over `ms` milliseconds (blocking sleep). */
export function sampleForeignCpus(ms: number): number {
  const a = cpuSnapshot();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return foreignCpus(a, cpuSnapshot());
}
