/**
 * One cache of objects (conntrackd `cache.c`, shared/spec/conntrackd.md §3.1): a keyed table
 * bounded by HashLimit, with CacheStats counted the way conntrackd counts them. Knows nothing
 * of the wire; the internal and external caches give it its meaning.
 */
import type { CacheStats } from '../stats.js';
import { CacheObject } from './object.js';
import type { CacheData, ObjectOwner } from './object.js';

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
  private readonly table = new Map<string, CacheObject<T>>();
  /** Called when an object leaves the table for good (timers to cancel). */
  onRelease: ((obj: CacheObject<T>) => void) | undefined;

  constructor(
    readonly name: string,
    readonly kind: 'ct' | 'exp',
    private readonly keyOf: (data: T) => string,
    private readonly limit: number,
    private readonly nowSeconds: () => number,
  ) {}

  get size(): number {
    return this.table.size;
  }

  find(data: T): CacheObject<T> | undefined {
    return this.table.get(this.keyOf(data));
  }

  /** The key `data` is stored under (computed once per event by callers that look up and add). */
  keyFor(data: T): string {
    return this.keyOf(data);
  }

  get(key: string): CacheObject<T> | undefined {
    return this.table.get(key);
  }

  /** `cache_add`: a new object (status NEW); undefined when HashLimit is reached (ENOSPC). */
  add(data: T, key = this.keyOf(data)): CacheObject<T> | undefined {
    if (this.table.size >= this.limit) {
      this.stats.createdFailed++;
      this.stats.noSpace++;
      return undefined;
    }
    const obj = new CacheObject<T>(this.kind, key, data, this.nowSeconds(), this);
    this.table.set(key, obj);
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
    for (const obj of [...this.table.values()]) this.remove(obj);
  }

  release(obj: CacheObject<T>): void {
    this.detach(obj);
    this.onRelease?.(obj);
  }

  values(): IterableIterator<CacheObject<T>> {
    return this.table.values();
  }

  [Symbol.iterator](): IterableIterator<CacheObject<T>> {
    return this.table.values();
  }

  private detach(obj: CacheObject<T>): void {
    if (!obj.attached) return;
    obj.attached = false;
    if (this.table.get(obj.key) === obj) this.table.delete(obj.key);
    this.kill(obj);
    this.stats.total--;
  }
}
