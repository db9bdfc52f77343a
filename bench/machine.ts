/** The machine a run was taken on, as the report quotes it. */
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  kernel: string;
  memGiB: number;
  /** 1-minute load average when the run started and when it ended */
  loadStart: number;
  loadEnd?: number;
}

/** The load average above which figures are labelled as taken under load. */
export const QUIET_LOAD = 0.5;

/** The first `model name` of /proc/cpuinfo. */
export function parseCpuModel(cpuinfo: string): string {
  return /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1].trim() ?? 'unknown CPU';
}

export function machineNow(): Machine {
  let cpuinfo = '';
  try {
    cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    /* not Linux: the model stays unknown */
  }
  return { cpu: parseCpuModel(cpuinfo), cores: cpus().length, kernel: release(), memGiB: Math.round(totalmem() / 2 ** 30), loadStart: loadavg()[0] };
}

/** `AMD EPYC …, 2 cores, Linux 6.18.44, 24 GiB; load average 8.79 → 7.10 (under load)` */
export function describeMachine(m: Machine): string {
  const load = m.loadEnd === undefined ? m.loadStart.toFixed(2) : `${m.loadStart.toFixed(2)} → ${m.loadEnd.toFixed(2)}`;
  const busy = Math.max(m.loadStart, m.loadEnd ?? 0) >= QUIET_LOAD;
  return `${m.cpu}, ${m.cores} cores, Linux ${m.kernel}, ${m.memGiB} GiB; load average ${load}${busy ? ' (taken under load: other work ran on the machine)' : ' (quiet)'}`;
}
