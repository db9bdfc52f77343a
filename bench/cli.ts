/**
 * `npm run bench`: ctsync against conntrack-tools, side by side, in one run (issues 3 and 7).
 * Builds the lab (two namespaces joined by a sync link), runs every selected scenario for
 * ctsyncd and for conntrackd 1.4.7 in turn (the order alternates between repeats), prints the
 * medians with their range, the ratio ctsync / conntrack-tools and each target's verdict,
 * writes the runs as JSON to bench/results/, and — for a run of every scenario — redraws
 * bench/chart.svg and the README's performance section. Not a test: it asserts nothing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { writeFileAtomic } from '../src/configd/atomic-file.js';
import { skipReason } from '../test/helpers/netns.js';
import { ROOT } from '../test/helpers/programs.js';
import type { SyncMode, Transport } from '../test/integration/interop/conf.js';
import { CONNTRACKD, type Daemon } from '../test/integration/interop/node.js';
import { defineCeilingMetric, runCeiling } from './ceiling.js';
import { renderChart } from './chart.js';
import { defineKernelMetrics, KERNEL_SCENARIOS, type KernelScenario, runKernel } from './kernel.js';
import { cleanUpOnExit, Lab } from './lab.js';
import { machineNow } from './machine.js';
import { countLabel, type MetricResult, Tally } from './metrics.js';
import { perfSection, replacePerfSection, type RunInfo, runLine, runLines, textTable } from './report.js';
import { defineSessionMetrics, type Phase, PHASES, runSession } from './sync.js';

export const SCENARIOS = [...PHASES, 'ceiling', ...KERNEL_SCENARIOS] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  flows: number[];
  mode: SyncMode;
  transport: Transport;
  repeats: number;
  scenarios: Scenario[];
  quick: boolean;
  rates: number[];
  /** seconds each ceiling step offers its rate */
  stepSeconds: number;
  /** repeats of the ceiling search (each is several daemon sessions) */
  ceilingRepeats: number;
  readme: boolean;
  /** run ctsyncd under V8's profiler and say its hottest functions (figures then carry its cost) */
  profile: boolean;
}

const FULL = { flows: [10_000, 50_000, 100_000], rates: [10_000, 20_000, 40_000, 80_000, 160_000, 320_000], stepSeconds: 1 };
const QUICK = { flows: [10_000], rates: [10_000, 40_000, 160_000], stepSeconds: 0.5 };

function positiveInts(text: string): number[] {
  const xs = text.split(',').map((s) => Number(s.trim().replace(/_/g, '').replace(/k$/i, '000')));
  if (xs.some((x) => !Number.isInteger(x) || x <= 0)) throw new InvalidArgumentError('expected positive integers separated by commas (10000,50k,…)');
  return xs;
}

function scenarioList(text: string): Scenario[] {
  const xs = text.split(',').map((s) => s.trim());
  const bad = xs.filter((x) => !(SCENARIOS as readonly string[]).includes(x));
  if (bad.length) throw new InvalidArgumentError(`unknown scenario ${bad.join(', ')}; known: ${SCENARIOS.join(', ')}`);
  return xs as Scenario[];
}

/** The command line, with --quick's defaults under anything given explicitly. */
export function parseOptions(argv: string[]): BenchOptions {
  const cmd = new Command('npm run bench --')
    .description('ctsync against conntrackd 1.4.7 and conntrack(8), side by side, in one run (root, network namespaces)')
    .option('-n, --flows <list>', `flows per sync session (default ${FULL.flows.join(',')}; --quick ${QUICK.flows.join(',')})`, positiveInts)
    .addOption(new Option('-m, --mode <mode>', 'sync mode').choices(['FTFW', 'NOTRACK', 'ALARM']).default('FTFW'))
    .addOption(new Option('-t, --transport <transport>', 'sync transport').choices(['UDP', 'Multicast', 'TCP']).default('UDP'))
    .option('-r, --repeats <n>', 'runs of every scenario per engine (the median is reported)', (v) => positiveInts(v)[0], 3)
    .option('-s, --scenarios <list>', `scenarios to run (default all): ${SCENARIOS.join(',')}`, scenarioList)
    .option('-q, --quick', 'a short run: 10k flows, short ceiling steps searched once', false)
    .option('--rates <list>', `offered rates of the ceiling steps, ev/s (default ${FULL.rates.join(',')})`, positiveInts)
    .option('--profile', "profile ctsyncd's JS thread and print its hottest functions per session (slows it: no README)", false)
    .option('--readme', 'redraw bench/chart.svg and the README section (default: when every scenario runs)')
    .option('--no-readme', 'leave bench/chart.svg and the README as they are')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<{ flows?: number[]; mode: SyncMode; transport: Transport; repeats: number; scenarios?: Scenario[]; quick: boolean; rates?: number[]; readme?: boolean; profile: boolean }>();
  const base = o.quick ? QUICK : FULL;
  const scenarios = o.scenarios ?? [...SCENARIOS];
  return {
    flows: [...new Set(o.flows ?? base.flows)].sort((a, b) => a - b),
    mode: o.mode,
    transport: o.transport,
    repeats: o.repeats,
    scenarios,
    quick: o.quick,
    rates: [...new Set(o.rates ?? base.rates)].sort((a, b) => a - b),
    stepSeconds: base.stepSeconds,
    ceilingRepeats: o.quick ? 1 : o.repeats,
    readme: o.readme ?? (scenarios.length === SCENARIOS.length && !o.profile),
    profile: o.profile,
  };
}

/** `FT-FW over UDP, 3 repeats, 10k/50k/100k flows` */
export function setupText(o: BenchOptions): string {
  const mode = o.mode === 'FTFW' ? 'FT-FW' : o.mode;
  const ceiling = o.scenarios.includes('ceiling') && o.ceilingRepeats !== o.repeats ? `, ceiling searched ${o.ceilingRepeats}×` : '';
  return `${mode} over ${o.transport}, ${o.repeats} repeat${o.repeats > 1 ? 's' : ''}${ceiling}, ${o.flows.map(countLabel).join('/')} flows${o.quick ? ', --quick' : ''}${o.profile ? ', ctsyncd profiled' : ''}`;
}

async function run(o: BenchOptions, info: RunInfo, say: (s: string) => void, profileDir?: string): Promise<MetricResult[]> {
  const has = (s: Scenario) => o.scenarios.includes(s);
  const largest = o.flows.at(-1)!;
  // the phases after the sync run once per session, at the largest N only
  const phasesAt = (n: number) => new Set<Phase>(PHASES.filter((p) => has(p) && (p === 'sync' || n === largest)));
  const sessionAt = (n: number) => has('sync') || (n === largest && PHASES.some(has));
  const kernel = new Set<KernelScenario>(KERNEL_SCENARIOS.filter(has));
  const tally = new Tally();
  for (const n of o.flows) if (sessionAt(n)) defineSessionMetrics(tally, n, phasesAt(n));
  if (has('ceiling')) defineCeilingMetric(tally);
  if (kernel.size) defineKernelMetrics(tally, largest, kernel);

  let lab: Lab | undefined;
  cleanUpOnExit(() => lab);
  lab = new Lab({ mode: o.mode, transport: o.transport });
  say(`lab: namespaces ${lab.topo.ns.map((n) => n.name).join(' and ')}, files in ${lab.dir}`);
  try {
    for (let r = 0; r < o.repeats; r++) {
      const engines: Daemon[] = r % 2 ? ['ctsyncd', 'conntrackd'] : ['conntrackd', 'ctsyncd'];
      say(`repeat ${r + 1} of ${o.repeats}`);
      for (const n of o.flows) {
        if (!sessionAt(n)) continue;
        for (const e of engines) await runSession(lab, e, n, phasesAt(n), tally, say, profileDir);
      }
      if (has('ceiling') && r < o.ceilingRepeats) for (const e of engines) await runCeiling(lab, e, { rates: o.rates, seconds: o.stepSeconds, maxFlows: 200_000 }, tally, say);
      if (kernel.size) await runKernel(lab, largest, kernel, tally, say);
    }
  } finally {
    await lab.close();
    lab = undefined;
  }
  info.machine.loadEnd = machineNow().loadStart;
  return tally.results();
}

export async function main(argv: string[]): Promise<number> {
  let o: BenchOptions;
  try {
    o = parseOptions(argv);
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    return code ?? 2;
  }
  const missing = skipReason([CONNTRACKD, 'conntrack']);
  if (missing) {
    process.stderr.write(`bench: cannot run here: ${missing}\n`);
    return 1;
  }
  // children (ctsyncd) inherit it: no keepalived readiness file for bench daemons
  process.env.CTSYNC_TRACK_FILE = 'off';
  const date = new Date().toISOString();
  const info: RunInfo = { date, command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`, setup: setupText(o), machine: machineNow() };
  const log: string[] = [];
  const dir = join(ROOT, 'bench/results');
  const stamp = date.replace(/[:.]/g, '-');
  let profileDir: string | undefined;
  if (o.profile) {
    // the daemons inherit both: bench/cpu-profile.mjs writes <pid>.cpuprofile there on exit
    profileDir = join(dir, `profiles-${stamp}`);
    mkdirSync(profileDir, { recursive: true });
    process.env.CTSYNC_BENCH_PROFILE_DIR = profileDir;
    process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import ${pathToFileURL(join(ROOT, 'bench/cpu-profile.mjs')).href}`.trim();
  }
  const t0 = performance.now();
  const say = (s: string) => {
    const line = `[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${s}`;
    log.push(line);
    process.stdout.write(`${line}\n`);
  };
  process.stdout.write(`bench: ${runLine(info)}\n`);
  const results = await run(o, info, say, profileDir);
  process.stdout.write(`\n${textTable(results)}\n\n`);
  const verdicts = results.filter((m) => m.verdict);
  const count = (v: string) => verdicts.filter((m) => m.verdict === v).length;
  process.stdout.write(`targets: ${count('pass')} pass, ${count('miss')} miss, ${count('n/a')} n/a; ${runLine(info)}; ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);

  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${stamp}.json`);
  writeFileSync(file, `${JSON.stringify({ ...info, options: o, results, log }, null, 2)}\n`);
  process.stdout.write(`results: ${file}\n`);
  if (o.readme) {
    writeFileAtomic(join(ROOT, 'bench/chart.svg'), renderChart(results, runLines(info)));
    const readme = join(ROOT, 'README.md');
    writeFileAtomic(readme, replacePerfSection(readFileSync(readme, 'utf8'), perfSection(info, results, 'bench/chart.svg')));
    process.stdout.write('README.md (Performance) and bench/chart.svg rewritten\n');
  }
  return 0;
}
