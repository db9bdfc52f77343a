/**
 * The bench's lab: two firewalls in network namespaces joined by a veth sync link (the interop
 * tests' Topology), a pair of sync daemons of one kind on it (both conntrackd 1.4.7 or both
 * ctsyncd, same config file), the ctnetlink addon on both kernel tables, and the daemons read
 * from outside: CPU and RSS from /proc, counters from their control sockets (one connect per
 * poll from this process, no client program started).
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { requestText } from '../src/engine/control/client.js';
import { REQUEST } from '../src/engine/control/requests.js';
import { NetlinkKernelTable } from '../src/engine/kernel/index.js';
import { cleanup, type Netns, waitFor } from '../test/helpers/netns.js';
import { Topology, withDaemons } from '../test/integration/interop/cell.js';
import type { SyncMode, Transport } from '../test/integration/interop/conf.js';
import { writeFlowBatch } from '../test/integration/interop/flows.js';
import { type Daemon, nsExec, origTuple, type Reply, type SyncNode } from '../test/integration/interop/node.js';
import { type CacheStats, parseCacheStats, parseLost, parseOverruns } from './counters.js';
import { cpuSample, cpuSeconds, rssBytes, threadSplit, type CpuSample } from './proc.js';

/** How often a wait polls a control socket or the kernel count. */
export const POLL_MS = 25;
/** The longest a control request may take (a commit of 100k on a busy machine takes seconds). */
const ASK_MS = 120_000;

/** A running daemon as the bench measures it. */
export class Peer {
  readonly pid: number;

  constructor(readonly node: SyncNode) {
    this.pid = node.pid();
  }

  cpu(): CpuSample {
    return cpuSample(this.pid);
  }

  rss(): number {
    return rssBytes(this.pid);
  }

  /** One control request (conntrackd's protocol); the reply text. A daemon that does not answer within ASK_MS fails the run. */
  ask(code: number): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.node.daemon} did not answer control request ${code} within ${ASK_MS / 1000} s`)), ASK_MS);
    });
    return Promise.race([requestText(this.node.paths.ctl, code), late]).finally(() => clearTimeout(timer));
  }

  async caches(): Promise<CacheStats> {
    return parseCacheStats(await this.ask(REQUEST.STATS_CACHE));
  }

  async external(): Promise<number> {
    return (await this.caches()).external?.active ?? -1;
  }

  async internal(): Promise<number> {
    return (await this.caches()).internal?.active ?? -1;
  }

  async overruns(): Promise<number> {
    return parseOverruns(await this.ask(REQUEST.STATS_RUNTIME));
  }

  /** Sync messages this daemon saw missing (and asked again for, in FT-FW). */
  async lost(): Promise<number> {
    return parseLost(await this.ask(REQUEST.STATS_NETWORK));
  }

  /** Sorted original tuples of a cache dump (-i or -e). */
  async tuples(which: 'internal' | 'external'): Promise<string[]> {
    const text = await this.ask(which === 'internal' ? REQUEST.CT_DUMP_INTERNAL : REQUEST.CT_DUMP_EXTERNAL);
    return text.split('\n').filter((l) => l.trim() !== '').map(origTuple).sort();
  }
}

/** CPU seconds of several peers over one phase: open it before the phase, stop() after. */
export class CpuWindow {
  private readonly before: CpuSample[];
  /** when the window opened (performance.now() ms) */
  readonly t0 = performance.now();

  constructor(private readonly peers: Peer[]) {
    this.before = peers.map((p) => p.cpu());
  }

  /** CPU seconds per peer (in the constructor's order), split by thread, and the wall seconds. */
  stop(): { cpu: number[]; threads: Array<Array<[string, number]>>; wall: number } {
    const wall = (performance.now() - this.t0) / 1000;
    const after = this.peers.map((p) => p.cpu());
    return {
      cpu: after.map((a, i) => cpuSeconds(this.before[i], a)),
      threads: after.map((a, i) => threadSplit(this.peers[i].pid, this.before[i], a)),
      wall,
    };
  }
}

/**
 * Poll `check` every `stepMs` until it holds; the time it held (performance.now() ms), or null
 * at the deadline.
 */
export async function pollUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = POLL_MS): Promise<number | null> {
  const ok = await waitFor(check, timeoutMs, stepMs);
  return ok ? performance.now() : null;
}

/**
 * A command in a namespace, forked now but held at a shell `read` until fire(): the fork's
 * cost (this process is large) falls before a measurement of this process's CPU, not in it.
 * Never blocks the event loop (waits keep polling); killed after `timeoutMs`.
 */
export function armed(ns: Netns, argv: string[], timeoutMs = 60_000): { fire(): Promise<Reply> } {
  const child = spawn('ip', ['netns', 'exec', ns.name, 'sh', '-c', 'read go && exec "$0" "$@"', ...argv], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<Reply>((resolve) =>
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout: '', stderr: signal ? `killed by ${signal} ${stderr}` : stderr });
    }),
  );
  return {
    fire: () => {
      child.stdin.end('go\n');
      return done;
    },
  };
}

export interface LabOptions {
  mode: SyncMode;
  transport: Transport;
}

/** The two namespaces, their kernel tables through the addon, and the daemons run on them. */
export class Lab {
  readonly topo = new Topology('bn');
  /** [sender's table, receiver's table] */
  readonly tables: [NetlinkKernelTable, NetlinkKernelTable];
  private readonly flowFiles = new Map<string, string>();

  constructor(readonly opts: LabOptions) {
    this.tables = [0, 1].map((i) => NetlinkKernelTable.open({ netns: `/run/netns/${this.topo.ns[i].name}` })) as [NetlinkKernelTable, NetlinkKernelTable];
  }

  get dir(): string {
    return this.topo.dir;
  }

  /** The `conntrack -R` file creating flows [from, from + n) (written once, kept for the run). */
  flowFile(from: number, n: number): string {
    const key = `${from}+${n}`;
    let file = this.flowFiles.get(key);
    if (!file) {
      file = writeFlowBatch(`${this.dir}/flows-${from}-${n}.batch`, 'tcp4', from, from + n);
      this.flowFiles.set(key, file);
    }
    return file;
  }

  /** `conntrack -R` of flows [from, from + n) in namespace `side` (0 sender, 1 receiver), forked now, run by the function returned. */
  armInject(side: 0 | 1, from: number, n: number): () => Promise<void> {
    const cmd = armed(this.topo.ns[side], ['conntrack', '-R', this.flowFile(from, n)]);
    return async () => {
      const r = await cmd.fire();
      if (r.status !== 0) throw new Error(`conntrack -R of ${n} flows: ${r.stderr}`);
    };
  }

  inject(side: 0 | 1, from: number, n: number): Promise<void> {
    return this.armInject(side, from, n)();
  }

  /** Run `body` with a sender and a receiver daemon of one kind started (both kernels flushed before and after). */
  pair<T>(engine: Daemon, body: (tx: Peer, rx: Peer) => Promise<T>): Promise<T> {
    const cell = { id: `bench-${engine}`, sender: engine, receiver: engine, mode: this.opts.mode, transport: this.opts.transport, kind: 'tcp4' as const, n: 0 };
    return withDaemons(this.topo, cell, (tx, rx) => body(new Peer(tx), new Peer(rx)));
  }

  /** Run a command in a namespace, throwing on failure (setup steps). */
  exec(side: 0 | 1, argv: string[]): string {
    const r = nsExec(this.topo.ns[side], argv);
    if (r.status !== 0) throw new Error(`${argv.join(' ')} in ${this.topo.ns[side].name}: ${r.stderr}`);
    return r.stdout;
  }

  async close(): Promise<void> {
    for (const t of this.tables) t.close();
    await cleanup();
    this.topo.removeDir();
  }
}

/** Remove the lab's namespaces, daemons and files when the process ends any way it can. */
export function cleanUpOnExit(lab: () => Lab | undefined): void {
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\nbench: ${sig}, cleaning up\n`);
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // netns.ts kills its children and deletes its namespaces on exit; the files are ours
  process.once('exit', () => {
    const l = lab();
    if (l) rmSync(l.dir, { recursive: true, force: true });
  });
}
