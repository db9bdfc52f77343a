/**
 * The fail-over benchmark's body (bench/failover.mjs parses the options and runs this through
 * vitest, which runs the TypeScript lab): ctsyncd and conntrackd 1.4.7 in the same lab, same
 * run, same load. Asserts only that every connection survived; prints the figures.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { FailoverLab, type FailoverTiming, type FaultKind } from '../test/helpers/failover-lab.js';
import type { Daemon } from '../test/helpers/programs.js';
import { ROOT } from '../test/helpers/programs.js';

interface Options {
  flows: number;
  connections: number;
  repeats: number;
  faults: FaultKind[];
  engines: Daemon[];
}

interface Run extends FailoverTiming {
  engine: Daemon;
  run: number;
  alive: number;
  rst: number;
  maxStallMs: number;
  /** 1-minute load average when the fault was injected. */
  load: number;
}

const opts = JSON.parse(process.env.CTSYNC_BENCH_FAILOVER ?? '{}') as Options;
const FIGURES = ['toMasterMs', 'toCommitDoneMs', 'toFullMs', 'commitMs', 'engineCpuS', 'maxStallMs'] as const;

/** The median; NaN ("never") counts as the largest. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => (Number.isNaN(a) ? 1 : Number.isNaN(b) ? -1 : a - b));
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const sec = (ms: number) => (Number.isNaN(ms) ? 'never' : `${(ms / 1000).toFixed(3)} s`);

function table(runs: Run[]): string {
  const head = ['engine', 'fault', 'to MASTER (D-Bus)', 'to commit done', 'to kernel full', 'commit', 'engine CPU', 'max stall', 'alive', 'RST', 'missing', 'load'];
  const rows = [head];
  for (const engine of opts.engines) {
    for (const fault of opts.faults) {
      const rs = runs.filter((r) => r.engine === engine && r.fault === fault);
      if (rs.length === 0) continue;
      const m = (k: (typeof FIGURES)[number]) => median(rs.map((r) => r[k]));
      rows.push([
        engine,
        fault,
        sec(m('toMasterMs')),
        sec(m('toCommitDoneMs')),
        sec(m('toFullMs')),
        sec(m('commitMs')),
        `${m('engineCpuS').toFixed(3)} s`,
        sec(m('maxStallMs')),
        `${Math.min(...rs.map((r) => r.alive))}/${opts.connections}`,
        String(Math.max(...rs.map((r) => r.rst))),
        // most entries fw2's kernel lacked after a take-over
        String(Math.max(...rs.map((r) => Math.max(0, opts.flows + opts.connections - r.kernelAfter)))),
        median(rs.map((r) => r.load)).toFixed(1),
      ]);
    }
  }
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

it(`fail-over: ${opts.engines.join(' vs ')}, N=${opts.flows} + M=${opts.connections}, ${opts.repeats} × ${opts.faults.join('+')}`, async () => {
  const runs: Run[] = [];
  const started = new Date();
  for (const engine of opts.engines) {
    const lab = await FailoverLab.create({ engine, flows: opts.flows, connections: opts.connections, log: (l) => console.log(`[${engine}] ${l}`) });
    try {
      let first = true;
      for (let run = 1; run <= opts.repeats; run++) {
        for (const fault of opts.faults) {
          if (!first) await lab.resetBackup();
          first = false;
          const load = loadavg()[0]!;
          const t = await lab.failover(fault);
          const flows = await lab.checkFlows();
          const r: Run = { ...t, engine, run, alive: flows.ok, rst: flows.rst.client + flows.rst.server, maxStallMs: flows.maxStallMs, load };
          runs.push(r);
          console.log(`[${engine}] ${fault} #${run}: ${JSON.stringify(r)}`);
          await lab.failBack(fault);
        }
      }
    } finally {
      lab.close();
    }
  }
  const text = table(runs);
  console.log(
    `\nfail-over, N=${opts.flows} background flows + M=${opts.connections} connections (half sending every 20 ms), ` +
      `medians of ${opts.repeats}; ${cpus().length} CPUs, load avg (1 min) as shown\n${text}\n`,
  );
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `failover-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify({ started: started.toISOString(), options: opts, cpus: cpus().length, runs, table: text }, null, 2)}\n`);
  console.log(`written ${file}`);
  for (const r of runs) expect({ alive: r.alive, rst: r.rst }).toEqual({ alive: opts.connections, rst: 0 });
});
