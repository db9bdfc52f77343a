/**
 * Issue 3's kernel-table figures, on the receiver's namespace with no sync daemon running:
 *   dump    the addon's dump of N flows against `conntrack -L > /dev/null`;
 *   create  the addon's batched create of N record slots (as a commit hands them) against conntrackd's commit of N (measured by the
 *           sync session of the same run) and against `conntrack -R`;
 *   intake  CPU per NEW event of an addon subscription against conntrackd's own intake
 *           (conntrackd in statistics mode: events into its cache, nothing sent);
 *   floor   the same against `conntrack -E > /dev/null` (issue 7's scenario 7).
 * The addon runs in this process, so its CPU is this process's (all threads; the load is
 * forked before the measurement starts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { nodePaths } from '../test/integration/interop/conf.js';
import { CONNTRACKD, nsExec, SyncNode } from '../test/integration/interop/node.js';
import { records } from '../src/engine/kernel/record.js';
import { benchFlows } from './flows.js';
import { type Lab, Peer, pollUntil } from './lab.js';
import { countLabel, type MetricDef, RunRecord, type Tally } from './metrics.js';
import { cpuSample, cpuSeconds, parseTimes, threadSplit } from './proc.js';

export const KERNEL_SCENARIOS = ['dump', 'create', 'intake', 'floor'] as const;
export type KernelScenario = (typeof KERNEL_SCENARIOS)[number];

/** Event socket buffers of all three listeners: large, so no side loses events to an overrun. */
const RCVBUF = 64 << 20;

function defs(n: number, which: ReadonlySet<KernelScenario>): MetricDef[] {
  const k = countLabel(n);
  const out: MetricDef[] = [];
  if (which.has('dump')) {
    out.push(
      { id: `dump.wall.${n}`, label: `dump ${k}: wall`, unit: 's', ours: 'addon', theirs: 'conntrack -L' },
      { id: `dump.cpu.${n}`, label: `dump ${k}: CPU`, unit: 's', ours: 'addon', theirs: 'conntrack -L' },
    );
  }
  if (which.has('create')) {
    out.push(
      { id: `create.commit.${n}`, label: `create ${k}: batched vs conntrackd's commit`, unit: 's', ours: 'addon', theirs: 'conntrackd -c', target: { ratioMax: 0.3 } },
      { id: `create.cpu.${n}`, label: `create ${k}: CPU vs conntrackd's commit`, unit: 's', ours: 'addon', theirs: 'conntrackd -c' },
      { id: `create.restore.${n}`, label: `create ${k}: batched vs conntrack -R`, unit: 's', ours: 'addon', theirs: 'conntrack -R' },
    );
  }
  if (which.has('intake')) {
    out.push({ id: `intake.${n}`, label: `intake of ${k} NEW events: CPU per event`, unit: 'µs', ours: 'addon', theirs: 'conntrackd (Stats mode)', target: { oursMax: 2 } });
  }
  if (which.has('floor')) {
    out.push({ id: `floor.${n}`, label: `floor: CPU per event of conntrack -E > /dev/null`, unit: 'µs', ours: 'addon', theirs: 'conntrack -E' });
  }
  return out;
}

export function defineKernelMetrics(tally: Tally, n: number, which: ReadonlySet<KernelScenario>): void {
  for (const d of defs(n, which)) tally.define(d);
}

/** One repeat's records: the addon's side and conntrack-tools' side. */
interface Both {
  ours: RunRecord;
  theirs: RunRecord;
}

const ownCpu = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
};

/** `bash -c 'CMD; times'` in the namespace: wall seconds, children's CPU seconds, stderr+stdout. */
function timed(lab: Lab, cmd: string): { wall: number; cpu: number; out: string } {
  const t0 = performance.now();
  const out = execFileSync('bash', ['-c', `ip netns exec ${lab.topo.ns[1].name} ${cmd} 2>&1 >/dev/null; times`], { encoding: 'utf8', timeout: 120_000, maxBuffer: 1 << 26 });
  return { wall: (performance.now() - t0) / 1000, cpu: parseTimes(out), out };
}

/** Wait until a process stops using CPU (< 1 ms in 150 ms), at most `ms`. */
async function idle(pid: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const a = cpuSample(pid);
    await new Promise((r) => setTimeout(r, 150));
    if (cpuSeconds(a, cpuSample(pid)) < 0.001) return;
  }
}

async function fill(lab: Lab, n: number): Promise<void> {
  const table = lab.tables[1];
  await table.flush();
  const r = await table.createBatch(benchFlows(0, n), { liberal: true });
  if (r.some((e) => e !== 0) || (await table.count()) !== n) throw new Error(`setup: the addon did not create ${n} flows`);
}

async function dump(lab: Lab, n: number, rec: Both, say: (s: string) => void): Promise<void> {
  await fill(lab, n);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let seen = 0;
  await lab.tables[1].dump((b) => (seen += b.length));
  const wall = (performance.now() - t0) / 1000;
  const cpu = ownCpu(c0);
  if (seen === n) {
    rec.ours.set(`dump.wall.${n}`, wall);
    rec.ours.set(`dump.cpu.${n}`, cpu);
  } else say(`dump ${n}: the addon saw ${seen} flows — did not finish`);
  const cli = timed(lab, 'conntrack -L');
  const shown = Number(/(\d+) flow entries have been shown/.exec(cli.out)?.[1] ?? -1);
  if (shown === n) {
    rec.theirs.set(`dump.wall.${n}`, cli.wall);
    rec.theirs.set(`dump.cpu.${n}`, cli.cpu);
  } else say(`dump ${n}: conntrack -L showed ${shown} flows — did not finish`);
  say(`dump ${n}: addon ${wall.toFixed(3)} s (CPU ${cpu.toFixed(3)} s), conntrack -L ${cli.wall.toFixed(3)} s (CPU ${cli.cpu.toFixed(3)} s)`);
}

async function create(lab: Lab, n: number, rec: Both, tally: Tally, say: (s: string) => void): Promise<void> {
  const table = lab.tables[1];
  // the flows as a commit hands them to the addon: record slots (the engine caches slots and
  // never packs model objects on this path), packed before the clock starts
  const R = records();
  const slots = R.alloc(n);
  benchFlows(0, n).forEach((ct, i) => R.packCt(ct, slots, i * R.slot));
  await table.flush();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await table.createRecords({ buf: slots, count: n }, { liberal: true });
  const wall = (performance.now() - t0) / 1000;
  const cpu = ownCpu(c0);
  const ok = r.every((e) => e === 0) && (await table.count()) === n;
  if (ok) {
    rec.ours.set(`create.commit.${n}`, wall);
    rec.ours.set(`create.cpu.${n}`, cpu);
    rec.ours.set(`create.restore.${n}`, wall);
  } else say(`create ${n}: the addon's batch did not create all — did not finish`);
  // conntrackd's commit of the same N, from this repeat's sync session (n/a if not run)
  rec.theirs.set(`create.commit.${n}`, tally.last(`commit.time.${n}`, 'theirs') ?? null);
  rec.theirs.set(`create.cpu.${n}`, tally.last(`commit.cpu.${n}`, 'theirs') ?? null);
  await table.flush();
  const cli = timed(lab, `conntrack -R ${lab.flowFile(0, n)}`);
  const made = await table.count();
  if (made === n) rec.theirs.set(`create.restore.${n}`, cli.wall);
  else say(`create ${n}: conntrack -R made ${made} flows — did not finish`);
  await table.flush();
  say(`create ${n}: addon ${wall.toFixed(3)} s (CPU ${cpu.toFixed(3)} s), conntrack -R ${cli.wall.toFixed(3)} s`);
}

/**
 * An event listener under test: its process (this one for the addon), and how many NEW events
 * it has taken in — the addon counts them, conntrackd's Stats cache holds them; without a count
 * (`conntrack -E > /dev/null`) its CPU going idle marks the end.
 */
interface Listener {
  pid: number;
  count?: () => Promise<number>;
  /** start counting from 0 */
  reset?: () => void;
}

/**
 * CPU of `listener` (all threads, and split by thread) over the NEW events of one
 * `conntrack -R` of N, after a warm-up of a tenth of it.
 */
async function intakeRound(lab: Lab, n: number, listener: Listener): Promise<{ cpuS: number; threads: Array<[string, number]>; complete: boolean }> {
  const table = lab.tables[1];
  const { pid, count } = listener;
  const warm = Math.max(1000, Math.ceil(n / 10));
  await table.flush();
  listener.reset?.();
  await lab.inject(1, 0, warm);
  if (count) await pollUntil(async () => (await count()) >= warm, 30_000);
  await table.flush();
  listener.reset?.();
  if (count) await pollUntil(async () => (await count()) === 0, 30_000);
  else await idle(pid, 10_000);
  const inject = lab.armInject(1, 0, n);
  await new Promise((r) => setTimeout(r, 100)); // the armed shell reaches its `read`
  const before = cpuSample(pid);
  await inject();
  const complete = count ? (await pollUntil(async () => (await count()) >= n, 30_000)) !== null : (await idle(pid, 30_000), true);
  const after = cpuSample(pid);
  await table.flush();
  return { cpuS: cpuSeconds(before, after, pid !== process.pid), threads: threadSplit(pid, before, after), complete };
}

/** `main 0.80, node 0.31` (s), threads above 5 ms */
const threadText = (t: Array<[string, number]>) =>
  t
    .filter(([, s]) => s >= 0.005)
    .map(([name, s]) => `${name} ${s.toFixed(2)}`)
    .join(', ');

async function intake(lab: Lab, n: number, which: ReadonlySet<KernelScenario>, rec: Both, say: (s: string) => void): Promise<void> {
  const perEvent = (s: number) => (s / n) * 1e6;
  // the addon, in this process
  let got = 0;
  let overruns = 0;
  const sub = lab.tables[1].subscribe({ events: { new: true }, rcvbuf: RCVBUF, onRecords: (b) => (got += b.count), onOverrun: (c) => (overruns += c) });
  try {
    const r = await intakeRound(lab, n, { pid: process.pid, count: async () => got, reset: () => (got = 0) });
    if (r.complete && overruns === 0) {
      for (const s of which) if (s === 'intake' || s === 'floor') rec.ours.set(`${s}.${n}`, perEvent(r.cpuS));
      say(`intake ${n}: addon ${perEvent(r.cpuS).toFixed(2)} µs CPU per event; threads (s): ${threadText(r.threads)}`);
    } else say(`intake ${n}: the addon saw ${got} events, ${overruns} overruns — did not finish`);
  } finally {
    sub.close();
  }

  if (which.has('intake')) {
    const node = await statsDaemon(lab);
    try {
      const peer = new Peer(node);
      const r = await intakeRound(lab, n, { pid: peer.pid, count: async () => (await peer.caches()).stats?.active ?? -1 });
      if (r.complete) rec.theirs.set(`intake.${n}`, perEvent(r.cpuS));
      say(`intake ${n}: conntrackd (Stats mode) ${perEvent(r.cpuS).toFixed(2)} µs CPU per event${r.complete ? '' : ' — did not finish'}`);
    } finally {
      await node.stop();
    }
  }

  if (which.has('floor')) {
    const ev = lab.topo.ns[1].spawn('conntrack', ['-E', '-e', 'NEW', '-b', String(RCVBUF)], { stdio: 'ignore' });
    try {
      // `ip netns exec` execs the program: the child's pid is conntrack's
      await pollUntil(() => existsSync(`/proc/${ev.pid}`) && cpuSample(ev.pid!).tids.length > 0, 5000);
      await new Promise((r) => setTimeout(r, 200));
      const r = await intakeRound(lab, n, { pid: ev.pid! });
      rec.theirs.set(`floor.${n}`, perEvent(r.cpuS));
      say(`floor ${n}: conntrack -E > /dev/null ${perEvent(r.cpuS).toFixed(2)} µs CPU per event`);
    } finally {
      ev.kill('SIGKILL');
    }
  }
}

/** conntrackd in statistics mode in the receiver's namespace: it takes in events, sends nothing. */
async function statsDaemon(lab: Lab): Promise<SyncNode> {
  const paths = nodePaths(lab.dir, 'stats');
  writeFileSync(
    paths.conf,
    `General {\n\tSystemd off\n\tHashSize 32768\n\tHashLimit 524288\n\tLogFile ${paths.log}\n\tSyslog off\n\tLockFile ${paths.lock}\n` +
      `\tUNIX {\n\t\tPath ${paths.ctl}\n\t}\n\tNetlinkBufferSize ${RCVBUF}\n\tNetlinkBufferSizeMaxGrowth ${RCVBUF}\n}\nStats {\n\tLogFile off\n}\n`,
  );
  const ns = lab.topo.ns[1];
  const r = nsExec(ns, ['sh', '-c', `exec ${CONNTRACKD} -C '${paths.conf}' -d >'${paths.log}.out' 2>&1 </dev/null`], 20_000);
  if (r.status !== 0 || (await pollUntil(() => existsSync(paths.ctl), 5000)) === null) throw new Error(`conntrackd in statistics mode did not start: ${r.stderr}`);
  return new SyncNode('conntrackd', ns, paths);
}

/** One repeat of the selected kernel scenarios at N flows. */
export async function runKernel(lab: Lab, n: number, which: ReadonlySet<KernelScenario>, tally: Tally, say: (s: string) => void): Promise<void> {
  const ids = defs(n, which).map((d) => d.id);
  const rec: Both = { ours: new RunRecord(tally, 'ours', ids), theirs: new RunRecord(tally, 'theirs', ids) };
  try {
    if (which.has('dump')) await dump(lab, n, rec, say);
    if (which.has('create')) await create(lab, n, rec, tally, say);
    if (which.has('intake') || which.has('floor')) await intake(lab, n, which, rec, say);
  } catch (err) {
    say(`kernel scenarios at ${n} flows failed: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    rec.ours.close();
    rec.theirs.close();
    await lab.tables[1].flush();
  }
}
