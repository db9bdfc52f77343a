/**
 * The fail-over benchmark (issue 6; `npm run bench:failover`, entry bench/failover.mjs):
 * ctsyncd and conntrackd 1.4.7 (+ conntrack-tools' primary-backup notify script) in the same
 * fail-over lab (test/helpers/failover-lab.ts), the same run, the same load. Each engine gets
 * a fresh lab; then, R times per fault kind: fault fw1, time fw2's take-over, check the
 * connections, fail back, empty fw2's kernel table for the next run (lab REPORT §3). Prints
 * the table of medians and writes every run to bench/results/failover-<time>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { FailoverLab, type FailoverTiming, type FaultKind } from '../test/helpers/failover-lab.js';
import { ROOT, type Daemon } from '../test/helpers/programs.js';
import { describeMachine, machineNow } from './machine.js';
import { cpuSample, cpuSeconds } from './proc.js';
import { summarize } from './stats.js';

export interface FailoverOptions {
  flows: number;
  connections: number;
  repeats: number;
  faults: FaultKind[];
  engines: Daemon[];
}

export interface FailoverRun extends FailoverTiming {
  engine: Daemon;
  run: number;
  /** Connections that answered after the take-over. */
  alive: number;
  /** RST segments seen (client + server side). */
  rst: number;
  /** Longest a continuous sender's message waited for its echo. */
  maxStallMs: number;
  /** CPU of the new master's engine (all threads) over the whole take-over: commit, flush, resync, bulk. */
  engineCpuS: number;
  /** 1-minute load average at the fault. */
  load: number;
}

type Figure = 'toMasterMs' | 'toCommitDoneMs' | 'toFullMs' | 'commitMs' | 'maxStallMs';

const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

/** The median of a figure over runs; runs that never got there are counted beside it. */
function cell(rs: FailoverRun[], pick: (r: FailoverRun) => number, show: (x: number) => string): string {
  const s = summarize(rs.map(pick));
  if (!s) return 'never';
  return s.failed ? `${show(s.median)} (${s.failed} never)` : show(s.median);
}

export function failoverTable(runs: FailoverRun[], opts: FailoverOptions): string {
  const head = ['engine', 'fault', 'to MASTER (D-Bus)', 'to commit done', 'to kernel full', 'commit', 'engine CPU', 'max stall', 'alive', 'RST', 'missing', 'load'];
  const rows = [head];
  const ms = (k: Figure) => (r: FailoverRun) => r[k];
  for (const engine of opts.engines) {
    for (const fault of opts.faults) {
      const rs = runs.filter((r) => r.engine === engine && r.fault === fault);
      if (rs.length === 0) continue;
      rows.push([
        engine,
        fault,
        cell(rs, ms('toMasterMs'), seconds),
        cell(rs, ms('toCommitDoneMs'), seconds),
        cell(rs, ms('toFullMs'), seconds),
        cell(rs, ms('commitMs'), seconds),
        cell(rs, (r) => r.engineCpuS, (x) => `${x.toFixed(3)} s`),
        cell(rs, ms('maxStallMs'), seconds),
        `${Math.min(...rs.map((r) => r.alive))}/${opts.connections}`,
        String(Math.max(...rs.map((r) => r.rst))),
        // the most entries fw2's kernel lacked after a take-over
        String(Math.max(...rs.map((r) => Math.max(0, opts.flows + opts.connections - r.kernelAfter)))),
        cell(rs, (r) => r.load, (x) => x.toFixed(1)),
      ]);
    }
  }
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

/**
 * Resolves with the exit status: 0 when every connection survived every ctsyncd fail-over
 * without a RST (the reference's losses are figures in the table, not a failure of this run).
 */
export async function main(opts: FailoverOptions): Promise<number> {
  const runs: FailoverRun[] = [];
  const machine = machineNow();
  const started = new Date();
  for (const engine of opts.engines) {
    const lab = await FailoverLab.create({ engine, flows: opts.flows, connections: opts.connections, log: (l) => console.log(`[${engine}] ${l}`) });
    try {
      let first = true;
      for (let run = 1; run <= opts.repeats; run++) {
        for (const fault of opts.faults) {
          if (!first) await lab.resetBackup();
          first = false;
          const pid = lab.fw2.enginePid()!;
          const load = loadavg()[0]!;
          const cpu0 = cpuSample(pid);
          const t = await lab.failover(fault);
          const engineCpuS = cpuSeconds(cpu0, cpuSample(pid));
          const flows = await lab.checkFlows();
          const r: FailoverRun = { ...t, engine, run, alive: flows.ok, rst: flows.rst.client + flows.rst.server, maxStallMs: flows.maxStallMs, engineCpuS, load };
          runs.push(r);
          console.log(`[${engine}] ${fault} #${run}: ${JSON.stringify(r)}`);
          await lab.failBack(fault);
        }
      }
    } finally {
      lab.close();
    }
  }
  machine.loadEnd = loadavg()[0];
  const table = failoverTable(runs, opts);
  console.log(
    `\nfail-over: N=${opts.flows} background flows + M=${opts.connections} connections (half sending every 20 ms), medians of ${opts.repeats}` +
      `\n${describeMachine(machine)}\n${table}\n`,
  );
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `failover-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ started: started.toISOString(), machine, options: opts, runs, table }, null, 2)}\n`);
  console.log(`written ${file}`);
  return runs.filter((r) => r.engine === 'ctsyncd').every((r) => r.alive === opts.connections && r.rst === 0) ? 0 : 1;
}
