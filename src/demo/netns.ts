/**
 * The demo on the real kernel (root): two network namespaces joined by a veth pair, one real
 * `ctsyncd -d` in each (a Node process cannot switch namespaces, so each node is its own
 * process, started with `ip netns exec`). Flows are loaded into A's table with
 * `conntrack -R`; B is watched, committed and asked for statistics through its control
 * socket, like an operator would with `ctsyncd -s cache`, `-c`, `-s`; `-k` stops both.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CtsyncError } from '../common/errors.js';
import { requestText } from '../engine/control/client.js';
import { REQUEST } from '../engine/control/requests.js';
import { addonAvailable } from '../engine/kernel/addon.js';
import { demoFlowLine } from './flows.js';
import { configFile, logFile, nodeConfig, unixPath, type DemoNode } from './node-config.js';
import { Progress, SETTLE_MS, settledStats, statsBlock, step, summary, until, type Out } from './report.js';
import type { DemoOptions, DemoRun } from './run.js';

const exec = promisify(execFile);
const CTSYNCD = fileURLToPath(new URL('../../bin/ctsyncd.js', import.meta.url));
/** Lines per `conntrack -R`: B's cache visibly fills while A's table is still being loaded. */
const CHUNK = 1000;
const COMMAND_TIMEOUT_MS = 15_000;

/** Why the netns mode cannot run here ('' when it can). */
export function netnsUnavailable(): string {
  if (process.getuid?.() !== 0) return 'the netns mode needs root';
  if (!addonAvailable()) return 'the ctnetlink addon is not built';
  if (spawnSync('sh', ['-c', 'command -v conntrack']).status !== 0) return 'conntrack(8) is not installed';
  const probe = `ctdemoprobe${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.error || add.status !== 0) return `ip netns does not work here: ${add.error?.message ?? add.stderr.trim()}`;
  spawnSync('ip', ['netns', 'del', probe]);
  return '';
}

interface NetnsNode extends DemoNode {
  netns: string;
}

export function netnsDemo(opts: DemoOptions, dir: string, out: Out): DemoRun {
  const tag = process.pid % 100000;
  const a: NetnsNode = { name: 'A', netns: `ctdemoa${tag}`, address: '10.200.0.1', peer: '10.200.0.2', interface: 'sync0', dir };
  const b: NetnsNode = { name: 'B', netns: `ctdemob${tag}`, address: '10.200.0.2', peer: '10.200.0.1', interface: 'sync0', dir };
  const created: NetnsNode[] = [];
  /** The veth ends, named in the root namespace until they move into theirs. */
  const veth = [`cd${tag}a`, `cd${tag}b`] as const;

  /** Runs a command in a node's namespace; the echo shows the operator's command. */
  const inNs = async (n: NetnsNode, cmd: string[], echo: boolean): Promise<string> => {
    if (echo) out.write(`$ ip netns exec ${n.netns} ${cmd.join(' ').replace(`${process.execPath} ${CTSYNCD}`, 'ctsyncd').replace(dir, '$DIR')}\n`);
    try {
      const r = await exec('ip', ['netns', 'exec', n.netns, ...cmd], { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
      return r.stdout;
    } catch (e) {
      const why = (e as { stderr?: string }).stderr?.trim() || (e as Error).message;
      throw new CtsyncError('DEMO_STEP_FAILED', `${cmd.join(' ')} in ${n.netns}: ${why}`, { cause: e });
    }
  };
  const ctsyncd = (n: NetnsNode, args: string[], echo = true): Promise<string> => inNs(n, [process.execPath, CTSYNCD, '-C', configFile(n), ...args], echo);

  const setUp = async (): Promise<void> => {
    for (const n of [a, b]) {
      await exec('ip', ['netns', 'add', n.netns]);
      created.push(n);
      await inNs(n, ['ip', 'link', 'set', 'lo', 'up'], false);
    }
    const [va, vb] = veth;
    await exec('ip', ['link', 'add', va, 'type', 'veth', 'peer', 'name', vb]);
    for (const [n, v] of [[a, va], [b, vb]] as const) {
      await exec('ip', ['link', 'set', v, 'netns', n.netns]);
      await inNs(n, ['ip', 'link', 'set', v, 'name', n.interface], false);
      await inNs(n, ['ip', 'addr', 'add', `${n.address}/24`, 'dev', n.interface], false);
      await inNs(n, ['ip', 'link', 'set', n.interface, 'up'], false);
      writeFileSync(configFile(n), nodeConfig(n));
    }
  };

  /** `active objects` of one of B's caches, from its `-s cache` answer. */
  const cacheCount = async (cache: 'internal' | 'external'): Promise<number> => {
    const text = await requestText(unixPath(b), REQUEST.STATS_CACHE);
    return Number(new RegExp(`cache:${cache}\\s+active objects:\\s+(\\d+)`).exec(text)?.[1] ?? 0);
  };

  const run = async (): Promise<void> => {
    step(out, `mode netns: ctsyncd daemons in namespaces ${a.netns} and ${b.netns} on the real kernel, FT-FW over UDP on a veth pair`);
    out.write(`A ${a.address} ↔ B ${b.address}, files in $DIR=${dir}\n`);
    await setUp();
    for (const n of [a, b]) await ctsyncd(n, ['-d']);

    step(out, `loading ${opts.flows} flows into A's kernel table (conntrack -R, ${CHUNK} per call)`);
    const progress = new Progress(out, opts.flows);
    let count = 0;
    let poll: Promise<void> | undefined;
    const ticker = setInterval(() => {
      poll ??= cacheCount('external')
        .then((c) => progress.update((count = c)))
        .catch(() => undefined)
        .finally(() => (poll = undefined));
    }, 200);
    let synced: boolean;
    try {
      for (let i = 0; i < opts.flows; i += CHUNK) {
        const file = `${dir}/flows.txt`;
        let text = '';
        for (let k = i; k < Math.min(i + CHUNK, opts.flows); k++) text += demoFlowLine(k);
        writeFileSync(file, text);
        await inNs(a, ['conntrack', '-R', file], false);
      }
      synced = await until(async () => (count = await cacheCount('external')) >= opts.flows, opts.timeoutMs, 50);
    } finally {
      clearInterval(ticker);
      await poll;
    }
    progress.update(count);
    const syncSeconds = progress.done();
    if (!synced) throw new CtsyncError('DEMO_STEP_FAILED', `B's external cache has ${count} of ${opts.flows} flows after ${opts.timeoutMs / 1000} s`);

    step(out, 'failover: B commits its external cache to its kernel table');
    await ctsyncd(b, ['-c']);
    // the daemon logs what it committed and how long it took (§3.3); the client prints nothing
    const lines = readFileSync(logFile(b), 'utf8').split('\n').filter((l) => /Committed \d+ new entries|commit has taken/.test(l));
    for (const l of lines) out.write(`[B log] ${l.replace(/^\[[^\]]*\] \(pid=\d+\) /, '')}\n`);
    const committed = Number(/Committed (\d+) new entries/.exec(lines.join('\n'))?.[1] ?? 0);
    const commitSeconds = Number(/commit has taken ([\d.]+) seconds/.exec(lines.join('\n'))?.[1] ?? NaN);
    const inKernel = Number((await inNs(b, ['conntrack', '-C'], true)).trim());
    out.write(`${inKernel}\n`);
    if (committed < opts.flows || inKernel < opts.flows) throw new CtsyncError('DEMO_STEP_FAILED', `the commit left ${inKernel} of ${opts.flows} flows in B's kernel table`);

    // B's kernel events of the commit fill its internal cache; let both nodes settle first
    await until(async () => (await cacheCount('internal')) >= opts.flows, SETTLE_MS, 100);
    const stats = await settledStats(() => Promise.all([a, b].map((n) => ctsyncd(n, ['-s'], false))));
    [a, b].forEach((n, i) => statsBlock(out, n.name, stats[i]!));
    summary(out, { flows: opts.flows, syncSeconds, commitSeconds, committed });
  };

  /** `-k` both daemons, then remove the namespaces (killing whatever still runs in them). */
  const cleanup = async (): Promise<void> => {
    for (const n of created) await ctsyncd(n, ['-k'], false).catch(() => undefined);
    for (const n of created.splice(0)) {
      await until(() => spawnSync('ip', ['netns', 'pids', n.netns], { encoding: 'utf8' }).stdout.trim() === '', 3000, 50);
      for (const pid of spawnSync('ip', ['netns', 'pids', n.netns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      spawnSync('ip', ['netns', 'del', n.netns]);
    }
    // only there if the set-up failed before moving it (deleting a namespace deletes its veth)
    spawnSync('ip', ['link', 'del', veth[0]], { stdio: 'ignore' });
  };
  return { run, cleanup };
}
