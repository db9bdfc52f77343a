/**
 * The internal cache: the mirror of the local kernel table that feeds the sync modes
 * (shared/spec/conntrackd.md §3.1, §3.2, §3.6). Events update it; only events not caused by
 * the daemon itself are handed to the sync mode (origin tracking). Entries come and stay as
 * record slots (kernel/record.ts).
 */
import type { Conntrack, CtEventType, Expectation } from '../model/conntrack.js';
import type { FilterConfig } from '../config/types.js';
import { CT, EXP, copyBytes, records, u16, w16, w32 } from '../kernel/record.js';
import { Cache } from './cache.js';
import type { CacheObject } from './object.js';
import { conntrackCacheKey, expectationCacheKey } from './key.js';
import { dropCounters, mergeConntrack } from './merge.js';
import { compileFilter, expectationAccepted } from './filter.js';
import type { ConntrackFilter } from './filter.js';

/** Who caused a kernel event (`CTD_ORIGIN_*`). */
export type Origin = 'not-me' | 'commit' | 'flush' | 'inject';

export interface InternalCacheOptions {
  hashLimit: number;
  nowSeconds: () => number;
  filter?: FilterConfig;
  expectationSync?: 'all' | string[];
  /** Netlink port ids of the daemon's own sockets (from the kernel addon). */
  origins?: ReadonlyMap<number, Origin>;
}

export type SyncObject = CacheObject<Conntrack> | CacheObject<Expectation>;

export class InternalCache {
  readonly ct: Cache<Conntrack>;
  readonly exp: Cache<Expectation>;
  /** The sync mode's enqueue (set by the daemon); called for events to replicate. */
  onEnqueue: (obj: SyncObject) => void = () => undefined;
  /** Every add/update/destroy whatever the origin (the sync mode's per-object hooks, ALARM timers). */
  onChange: (obj: SyncObject) => void = () => undefined;
  origins: ReadonlyMap<number, Origin>;
  private readonly filter: ConntrackFilter;
  private readonly filterEvents: boolean;
  private readonly expectationSync: 'all' | string[] | undefined;
  /** The slot objects handed in (dumps) are packed into. */
  private readonly scratch = records().alloc(1);
  /** The conntrack key of an expectation's master. */
  private readonly masterKey = records().alloc(1);

  constructor(opts: InternalCacheOptions) {
    this.ct = new Cache<Conntrack>('internal', 'ct', conntrackCacheKey, opts.hashLimit, opts.nowSeconds);
    this.exp = new Cache<Expectation>('internal', 'exp', expectationCacheKey, opts.hashLimit, opts.nowSeconds);
    this.origins = opts.origins ?? new Map();
    this.filter = compileFilter(opts.filter);
    this.filterEvents = opts.filter?.from === 'userspace';
    this.expectationSync = opts.expectationSync;
  }

  originOf(portId: number): Origin {
    return this.origins.get(portId) ?? 'not-me';
  }

  /** The user-space filter of the conntrack slot at `rec[o]` (also the daemon's selective flush, §3.4). */
  accepts(rec: Buffer, o: number): boolean {
    return this.filter(rec, o);
  }

  /** A conntrack event from the kernel: the slot at `rec[o]`. Returns the object that changed, if any. */
  ctEvent(type: CtEventType, portId: number, rec: Buffer, o: number): CacheObject<Conntrack> | undefined {
    const origin = this.originOf(portId);
    if (origin === 'inject') return undefined; // our own direct injection (§3.2)
    if (this.filterEvents && !this.filter(rec, o)) return undefined;
    const c = this.ct;
    if (type === 'destroy') {
      const obj = c.find(rec, o);
      if (obj === undefined || obj.status === 'dead') return undefined;
      c.kill(obj);
      this.onChange(obj);
      if (origin === 'not-me') this.onEnqueue(obj);
      c.unref(obj); // a DEAD object lives on only in the queues
      return obj;
    }
    const obj = type === 'new' ? this.recreate(c, rec, o) : this.updateForce(c, rec, o);
    if (obj !== undefined) {
      dropCounters(c.bufOf(obj), c.at(obj));
      if (origin === 'not-me') this.onEnqueue(obj);
    }
    return obj;
  }

  /** An expectation event (ExpectationSync): helper filter, master must be cached (§3.6). */
  expEvent(type: CtEventType, portId: number, rec: Buffer, o: number): CacheObject<Expectation> | undefined {
    const origin = this.originOf(portId);
    if (origin === 'inject') return undefined;
    if (!this.expAccepted(rec, o)) return undefined;
    const e = this.exp;
    if (type === 'destroy') {
      const obj = e.find(rec, o);
      if (obj === undefined || obj.status === 'dead') return undefined;
      e.kill(obj);
      this.onChange(obj);
      if (origin === 'not-me') this.onEnqueue(obj);
      e.unref(obj);
      return obj;
    }
    if (!this.hasMaster(rec, o)) return undefined;
    const obj = type === 'new' ? this.recreate(e, rec, o) : this.updateForce(e, rec, o);
    if (obj !== undefined && origin === 'not-me') this.onEnqueue(obj);
    return obj;
  }

  /** Start-up dump and `-R` resync (§3.1): fill from the kernel table, nothing is sent. */
  populate(ct: Conntrack): void {
    const s = this.scratch;
    s.fill(0);
    records().packCt(ct, s, 0);
    if (!this.filter(s, 0)) return;
    const obj = this.updateForce(this.ct, s, 0);
    if (obj !== undefined) dropCounters(this.ct.bufOf(obj), this.ct.at(obj), true);
  }

  populateExp(exp: Expectation): void {
    const s = this.scratch;
    s.fill(0);
    records().packExp(exp, s, 0);
    if (!this.expAccepted(s, 0) || !this.hasMaster(s, 0)) return;
    this.updateForce(this.exp, s, 0);
  }

  /** Flushes so far: work begun before one (a commit's follow-up) knows it is stale. */
  flushes = 0;

  /** `-f internal`: drop everything (queued DEAD objects leave when their queue releases them). */
  flush(): void {
    this.flushes++;
    this.ct.flush();
    this.exp.flush();
  }

  /** Every object, conntracks first (bulk send `-B`, RESYNC answers, dumps). */
  *objects(): IterableIterator<SyncObject> {
    yield* this.ct.values();
    yield* this.exp.values();
  }

  private expAccepted(rec: Buffer, o: number): boolean {
    return this.expectationSync === 'all' || expectationAccepted(records().unpackExp(rec, o), this.expectationSync);
  }

  /** Whether the master of the expectation slot at `rec[o]` is cached and alive. */
  private hasMaster(rec: Buffer, o: number): boolean {
    const R = records();
    const E = R.L.exp;
    const C = R.L.ct;
    const key = this.masterKey;
    key.fill(0);
    copyBytes(rec, o + E.master, key, C.orig, R.tupleSize);
    let p = CT.ORIG;
    if (R.present(rec, o) & EXP.ZONE) {
      p |= CT.ZONE;
      w16(key, C.zone, u16(rec, o + E.zone));
    }
    w32(key, R.L.head.present, p);
    const m = this.ct.find(key, 0);
    return m !== undefined && m.status !== 'dead';
  }

  /** NEW: any cached object with that key is dropped and a fresh one created. */
  private recreate<T extends Conntrack | Expectation>(c: Cache<T>, rec: Buffer, o: number): CacheObject<T> | undefined {
    const hash = c.hashOf(rec, o);
    const old = c.find(rec, o, hash);
    if (old !== undefined) c.remove(old);
    return this.changed(c.add(rec, o, hash));
  }

  /** `cache_update_force`: merge into a live object, else (re)create. */
  private updateForce<T extends Conntrack | Expectation>(c: Cache<T>, rec: Buffer, o: number): CacheObject<T> | undefined {
    const hash = c.hashOf(rec, o);
    const obj = c.find(rec, o, hash);
    if (obj !== undefined && obj.status !== 'dead') {
      // an expectation's update replaces it (conntrackd's cache_update on expectations)
      if (c.kind === 'ct') mergeConntrack(c.bufOf(obj), c.at(obj), rec, o);
      else rec.copy(c.bufOf(obj), c.at(obj), o, o + records().slot);
      c.touch(obj);
      return this.changed(obj);
    }
    if (obj !== undefined) c.remove(obj);
    return this.changed(c.add(rec, o, hash));
  }

  private changed<T extends Conntrack | Expectation>(obj: CacheObject<T> | undefined): CacheObject<T> | undefined {
    if (obj !== undefined) this.onChange(obj as SyncObject);
    return obj;
  }
}
