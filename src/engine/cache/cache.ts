/**
 * One cache of entries (conntrackd `cache.c`, shared/spec/conntrackd.md §3.1): a keyed table
 * bounded by HashLimit, with CacheStats counted the way conntrackd counts them. Its entries are
 * slots of its side's RecordStore (shared by the conntrack and expectation caches of that
 * side); the table is a power-of-two bucket array of slot numbers, chained through the store's
 * `chain` column. Entries come in as record slots (kernel events, decoded messages) and are
 * copied in. Knows nothing of the wire; the internal and external caches give it its meaning.
 */
import type { CacheStats } from '../stats.js';
import { KIND_CT, KIND_EXP, records } from '../kernel/record.js';
import type { CacheKey } from './key.js';
import type { Conntrack, Expectation } from '../model/conntrack.js';
import { NONE } from './store.js';
import type { EntryStatus, RecordStore, SlotOwner } from './store.js';

export type CacheData = Conntrack | Expectation;

export function newCacheStats(): CacheStats {
  return {
    active: 0,
    total: 0,
    createdOk: 0,
    createdFailed: 0,
    noMemory: 0,
    noSpace: 0,
    updatedOk: 0,
    updatedFailed: 0,
    updateNotFound: 0,
    deletedOk: 0,
    deletedFailed: 0,
    deleteNotFound: 0,
  };
}

/** An entry as `-i`/`-e` and tests read it: a decoded copy. */
export interface EntryView<T extends CacheData> {
  status: EntryStatus;
  data: T;
  /** Seconds: creation and last update. */
  lifetime: number;
  lastupdate: number;
}

export class Cache<T extends CacheData> implements SlotOwner {
  readonly stats: CacheStats = newCacheStats();
  /** Bucket → first slot of its chain (NONE: empty); grows with the entries (load ≤ 1). */
  private heads = new Int32Array(1024).fill(NONE);
  private count = 0;
  private readonly recordKind: number;

  constructor(
    readonly name: string,
    readonly kind: 'ct' | 'exp',
    /** The slots of this side (the other kind's cache shares it). */
    readonly store: RecordStore,
    private readonly key: CacheKey,
    private readonly limit: number,
    private readonly nowSeconds: () => number,
  ) {
    this.recordKind = kind === 'ct' ? KIND_CT : KIND_EXP;
    store.own(this.recordKind, this);
  }

  get size(): number {
    return this.count;
  }

  /** The buffer holding the entry's slot. */
  bufOf(e: number): Buffer {
    return this.store.buf(e);
  }

  /** Offset of the entry's slot in `bufOf(e)`. */
  at(e: number): number {
    return this.store.at(e);
  }

  /** The entry with the key of the slot at `rec[o]`, or NONE. */
  find(rec: Buffer, o: number, hash = this.key.hash(rec, o)): number {
    const s = this.store;
    const chain = s.chain;
    const hashes = s.hash;
    for (let e = this.heads[hash & (this.heads.length - 1)]!; e !== NONE; e = chain[e]!) {
      if (hashes[e] === hash && this.key.same(s.buf(e), s.at(e), rec, o)) return e;
    }
    return NONE;
  }

  /** The hash of the key of the slot at `rec[o]` (computed once per event by callers that look up and add). */
  hashOf(rec: Buffer, o: number): number {
    return this.key.hash(rec, o);
  }

  /** `cache_add`: a new entry (status NEW) holding a copy of the slot; NONE when HashLimit is reached (ENOSPC). */
  add(rec: Buffer, o: number, hash = this.key.hash(rec, o)): number {
    if (this.count >= this.limit) {
      this.stats.createdFailed++;
      this.stats.noSpace++;
      return NONE;
    }
    if (++this.count > this.heads.length) this.rehash(this.heads.length * 2);
    const e = this.store.put(rec, o, hash, this.nowSeconds());
    const b = hash & (this.heads.length - 1);
    this.store.chain[e] = this.heads[b]!;
    this.heads[b] = e;
    this.stats.createdOk++;
    this.stats.active++;
    this.stats.total++;
    return e;
  }

  status(e: number): EntryStatus {
    return this.store.status(e);
  }

  isDead(e: number): boolean {
    return this.store.isDead(e);
  }

  attached(e: number): boolean {
    return this.store.attached(e);
  }

  /** `cache_update`: the entry was refreshed with new state (merged by the caller). */
  touch(e: number): void {
    this.store.setStatus(e, 'alive');
    this.store.touch(e, this.nowSeconds());
    this.stats.updatedOk++;
  }

  /** `cache_object_set_status(DEAD)`: counted as deleted, kept while referenced. */
  kill(e: number): void {
    if (this.store.isDead(e)) return;
    this.store.setStatus(e, 'dead');
    this.stats.deletedOk++;
    this.stats.active--;
  }

  /** `cache_del` + `cache_object_put`: out of the table now; queues may still hold it. */
  remove(e: number): void {
    this.detach(e);
    this.store.uncache(e);
  }

  /** Drops the cache's own reference: the entry stays only as long as a queue holds it. */
  unref(e: number): void {
    this.store.uncache(e);
  }

  /** Drops every entry (flush); queued ones are released by their queues later. */
  flush(): void {
    for (const e of [...this.values()]) this.remove(e);
  }

  /** Out of the table (the store calls it when the last reference of a listed entry goes). */
  detach(e: number): void {
    if (!this.store.unlist(e)) return;
    this.unlink(e);
    this.count--;
    this.kill(e);
    this.stats.total--;
  }

  decode(e: number): T {
    const R = records();
    const b = this.bufOf(e);
    const o = this.at(e);
    return (this.kind === 'ct' ? R.decodeCt(b, o) : R.unpackExp(b, o)) as T;
  }

  view(e: number): EntryView<T> {
    const s = this.store;
    return { status: s.status(e), data: this.decode(e), lifetime: s.lifetime(e), lastupdate: s.lastupdate(e) };
  }

  /** The listed entries, oldest slot first; the current one may leave the table meanwhile. */
  *values(): IterableIterator<number> {
    const s = this.store;
    for (let e = 0; e < s.extent; e++) if (s.attached(e) && s.kind(e) === this.recordKind) yield e;
  }

  [Symbol.iterator](): IterableIterator<number> {
    return this.values();
  }

  private unlink(e: number): void {
    const chain = this.store.chain;
    const b = this.store.hash[e]! & (this.heads.length - 1);
    if (this.heads[b] === e) {
      this.heads[b] = chain[e]!;
      return;
    }
    for (let x = this.heads[b]!; x !== NONE; x = chain[x]!) {
      if (chain[x] === e) {
        chain[x] = chain[e]!;
        return;
      }
    }
  }

  private rehash(n: number): void {
    const s = this.store;
    const heads = new Int32Array(n).fill(NONE);
    const mask = n - 1;
    for (const e of this.values()) {
      const b = s.hash[e]! & mask;
      s.chain[e] = heads[b]!;
      heads[b] = e;
    }
    this.heads = heads;
  }
}
