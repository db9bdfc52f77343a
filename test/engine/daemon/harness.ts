/**
 * Two SyncEngines in one process: memory kernel tables, an in-memory lossy datagram link on
 * the fake scheduler of the sync-mode tests, and an array log.
 */
import type { EngineConfig, GeneralConfig, SyncConfig, SyncModeName } from '../../../src/engine/config/types.js';
import type { Transport } from '../../../src/engine/channel/transport.js';
import type { Conntrack } from '../../../src/engine/model/conntrack.js';
import { afterEach } from 'vitest';
import { MemoryKernel, MemoryKernelTable } from '../../../src/engine/kernel/memory-table.js';
import type { KernelTable } from '../../../src/engine/kernel/kernel-table.js';
import { SyncEngine } from '../../../src/engine/daemon/engine.js';
import type { EngineLog } from '../../../src/engine/daemon/log.js';
import { FakeScheduler, prng, syncConfig } from '../sync/harness.js';
import { cached } from '../../helpers/records.js';
import type { Cache } from '../../../src/engine/cache/cache.js';

export { FakeScheduler, prng };

export const START = Date.UTC(2026, 10, 22, 0, 0, 0);

export class ArrayLog implements EngineLog {
  readonly lines: string[] = [];
  notice(m: string): void {
    this.lines.push(`notice ${m}`);
  }
  info(m: string): void {
    this.lines.push(`info ${m}`);
  }
  warning(m: string): void {
    this.lines.push(`warning ${m}`);
  }
  error(m: string): void {
    this.lines.push(`error ${m}`);
  }
  has(re: RegExp): boolean {
    return this.lines.some((l) => re.test(l));
  }
}

export function generalConfig(over: Partial<GeneralConfig> = {}): GeneralConfig {
  return {
    hashSize: 65536,
    hashLimit: 262144,
    logFile: false,
    syslog: false,
    lockFile: '/var/lock/conntrackd.lock',
    unixPath: '/var/run/conntrackd.ctl',
    netlinkBufferSizeMaxGrowth: 0,
    netlinkOverrunResync: 30,
    netlinkEventsReliable: false,
    eventIterationLimit: 100,
    systemd: false,
    ...over,
  };
}

export function engineConfig(mode: SyncModeName, sync: Partial<SyncConfig> = {}, general: Partial<GeneralConfig> = {}): EngineConfig {
  return { general: generalConfig(general), sync: syncConfig(mode, sync), warnings: [] };
}

/** One end of a datagram link; what it sends reaches the peer's handler after `latencyMs`. */
export class LinkEnd implements Transport {
  readonly payloadLimit = 1500 - 28;
  readonly stream = false;
  /** Probability that a datagram sent from this end is lost. */
  loss = 0;
  up = true;
  datagrams = 0;
  deliver: ((payload: Buffer, link: number) => void) | undefined;
  /** Message types (byte 0) of everything sent, when recording. */
  types: number[] | undefined;

  constructor(
    private readonly sched: FakeScheduler,
    private readonly rnd: () => number,
    private readonly latencyMs = 0.1,
  ) {}

  send(payload: Buffer): void {
    this.datagrams++;
    if (this.types) for (let off = 0; off < payload.length; off += payload.readUInt16BE(off + 2)) this.types.push(payload[off]! & 0x0f);
    if (!this.up || this.rnd() < this.loss) return;
    const to = this.deliver;
    this.sched.setTimer(this.latencyMs, () => to?.(payload, 0));
  }
}

export interface Side {
  engine: SyncEngine;
  kernel: MemoryKernel;
  /** A handle that is not the daemon's: what traffic or conntrack(8) does to the table. */
  tool: MemoryKernelTable;
  link: LinkEnd;
  log: ArrayLog;
}

export interface PairOptions {
  a?: EngineConfig;
  b?: EngineConfig;
  seed?: number;
  /** Wraps the tables the engines open (tests that interpose on the kernel). */
  wrap?: (t: KernelTable, side: 'a' | 'b') => KernelTable;
}

export function side(name: 'a' | 'b', sched: FakeScheduler, cfg: EngineConfig, rnd: () => number, opts: PairOptions): Side {
  const kernel = new MemoryKernel();
  const link = new LinkEnd(sched, rnd);
  const log = new ArrayLog();
  const open = (): KernelTable => {
    const t = new MemoryKernelTable({ kernel });
    return opts.wrap ? opts.wrap(t, name) : t;
  };
  const engine = new SyncEngine(cfg, { openKernel: open, transport: link, log, scheduler: sched, random: () => Math.floor(rnd() * 0x80000000) });
  return { engine, kernel, tool: new MemoryKernelTable({ kernel }), link, log };
}

export function enginePair(mode: SyncModeName, opts: PairOptions = {}) {
  const sched = new FakeScheduler(START);
  const rnd = prng(opts.seed ?? 1);
  const a = side('a', sched, opts.a ?? engineConfig(mode), rnd, opts);
  const b = side('b', sched, opts.b ?? engineConfig(mode), rnd, opts);
  a.link.deliver = b.engine.receive;
  b.link.deliver = a.engine.receive;
  return { sched, a, b };
}

/**
 * `running(...sides)` starts the sides' engines, in order; every engine started through it is
 * stopped after each test of the file that calls this (at module level).
 */
export function stoppedAfterEach(): (...sides: Side[]) => Promise<void> {
  const started: Side[] = [];
  afterEach(async () => {
    for (const s of started.splice(0)) await s.engine.stop();
  });
  return async (...sides) => {
    for (const s of sides) {
      started.push(s);
      await s.engine.start();
    }
  };
}

/**
 * Lets the real event loop (memory-kernel event delivery, kernel promises) and the fake clock
 * take turns for `ms` fake milliseconds.
 */
export async function settle(sched: FakeScheduler, ms: number, stepMs = 50): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    await new Promise((r) => setImmediate(r));
    sched.advance(stepMs);
  }
  await new Promise((r) => setImmediate(r));
  sched.advance(0);
}

export function tcpFlow(i: number, over: Partial<Conntrack> = {}): Conntrack {
  return {
    orig: { l3: 'ipv4', src: `10.1.${(i >> 8) & 255}.${i & 255}`, dst: '10.0.2.10', proto: 6, sport: 40000 + (i % 20000), dport: 80 },
    status: 0xe,
    timeout: 3600,
    tcp: { state: 3 },
    ...over,
  };
}

export function udpFlow(i: number, over: Partial<Conntrack> = {}): Conntrack {
  return {
    orig: { l3: 'ipv4', src: `10.2.${(i >> 8) & 255}.${i & 255}`, dst: '10.0.2.53', proto: 17, sport: 5000 + i, dport: 53 },
    status: 0xa,
    timeout: 600,
    ...over,
  };
}

/** orig-tuple keys of the flows, or of the non-DEAD entries of a cache. */
export function keysOf(flows: Cache<Conntrack> | Conntrack[]): string[] {
  return (Array.isArray(flows) ? flows : cached(flows))
    .map((c) => `${c.orig.src}:${c.orig.sport}>${c.orig.dst}:${c.orig.dport}/${c.zone ?? 0}`)
    .sort();
}

export async function kernelKeys(t: KernelTable): Promise<string[]> {
  const all: Conntrack[] = [];
  await t.dump((b) => all.push(...b));
  return keysOf(all);
}
