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
import { NONE, RecordStore } from './store.js';
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

/** What the internal cache tells of its changes: the sync mode's side of it. */
export interface Replicator {
  /** An entry changed by an event to replicate (origin `not-me`). */
  enqueue(e: number): void;
  /** Every add/update/destroy, whatever the origin (the mode's per-entry hooks, ALARM's timers). */
  objectChanged(e: number): void;
}

const NOWHERE: Replicator = { enqueue: () => undefined, objectChanged: () => undefined };

export class InternalCache {
  /** The entries of both caches: what the sync mode queues are slots of this store. */
  readonly store = new RecordStore();
  readonly ct: Cache<Conntrack>;
  readonly exp: Cache<Expectation>;
  /** Where changes go: the sync mode (`replicateTo`); nowhere until then. */
  private sink: Replicator = NOWHERE;
  origins: ReadonlyMap<number, Origin>;
  private readonly filter: ConntrackFilter;
  private readonly filterEvents: boolean;
  private readonly expectationSync: 'all' | string[] | undefined;
  /** The slot objects handed in (dumps) are packed into. */
  private readonly scratch = records().alloc(1);
  /** The conntrack key of an expectation's master. */
  private readonly masterKey = records().alloc(1);

  constructor(opts: InternalCacheOptions) {
    this.ct = new Cache<Conntrack>('internal', 'ct', this.store, conntrackCacheKey, opts.hashLimit, opts.nowSeconds);
    this.exp = new Cache<Expectation>('internal', 'exp', this.store, expectationCacheKey, opts.hashLimit, opts.nowSeconds);
    this.origins = opts.origins ?? new Map();
    this.filter = compileFilter(opts.filter);
    this.filterEvents = opts.filter?.from === 'userspace';
    this.expectationSync = opts.expectationSync;
  }

  /** The sync mode that replicates this cache's changes (called directly: no closure between them). */
  replicateTo(sink: Replicator): void {
    this.sink = sink;
  }

  originOf(portId: number): Origin {
    return this.origins.get(portId) ?? 'not-me';
  }

  /** The user-space filter of the conntrack slot at `rec[o]` (also the daemon's selective flush, §3.4). */
  accepts(rec: Buffer, o: number): boolean {
    return this.filter(rec, o);
  }

  /** A conntrack event from the kernel: the slot at `rec[o]`. Returns the entry that changed, or NONE. */
  ctEvent(type: CtEventType, portId: number, rec: Buffer, o: number): number {
    const origin = this.originOf(portId);
    if (origin === 'inject') return NONE; // our own direct injection (§3.2)
    if (this.filterEvents && !this.filter(rec, o)) return NONE;
    const c = this.ct;
    if (type === 'destroy') return this.destroyed(c, origin, rec, o);
    const e = type === 'new' ? this.recreate(c, rec, o) : this.updateForce(c, rec, o);
    if (e !== NONE) {
      dropCounters(c.bufOf(e), c.at(e));
      if (origin === 'not-me') this.sink.enqueue(e);
    }
    return e;
  }

  /** An expectation event (ExpectationSync): helper filter, master must be cached (§3.6). */
  expEvent(type: CtEventType, portId: number, rec: Buffer, o: number): number {
    const origin = this.originOf(portId);
    if (origin === 'inject') return NONE;
    if (!this.expAccepted(rec, o)) return NONE;
    const c = this.exp;
    if (type === 'destroy') return this.destroyed(c, origin, rec, o);
    if (!this.hasMaster(rec, o)) return NONE;
    const e = type === 'new' ? this.recreate(c, rec, o) : this.updateForce(c, rec, o);
    if (e !== NONE && origin === 'not-me') this.sink.enqueue(e);
    return e;
  }

  /** Start-up dump and `-R` resync (§3.1): fill from the kernel table, nothing is sent. */
  populate(ct: Conntrack): void {
    const s = this.scratch;
    s.fill(0);
    records().packCt(ct, s, 0);
    if (!this.filter(s, 0)) return;
    const e = this.updateForce(this.ct, s, 0);
    if (e !== NONE) dropCounters(this.ct.bufOf(e), this.ct.at(e), true);
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

  /** `-f internal`: drop everything (queued DEAD entries leave when their queue releases them). */
  flush(): void {
    this.flushes++;
    this.ct.flush();
    this.exp.flush();
  }

  /** Every entry, conntracks first (bulk send `-B`, RESYNC answers, dumps). */
  *entries(): IterableIterator<number> {
    yield* this.ct.values();
    yield* this.exp.values();
  }

  /** A destroy event: the entry is DEAD and lives on only in the queues. */
  private destroyed<T extends Conntrack | Expectation>(c: Cache<T>, origin: Origin, rec: Buffer, o: number): number {
    const e = c.find(rec, o);
    if (e === NONE || c.isDead(e)) return NONE;
    c.kill(e);
    this.sink.objectChanged(e);
    if (origin === 'not-me') this.sink.enqueue(e);
    c.unref(e);
    return e;
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
    return m !== NONE && !this.ct.isDead(m);
  }

  /** NEW: any cached entry with that key is dropped and a fresh one created. */
  private recreate<T extends Conntrack | Expectation>(c: Cache<T>, rec: Buffer, o: number): number {
    const hash = c.hashOf(rec, o);
    const old = c.find(rec, o, hash);
    if (old !== NONE) c.remove(old);
    return this.changed(c.add(rec, o, hash));
  }

  /** `cache_update_force`: merge into a live entry, else (re)create. */
  private updateForce<T extends Conntrack | Expectation>(c: Cache<T>, rec: Buffer, o: number): number {
    const hash = c.hashOf(rec, o);
    const e = c.find(rec, o, hash);
    if (e !== NONE && !c.isDead(e)) {
      // an expectation's update replaces it (conntrackd's cache_update on expectations)
      if (c.kind === 'ct') mergeConntrack(c.bufOf(e), c.at(e), rec, o);
      else rec.copy(c.bufOf(e), c.at(e), o, o + records().slot);
      c.touch(e);
      return this.changed(e);
    }
    if (e !== NONE) c.remove(e);
    return this.changed(c.add(rec, o, hash));
  }

  private changed(e: number): number {
    if (e !== NONE) this.sink.objectChanged(e);
    return e;
  }
}
