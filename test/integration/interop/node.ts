/**
 * One sync daemon of an interop cell — the real conntrackd 1.4.7 or ctsyncd — running in
 * its own namespace, plus the two control clients that can talk to it. Both daemons speak the
 * same control protocol (shared/spec/conntrackd.md §5.1), so every query can be asked through
 * either program and the answers compared.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import type { Netns } from '../../helpers/netns.js';
import { waitFor } from '../../helpers/netns.js';
import { CONNTRACKD, DAEMON_ARGV as PROGRAM, DAEMONS, type Daemon } from '../../helpers/programs.js';
import { requestText } from '../../../src/engine/control/client.js';
import { REQUEST } from '../../../src/engine/control/requests.js';
import type { NodePaths } from './conf.js';

export { CONNTRACKD, DAEMONS, type Daemon };

export interface Reply {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run argv inside the namespace, bounded in time; never throws. */
export function nsExec(ns: Netns, argv: string[], timeoutMs = 30_000, input?: string): Reply {
  const r = spawnSync('ip', ['netns', 'exec', ns.name, ...argv], { encoding: 'utf8', input, timeout: timeoutMs, maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.error ? `${r.error.message} ${r.stderr ?? ''}` : (r.stderr ?? '') };
}

/** Active objects of the internal and external conntrack caches, as `-s cache` prints them. */
export interface CacheCounts {
  internal: number;
  external: number;
}

export function parseCacheCounts(text: string): CacheCounts | undefined {
  const count = (name: string) => {
    const m = new RegExp(`cache:${name}\\s+active objects:\\s+(\\d+)`).exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const internal = count('internal');
  const external = count('external');
  return internal === undefined || external === undefined ? undefined : { internal, external };
}

/**
 * The original tuple of a `-i` / `-e` / `conntrack -L` line (§5.5): `proto src dst sport dport`,
 * the first src/dst/sport/dport of the line, so internal and external dumps compare.
 */
export function origTuple(line: string): string {
  const proto = /^(\w+)/.exec(line)?.[1] ?? '?';
  const field = (k: keyof typeof FIELD) => FIELD[k].exec(line)?.[1] ?? '';
  return `${proto} ${field('src')} ${field('dst')} ${field('sport')} ${field('dport')}`;
}

/** The first `key=value` of each tuple field (compiled once: dumps have 10,000 lines). */
const FIELD = { src: /\bsrc=(\S+)/, dst: /\bdst=(\S+)/, sport: /\bsport=(\S+)/, dport: /\bdport=(\S+)/ };

export class SyncNode {
  constructor(
    readonly daemon: Daemon,
    readonly ns: Netns,
    readonly paths: NodePaths,
  ) {}

  /** A client request through `client` (default: this node's own program). */
  request(args: string[], client: Daemon = this.daemon, timeoutMs = 30_000): Reply {
    return nsExec(this.ns, [...PROGRAM[client], '-C', this.paths.conf, ...args], timeoutMs);
  }

  /** `-s cache` through `client`; throws with the output if it cannot be parsed. */
  counts(client: Daemon = this.daemon): CacheCounts {
    const r = this.request(['-s', 'cache'], client);
    const c = parseCacheCounts(r.stdout);
    if (!c) throw new Error(`${client} -s cache against ${this.daemon} (exit ${r.status}): ${r.stdout}${r.stderr}`);
    return c;
  }

  /**
   * `-s cache` asked from this process over the control socket (same protocol, no client
   * process to start): for polling; the final checks go through both client programs.
   */
  async poll(): Promise<CacheCounts | undefined> {
    try {
      return parseCacheCounts(await requestText(this.paths.ctl, REQUEST.STATS_CACHE));
    } catch {
      return undefined; // not (yet / any more) answering
    }
  }

  /** A conntrack cache dump (`-i` or `-e`) asked from this process, as poll() does. */
  async pollDump(which: '-i' | '-e'): Promise<string[]> {
    const text = await requestText(this.paths.ctl, which === '-i' ? REQUEST.CT_DUMP_INTERNAL : REQUEST.CT_DUMP_EXTERNAL);
    return text.split('\n').filter((l) => l.trim() !== '');
  }

  /** Flow lines of a cache dump (`-i` or `-e`) through `client`. */
  dump(which: '-i' | '-e', client: Daemon = this.daemon, table: 'ct' | 'expect' = 'ct'): string[] {
    return this.request([which, table], client).stdout.split('\n').filter((l) => l.trim() !== '');
  }

  /**
   * Start detached and wait until the control socket answers. Output goes to a file, not a
   * pipe, so the detached daemon holds nothing of this process open.
   */
  async start(): Promise<void> {
    const out = `${this.paths.log}.out`;
    const argv = [...PROGRAM[this.daemon], '-C', this.paths.conf, '-d'].map((a) => `'${a}'`).join(' ');
    const r = nsExec(this.ns, ['sh', '-c', `exec ${argv} >'${out}' 2>&1 </dev/null`], 20_000);
    const up = await waitFor(async () => existsSync(this.paths.ctl) && (await this.poll()) !== undefined, 10_000, 50);
    if (!up) {
      throw new Error(`${this.daemon} in ${this.ns.name} did not start (exit ${r.status}): ${r.stderr}\n${readText(out)}\n${readText(this.paths.log)}`);
    }
  }

  /** KILL (`-k`), then SIGKILL whatever still runs with this config; remove lock and socket. */
  async stop(): Promise<void> {
    await requestText(this.paths.ctl, REQUEST.KILL).catch(() => undefined);
    const mine = () => this.pids();
    await waitFor(() => mine().length === 0, 3000, 50);
    for (const pid of mine()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
    await waitFor(() => mine().length === 0, 2000, 50);
    rmSync(this.paths.lock, { force: true });
    rmSync(this.paths.ctl, { force: true });
  }

  /** The daemon's log (conntrackd's LogFile or ctsyncd's, plus its start-up output). */
  log(): string {
    return `${readText(this.paths.log)}${readText(`${this.paths.log}.out`)}`;
  }

  /** The daemon's process id: the one process running with this node's config (after start()). */
  pid(): number {
    const pids = this.pids();
    if (pids.length !== 1) throw new Error(`${this.daemon} in ${this.ns.name}: ${pids.length} processes run with ${this.paths.conf}`);
    return pids[0];
  }

  /** Processes in this node's namespace started with this node's config file. */
  pids(): number[] {
    const r = spawnSync('ip', ['netns', 'pids', this.ns.name], { encoding: 'utf8' });
    return (r.stdout ?? '')
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((pid) => readText(`/proc/${pid}/cmdline`).split('\0').includes(this.paths.conf));
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
