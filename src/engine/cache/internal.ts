/**
 * The internal cache: the mirror of the local kernel table that feeds the sync modes
 * (shared/spec/conntrackd.md §3.1, §3.2, §3.6). Events update it; only events not caused by
 * the daemon itself are handed to the sync mode (origin tracking).
 */
import type { Conntrack, CtEvent, ExpEvent, Expectation } from '../model/conntrack.js';
import type { FilterConfig } from '../config/types.js';
import { Cache } from './cache.js';
import type { CacheObject } from './object.js';
import { conntrackCacheKey, expectationCacheKey } from './key.js';
import { cacheable, mergeConntrack } from './merge.js';
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

/**
 * A NEW event's conntrack becomes the cached state itself: the event was decoded for this
 * intake alone and nothing reads it afterwards, so the copy `cacheable` makes is saved on the
 * hot path. Only the counters, which are never cached, are dropped.
 */
function adopt(ct: Conntrack): Conntrack {
  if (ct.counters !== undefined) ct.counters = undefined;
  return ct;
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

  /** The user-space filter (also used by the daemon for the selective flush, §3.4). */
  accepts(ct: Conntrack): boolean {
    return this.filter(ct);
  }

  /** A conntrack event from the kernel. Returns the object that changed, if any. */
  ctEvent(ev: CtEvent): CacheObject<Conntrack> | undefined {
    const origin = this.originOf(ev.portId);
    if (origin === 'inject') return undefined; // our own direct injection (§3.2)
    if (this.filterEvents && !this.filter(ev.ct)) return undefined;
    const c = this.ct;
    let obj: CacheObject<Conntrack> | undefined;
    if (ev.type === 'destroy') {
      obj = c.find(ev.ct);
      if (obj === undefined || obj.status === 'dead') return undefined;
      c.kill(obj);
      this.onChange(obj);
      if (origin === 'not-me') this.onEnqueue(obj);
      c.unref(obj); // a DEAD object lives on only in the queues
      return obj;
    }
    obj = ev.type === 'new' ? this.recreate(c, adopt(ev.ct)) : this.updateForce(c, ev.ct);
    if (obj !== undefined && origin === 'not-me') this.onEnqueue(obj);
    return obj;
  }

  /** An expectation event (ExpectationSync): helper filter, master must be cached (§3.6). */
  expEvent(ev: ExpEvent): CacheObject<Expectation> | undefined {
    const origin = this.originOf(ev.portId);
    if (origin === 'inject') return undefined;
    if (!expectationAccepted(ev.exp, this.expectationSync)) return undefined;
    const e = this.exp;
    let obj: CacheObject<Expectation> | undefined;
    if (ev.type === 'destroy') {
      obj = e.find(ev.exp);
      if (obj === undefined || obj.status === 'dead') return undefined;
      e.kill(obj);
      this.onChange(obj);
      if (origin === 'not-me') this.onEnqueue(obj);
      e.unref(obj);
      return obj;
    }
    if (!this.hasMaster(ev.exp)) return undefined;
    obj = ev.type === 'new' ? this.recreate(e, { ...ev.exp }) : this.updateForce(e, ev.exp);
    if (obj !== undefined && origin === 'not-me') this.onEnqueue(obj);
    return obj;
  }

  /** Start-up dump and `-R` resync (§3.1): fill from the kernel table, nothing is sent. */
  populate(ct: Conntrack): void {
    if (!this.filter(ct)) return;
    this.updateForce(this.ct, cacheable(ct, true));
  }

  populateExp(exp: Expectation): void {
    if (!expectationAccepted(exp, this.expectationSync) || !this.hasMaster(exp)) return;
    this.updateForce(this.exp, exp);
  }

  /** `-f internal`: drop everything (queued DEAD objects leave when their queue releases them). */
  flush(): void {
    this.ct.flush();
    this.exp.flush();
  }

  /** Every object, conntracks first (bulk send `-B`, RESYNC answers, dumps). */
  *objects(): IterableIterator<SyncObject> {
    yield* this.ct.values();
    yield* this.exp.values();
  }

  private hasMaster(exp: Expectation): boolean {
    const m = this.ct.find({ orig: exp.master, zone: exp.zone });
    return m !== undefined && m.status !== 'dead';
  }

  /** NEW: any cached object with that key is dropped and a fresh one created. */
  private recreate<T extends Conntrack | Expectation>(c: Cache<T>, data: T): CacheObject<T> | undefined {
    const hash = c.hashOf(data);
    const old = c.find(data, hash);
    if (old !== undefined) c.remove(old);
    return this.changed(c.add(data, hash));
  }

  /** `cache_update_force`: merge into a live object, else (re)create. */
  private updateForce<T extends Conntrack | Expectation>(c: Cache<T>, data: T): CacheObject<T> | undefined {
    const obj = c.find(data);
    if (obj !== undefined && obj.status !== 'dead') {
      if (c.kind === 'ct') mergeConntrack(obj.data as Conntrack, data as Conntrack);
      else obj.data = { ...data };
      c.touch(obj);
      return this.changed(obj);
    }
    if (obj !== undefined) c.remove(obj);
    return this.changed(c.add(c.kind === 'ct' ? (cacheable(data as Conntrack) as T) : { ...data }));
  }

  private changed<T extends Conntrack | Expectation>(obj: CacheObject<T> | undefined): CacheObject<T> | undefined {
    if (obj !== undefined) this.onChange(obj as SyncObject);
    return obj;
  }
}
