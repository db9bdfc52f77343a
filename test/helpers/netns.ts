/**
 * The one place that builds network namespaces for integration tests. Everything created
 * here is recorded and torn down by `cleanup()` (call it in afterAll) and, as a last resort,
 * when the test process exits, so a failing test never leaves namespaces or daemons behind.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface NetnsSupport {
  ok: boolean;
  reason: string;
}

let support: NetnsSupport | undefined;

/** Whether this process may create namespaces (root, iproute2, netns support). Cached. */
export function netnsSupport(): NetnsSupport {
  if (support) return support;
  if (process.getuid?.() !== 0) {
    support = { ok: false, reason: 'needs root (network namespaces and CAP_NET_ADMIN)' };
    return support;
  }
  const probe = `ctprobe${process.pid}`;
  const add = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (add.error || add.status !== 0) {
    support = { ok: false, reason: `cannot create a network namespace: ${add.error?.message ?? add.stderr.trim()}` };
    return support;
  }
  spawnSync('ip', ['netns', 'del', probe]);
  support = { ok: true, reason: '' };
  return support;
}

/** Whether a program is installed (for tests that need conntrackd, keepalived, ...). */
export function hasProgram(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
}

const live = new Set<Netns>();
const children = new Set<ChildProcess>();
let seq = 0;

export class Netns {
  readonly name: string;
  /** argv prefix that runs a command inside (see privateRun()). */
  private enter: string[];
  private anchor: number | undefined;

  constructor(prefix: string) {
    // Short names: interface and namespace names are limited, and tests run in parallel.
    this.name = `ct${prefix}${process.pid % 100000}x${seq++}`;
    this.enter = ['ip', 'netns', 'exec', this.name];
    execFileSync('ip', ['netns', 'add', this.name]);
    live.add(this);
    this.run('ip', ['link', 'set', 'lo', 'up']);
  }

  /**
   * Make the namespace a box of its own on the filesystem too: from now on every command runs
   * in a private mount namespace whose /run is an empty tmpfs, so daemons at their default
   * paths (/run/…, /var/run, /var/lock, the system bus socket) meet no other namespace's. An
   * anchor process holds that mount namespace; destroy() ends it with everything else.
   */
  async privateRun(): Promise<void> {
    const anchor = this.spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
      'mount -t tmpfs -o mode=755 ctrun /run && mkdir -p /run/lock && echo ready && exec sleep infinity']);
    let out = '';
    anchor.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    if (!(await waitFor(() => out.includes('ready'), 5000))) throw new Error(`[${this.name}] no private /run`);
    // ip netns exec, unshare and sh all exec: the child is the anchor itself.
    this.anchor = anchor.pid!;
    this.enter = ['nsenter', '-t', String(this.anchor), '-m', '-n'];
  }

  /** Where a path inside the namespace's own filesystem (privateRun) is seen from here. */
  path(p: string): string {
    if (this.anchor === undefined) return p;
    // /var/run and /var/lock are absolute links into /run: through /proc/<pid>/root they would
    // resolve against this process's root, not the namespace's
    return `/proc/${this.anchor}/root${p.replace(/^\/var\/(run|lock)(?=\/|$)/, (_, d: string) => (d === 'run' ? '/run' : '/run/lock'))}`;
  }

  /** A process that lives as long as the namespace (privateRun), for /proc/<pid>/net/… reads. */
  get anchorPid(): number | undefined {
    return this.anchor;
  }

  /** Run a command inside the namespace; throws with stderr on a non-zero exit. */
  run(cmd: string, args: string[] = [], input?: string): string {
    const r = spawnSync(this.enter[0]!, [...this.enter.slice(1), cmd, ...args], {
      encoding: 'utf8',
      input,
      maxBuffer: 256 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    if (r.status !== 0) {
      throw new Error(`[${this.name}] ${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.trim()}`);
    }
    return r.stdout;
  }

  /** Like run() but returns status, stdout and stderr without throwing. */
  try(cmd: string, args: string[] = [], input?: string): { status: number; stdout: string; stderr: string } {
    const r = spawnSync(this.enter[0]!, [...this.enter.slice(1), cmd, ...args], {
      encoding: 'utf8',
      input,
      maxBuffer: 256 * 1024 * 1024,
    });
    return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  sh(script: string): string {
    return this.run('sh', ['-c', script]);
  }

  /** Start a long-running process in the namespace; it is killed by cleanup(). */
  spawn(cmd: string, args: string[] = [], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn(this.enter[0]!, [...this.enter.slice(1), cmd, ...args], { stdio: 'pipe', ...opts });
    children.add(child);
    child.once('exit', () => children.delete(child));
    return child;
  }

  /** Add an address to an interface inside the namespace and bring it up. */
  addr(ifname: string, cidr: string): void {
    this.run('ip', ['addr', 'add', cidr, 'dev', ifname, ...(cidr.includes(':') ? ['nodad'] : [])]);
    this.run('ip', ['link', 'set', ifname, 'up']);
  }

  destroy(): void {
    if (!live.has(this)) return;
    live.delete(this);
    // Kill whatever still runs inside before removing the namespace.
    const pids = spawnSync('ip', ['netns', 'pids', this.name], { encoding: 'utf8' }).stdout ?? '';
    for (const pid of pids.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}

/** A veth pair between two namespaces (this kernel has no dummy driver: veth stands in). */
export function veth(a: Netns, ifA: string, b: Netns, ifB: string): void {
  const tmpA = `v${process.pid % 10000}a${seq}`;
  const tmpB = `v${process.pid % 10000}b${seq++}`;
  execFileSync('ip', ['link', 'add', tmpA, 'type', 'veth', 'peer', 'name', tmpB]);
  execFileSync('ip', ['link', 'set', tmpA, 'netns', a.name]);
  execFileSync('ip', ['link', 'set', tmpB, 'netns', b.name]);
  a.run('ip', ['link', 'set', tmpA, 'name', ifA]);
  b.run('ip', ['link', 'set', tmpB, 'name', ifB]);
  a.run('ip', ['link', 'set', ifA, 'up']);
  b.run('ip', ['link', 'set', ifB, 'up']);
}

/** Kill every child started through Netns.spawn and delete every namespace made here. */
export async function cleanup(): Promise<void> {
  for (const child of children) {
    child.kill('SIGKILL');
  }
  children.clear();
  for (const ns of [...live]) ns.destroy();
}

process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  for (const ns of [...live]) ns.destroy();
});

/** Poll until `check` returns a truthy value or the deadline passes (bounded wait). */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs: number, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await check();
  while (!last && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, stepMs));
    last = await check();
  }
  return last;
}

/**
 * Why an integration suite cannot run here ('' when it can): no root/netns, or a program it
 * drives is not installed.
 */
export function skipReason(programs: string[] = []): string {
  const ns = netnsSupport();
  if (!ns.ok) return ns.reason;
  const missing = programs.filter((p) => !hasProgram(p));
  return missing.length > 0 ? `missing ${missing.join(', ')}` : '';
}

/** The suffix of a suite's title: the reason it is skipped, or nothing when it runs. */
export function skipNote(reason: string): string {
  return reason ? ` (skipped: ${reason})` : '';
}
