/**
 * CPU and memory of a running process from /proc: CPU of all its threads (ctsyncd's addon
 * runs reader and writer threads besides Node's own), at nanosecond resolution from each
 * thread's schedstat, plus what its reaped children used (conntrackd forks for dumps).
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface CpuSample {
  /** on-CPU ns summed over the live threads */
  threadsNs: number;
  tids: number[];
  /** on-CPU ns of each live thread, and its name, by thread id */
  threads?: Map<number, { comm: string; ns: number }>;
  /** utime + stime of the whole thread group, clock ticks (includes exited threads) */
  ticks: number;
  /** cutime + cstime: reaped children, clock ticks */
  childTicks: number;
}

/** Fields 14-17 of /proc/PID/stat (utime, stime, cutime, cstime), in clock ticks. */
export function parseStat(text: string): { ticks: number; childTicks: number } {
  // comm (field 2) may hold spaces and parentheses: count fields after the last ')'
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state), so field k is f[k - 3]
  return { ticks: Number(f[11]) + Number(f[12]), childTicks: Number(f[13]) + Number(f[14]) };
}

/** On-CPU ns, the first field of /proc/PID/task/TID/schedstat. */
export function parseSchedstat(text: string): number {
  return Number(text.split(' ')[0]);
}

export const CLOCK_TICKS = 100; // USER_HZ on Linux (sysconf(_SC_CLK_TCK))

export function cpuSample(pid: number): CpuSample {
  const tids = readdirSync(`/proc/${pid}/task`).map(Number);
  const threads = new Map<number, { comm: string; ns: number }>();
  let threadsNs = 0;
  for (const tid of tids) {
    try {
      const ns = parseSchedstat(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8'));
      threads.set(tid, { comm: readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim(), ns });
      threadsNs += ns;
    } catch {
      /* the thread ended meanwhile: the tick count below still has it */
    }
  }
  return { threadsNs, tids, threads, ...parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')) };
}

/**
 * Where a process's CPU went between two samples, seconds per thread name, the main thread
 * (the JS thread in Node) as `main`; largest first. Threads that ended in between are left out.
 */
export function threadSplit(pid: number, before: CpuSample, after: CpuSample): Array<[string, number]> {
  const by = new Map<string, number>();
  for (const [tid, t] of after.threads ?? []) {
    const name = tid === pid ? 'main' : t.comm;
    by.set(name, (by.get(name) ?? 0) + (t.ns - (before.threads?.get(tid)?.ns ?? 0)) / 1e9);
  }
  return [...by].sort((a, b) => b[1] - a[1]);
}

/**
 * CPU seconds between two samples: the schedstat sum when every thread of `before` is still
 * alive (exact), else the tick count (a thread that ended took its schedstat with it); with
 * `children`, reaped children's ticks on top (a daemon's forks are its work; the programs this
 * process runs to make load are not its own).
 */
export function cpuSeconds(before: CpuSample, after: CpuSample, children = true): number {
  const alive = new Set(after.tids);
  const own = before.tids.every((t) => alive.has(t)) ? (after.threadsNs - before.threadsNs) / 1e9 : (after.ticks - before.ticks) / CLOCK_TICKS;
  return own + (children ? (after.childTicks - before.childTicks) / CLOCK_TICKS : 0);
}

/** Resident set size in bytes (VmRSS of /proc/PID/status). */
export function parseRss(status: string): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error('no VmRSS line in /proc/PID/status');
  return Number(m[1]) * 1024;
}

export function rssBytes(pid: number): number {
  return parseRss(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

/** CPU seconds of finished child processes, from bash's `times` (its second line). */
export function parseTimes(out: string): number {
  const line = out.trim().split('\n').at(-1) ?? '';
  const secs = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (secs.length !== 2) throw new Error(`cannot read bash times output: ${line}`);
  return secs[0] + secs[1];
}
