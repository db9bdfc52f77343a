/**
 * A cache object (conntrackd `struct cache_object`, shared/spec/conntrackd.md §2.1, §3.1):
 * the cached state plus its status, times and references. A DEAD object stays in the table
 * while a sync queue still references it (DEL not yet sent / acknowledged).
 */
import type { Conntrack, Expectation } from '../model/conntrack.js';
import type { TimerHandle } from '../sync/scheduler.js';

export type ObjectStatus = 'new' | 'alive' | 'dead';

export type CacheData = Conntrack | Expectation;

/**
 * A member of a sync queue (sync/queue.ts): cache objects and the sync modes' control
 * messages. A node is in one queue at a time; the links live in the node, so queueing
 * allocates nothing.
 */
export interface Queued {
  /** Which sync queue holds the node: none, the tx queue or the FT-FW resend queue. */
  queue: 'none' | 'tx' | 'rs';
  prevQueued: Queued | undefined;
  nextQueued: Queued | undefined;
}

/** The table an object lives in, as far as the object needs it (releasing its last reference). */
export interface ObjectOwner<T extends CacheData> {
  release(obj: CacheObject<T>): void;
}

export class CacheObject<T extends CacheData = CacheData> implements Queued {
  status: ObjectStatus = 'new';
  /** References: the cache's own one, plus one per sync queue holding the object. */
  refs = 1;
  /** False once removed from the table (it may live on in a queue until released). */
  attached = true;
  /** True while the cache still holds its own reference (dropped when the object dies). */
  cached = true;
  /** Seconds: creation and last update. */
  lifetime: number;
  lastupdate: number;

  // Owned by the sync mode (conntrackd's per-mode extra area of each object).
  queue: 'none' | 'tx' | 'rs' = 'none';
  prevQueued: Queued | undefined = undefined;
  nextQueued: Queued | undefined = undefined;
  /** Seq the object was last sent with (FT-FW resend queue). */
  seq = 0;
  /** Per-object timer (ALARM refresh, external cache expiry). */
  timer: TimerHandle | undefined;
  /** The next object with the same key hash in the cache's table. */
  next: CacheObject<T> | undefined = undefined;

  constructor(
    readonly kind: 'ct' | 'exp',
    /** The hash of the cache key (key.ts). */
    readonly hash: number,
    public data: T,
    now: number,
    readonly owner: ObjectOwner<T>,
  ) {
    this.lifetime = now;
    this.lastupdate = now;
  }

  /** Takes a reference (a queue now holds the object). */
  get(): void {
    this.refs++;
  }

  /** Drops a reference; the last one removes a DEAD or detached object from its table. */
  put(): void {
    if (--this.refs === 0) this.owner.release(this);
  }
}
