/**
 * Test harness for the sync modes: a deterministic fake scheduler, a lossy fake link and
 * in-process nodes (internal cache → sync mode → link → sync mode → external cache).
 */
import type { SyncConfig, SyncModeName } from '../../../src/engine/config/types.js';
import type { Conntrack, CtEvent } from '../../../src/engine/model/conntrack.js';
import { ExternalCache } from '../../../src/engine/cache/external.js';
import { InternalCache } from '../../../src/engine/cache/internal.js';
import { conntrackKey } from '../../../src/engine/cache/key.js';
import type { Cache } from '../../../src/engine/cache/cache.js';
import { createSyncMode } from '../../../src/engine/sync/index.js';
import type { SyncMode } from '../../../src/engine/sync/mode.js';
import type { Scheduler, TimerHandle } from '../../../src/engine/sync/scheduler.js';
import { seconds } from '../../../src/engine/sync/scheduler.js';
import { slot } from '../../helpers/records.js';

interface Timer {
  at: number;
  id: number;
  fn: () => void;
  cancelled: boolean;
}

export class FakeScheduler implements Scheduler {
  private t: number;
  private timers: Timer[] = [];
  private soonQueue: (() => void)[] = [];
  private ids = 0;

  constructor(startMs: number) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const timer: Timer = { at: this.t + ms, id: this.ids++, fn, cancelled: false };
    this.timers.push(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    (handle as Timer).cancelled = true;
  }

  soon(fn: () => void): void {
    this.soonQueue.push(fn);
  }

  /** Timers armed and neither fired nor cancelled. */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Runs everything due until `until` (ms since epoch), in time then creation order. */
  runUntil(until: number): void {
    for (let guard = 0; guard < 5_000_000; guard++) {
      this.drainSoon();
      this.timers = this.timers.filter((x) => !x.cancelled);
      let next: Timer | undefined;
      for (const x of this.timers) if (x.at <= until && (next === undefined || x.at < next.at || (x.at === next.at && x.id < next.id))) next = x;
      if (next === undefined) break;
      next.cancelled = true;
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = Math.max(this.t, until);
    this.drainSoon();
  }

  advance(ms: number): void {
    this.runUntil(this.t + ms);
  }

  private drainSoon(): void {
    for (let guard = 0; this.soonQueue.length > 0 && guard < 1_000_000; guard++) this.soonQueue.shift()!();
  }
}

/** Mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Sent {
  at: number;
  from: string;
  payload: Buffer;
}

export function syncConfig(mode: SyncModeName, over: Partial<SyncConfig> = {}): SyncConfig {
  return {
    mode,
    ftfw: { resendQueueSize: 131072, ackWindowSize: 300 },
    alarm: { refreshTime: 60, cacheTimeout: 180 },
    purgeTimeout: 60,
    disableExternalCache: false,
    disableInternalCache: false,
    startupResync: false,
    tcpWindowTracking: false,
    links: [],
    ...over,
  };
}

export class Node {
  readonly internal: InternalCache;
  readonly external: ExternalCache;
  readonly mode: SyncMode;
  peer: Node | undefined;
  /** Probability that a datagram *to* this node is lost. */
  lossIn = 0;
  /** Custom drop decision for datagrams to this node (overrides lossIn). */
  dropIn: ((payload: Buffer) => boolean) | undefined;
  up = true;
  /** Time between an enqueue and the tx run on this node (0: same loop turn). */
  txDelayMs = 0;
  readonly log: string[] = [];

  constructor(
    readonly name: string,
    readonly sched: FakeScheduler,
    readonly wire: Sent[],
    cfg: SyncConfig,
    readonly rnd: () => number = prng(1),
    latencyMs = 0.1,
    /** TCP-like link: every write is delivered in two chunks cut at a random byte. */
    stream = false,
  ) {
    const nowSeconds = (): number => seconds(sched);
    this.internal = new InternalCache({ hashLimit: 262144, nowSeconds, expectationSync: cfg.expectationSync });
    this.external = new ExternalCache({
      hashLimit: 262144,
      nowSeconds,
      ...(cfg.mode === 'ALARM' ? { expiry: { scheduler: sched, cacheTimeout: cfg.alarm.cacheTimeout } } : {}),
    });
    const transport = {
      payloadLimit: stream ? 1500 - 40 : 1500 - 28,
      stream,
      send: (payload: Buffer): void => {
        if (!this.up) return;
        wire.push({ at: sched.now(), from: name, payload });
        const peer = this.peer;
        if (peer === undefined) return;
        const lost = peer.dropIn !== undefined ? peer.dropIn(payload) : this.rnd() < peer.lossIn;
        if (lost) return;
        const cut = stream ? 1 + Math.floor(this.rnd() * (payload.length - 1)) : payload.length;
        for (const chunk of [payload.subarray(0, cut), payload.subarray(cut)]) {
          if (chunk.length === 0) continue;
          sched.setTimer(latencyMs, () => {
            if (peer.up) peer.mode.receive(chunk, 0);
          });
        }
      },
    };
    this.mode = createSyncMode(
      cfg,
      {
        transport,
        store: this.internal.store,
        scheduler: {
          now: () => sched.now(),
          setTimer: (ms, fn) => sched.setTimer(ms, fn),
          clearTimer: (h) => sched.clearTimer(h),
          soon: (fn) => (this.txDelayMs > 0 ? void sched.setTimer(this.txDelayMs, fn) : sched.soon(fn)),
        },
        build: { sendTimeout: cfg.commitTimeout === undefined, tcpWindowTracking: cfg.tcpWindowTracking },
        external: this.external,
        resendAll: () => {
          for (const e of this.internal.entries()) this.mode.enqueue(e);
        },
        log: (m) => this.log.push(m),
      },
      () => Math.floor(this.rnd() * 0x80000000),
    );
    this.internal.replicateTo(this.mode);
  }

  event(type: CtEvent['type'], ct: Conntrack, portId = 0): void {
    this.internal.ctEvent(type, portId, ...slot(ct));
  }
}

export function pair(mode: SyncModeName, startMs: number, over: Partial<SyncConfig> = {}, seed = 1, stream = false) {
  const sched = new FakeScheduler(startMs);
  const wire: Sent[] = [];
  const rnd = prng(seed);
  const a = new Node('a', sched, wire, syncConfig(mode, over), rnd, 0.1, stream);
  const b = new Node('b', sched, wire, syncConfig(mode, over), rnd, 0.1, stream);
  a.peer = b;
  b.peer = a;
  return { sched, wire, a, b };
}

export function tcpFlow(i: number, over: Partial<Conntrack> = {}): Conntrack {
  return {
    orig: { l3: 'ipv4', src: `10.1.${(i >> 8) & 255}.${i & 255}`, dst: '10.0.2.10', proto: 6, sport: 40000, dport: 80 },
    status: 0xe,
    timeout: 3600,
    tcp: { state: 3 },
    ...over,
  };
}

/** Message types (byte0) of every message in the datagrams `from` sent. */
export function messageTypes(wire: Sent[], from: string): number[] {
  const out: number[] = [];
  for (const s of wire) {
    if (s.from !== from) continue;
    for (let off = 0; off < s.payload.length; off += s.payload.readUInt16BE(off + 2)) out.push(s.payload[off]!);
  }
  return out;
}

/** The state of a cache as comparable rows (key → wire-visible state). */
export function snapshot(cache: Cache<Conntrack>, includeDead = false) {
  const rows: Record<string, Conntrack> = {};
  for (const e of cache.values()) {
    if (!includeDead && cache.isDead(e)) continue;
    const data = cache.decode(e);
    rows[conntrackKey(data)] = data;
  }
  return rows;
}
