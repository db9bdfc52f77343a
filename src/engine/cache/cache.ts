/**
 * One cache of objects (conntrackd `cache.c`, shared/spec/conntrackd.md §3.1): a keyed table
 * bounded by HashLimit, with CacheStats counted the way conntrackd counts them. The state of
 * each object is a record slot in the cache's store; entries come in as slots (kernel events,
 * decoded messages) and are copied in. Knows nothing of the wire; the internal and external
 * caches give it its meaning.
 */
import type { CacheStats } from '../stats.js';
import { records } from '../kernel/record.js';
import type { CacheKey } from './key.js';
import { CacheObject } from './object.js';
import type { CacheData, ObjectOwner } from './object.js';
import { RecordStore } from './store.js';

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

export class Cache<T extends CacheData> implements ObjectOwner<T> {
  readonly stats: CacheStats = newCacheStats();
  /** The objects' states; an object's slot is at `bufOf(obj)[at(obj)]` for its whole life. */
  readonly store = new RecordStore(records().slot);
  /** Hash → the objects with that hash, chained through `CacheObject.next`. */
  private readonly table = new Map<number, CacheObject<T>>();
  private count = 0;
  /** Called when an object leaves the table for good (timers to cancel). */
  onRelease: ((obj: CacheObject<T>) => void) | undefined;

  constructor(
    readonly name: string,
    readonly kind: 'ct' | 'exp',
    private readonly key: CacheKey,
    private readonly limit: number,
    private readonly nowSeconds: () => number,
  ) {}

  get size(): number {
    return this.count;
  }

  /** The buffer holding the object's slot. */
  bufOf(obj: CacheObject<T>): Buffer {
    return this.store.buf(obj.slot);
  }

  /** Offset of the object's slot in `bufOf(obj)`. */
  at(obj: CacheObject<T>): number {
    return this.store.at(obj.slot);
  }

  /** The object with the key of the slot at `rec[o]`. */
  find(rec: Buffer, o: number, hash = this.key.hash(rec, o)): CacheObject<T> | undefined {
    const s = this.store;
    for (let x = this.table.get(hash); x !== undefined; x = x.next) if (this.key.same(s.buf(x.slot), s.at(x.slot), rec, o)) return x;
    return undefined;
  }

  /** The hash of the key of the slot at `rec[o]` (computed once per event by callers that look up and add). */
  hashOf(rec: Buffer, o: number): number {
    return this.key.hash(rec, o);
  }

  /** `cache_add`: a new object (status NEW) holding a copy of the slot; undefined when HashLimit is reached (ENOSPC). */
  add(rec: Buffer, o: number, hash = this.key.hash(rec, o)): CacheObject<T> | undefined {
    if (this.count >= this.limit) {
      this.stats.createdFailed++;
      this.stats.noSpace++;
      return undefined;
    }
    const obj = new CacheObject<T>(this.kind, hash, this.store.put(rec, o), this.nowSeconds(), this);
    obj.next = this.table.get(hash);
    this.table.set(hash, obj);
    this.count++;
    this.stats.createdOk++;
    this.stats.active++;
    this.stats.total++;
    return obj;
  }

  /** `cache_update`: the object was refreshed with new state (merged by the caller). */
  touch(obj: CacheObject<T>): void {
    obj.status = 'alive';
    obj.lastupdate = this.nowSeconds();
    this.stats.updatedOk++;
  }

  /** `cache_object_set_status(DEAD)`: counted as deleted, kept while referenced. */
  kill(obj: CacheObject<T>): void {
    if (obj.status === 'dead') return;
    obj.status = 'dead';
    this.stats.deletedOk++;
    this.stats.active--;
  }

  /** `cache_del` + `cache_object_put`: out of the table now; queues may still hold it. */
  remove(obj: CacheObject<T>): void {
    this.detach(obj);
    this.unref(obj);
  }

  /** Drops the cache's own reference: the object stays only as long as a queue holds it. */
  unref(obj: CacheObject<T>): void {
    if (!obj.cached) return;
    obj.cached = false;
    obj.put();
  }

  /** Drops every object (flush); queued ones are released by their queues later. */
  flush(): void {
    for (const obj of [...this.values()]) this.remove(obj);
  }

  release(obj: CacheObject<T>): void {
    this.detach(obj);
    this.onRelease?.(obj);
    this.store.release(obj.slot);
  }

  decode(obj: CacheObject<T>): T {
    const R = records();
    const b = this.bufOf(obj);
    const o = this.at(obj);
    return (this.kind === 'ct' ? R.decodeCt(b, o) : R.unpackExp(b, o)) as T;
  }

  *values(): IterableIterator<CacheObject<T>> {
    for (const head of this.table.values()) {
      for (let o: CacheObject<T> | undefined = head; o !== undefined; ) {
        const next: CacheObject<T> | undefined = o.next; // `o` may leave the table meanwhile
        if (o.attached) yield o;
        o = next;
      }
    }
  }

  [Symbol.iterator](): IterableIterator<CacheObject<T>> {
    return this.values();
  }

  private detach(obj: CacheObject<T>): void {
    if (!obj.attached) return;
    obj.attached = false;
    this.unlink(obj);
    this.count--;
    this.kill(obj);
    this.stats.total--;
  }

  private unlink(obj: CacheObject<T>): void {
    const head = this.table.get(obj.hash);
    if (head === obj) {
      if (obj.next === undefined) this.table.delete(obj.hash);
      else this.table.set(obj.hash, obj.next);
    } else {
      let o = head;
      while (o !== undefined && o.next !== obj) o = o.next;
      if (o !== undefined) o.next = obj.next;
    }
    // obj.next stays: an iteration standing on `obj` goes on from there
  }
}
