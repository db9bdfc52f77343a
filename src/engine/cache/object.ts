/**
 * A cache object (conntrackd `struct cache_object`, shared/spec/conntrackd.md §2.1, §3.1):
 * the cached state (a record slot in its cache's store) plus its status, times and
 * references. A DEAD object stays in the table while a sync queue still references it (DEL not
 * yet sent / acknowledged).
 */
import type { Conntrack, Expectation } from '../model/conntrack.js';
import type { TimerHandle } from '../sync/scheduler.js';
import type { RecordStore } from './store.js';

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

/** The table an object lives in, as far as the object needs it: its state, and releasing its last reference. */
export interface ObjectOwner<T extends CacheData> {
  /** Where the object's slot is (`store.buf(obj.slot)` at `store.at(obj.slot)`). */
  readonly store: RecordStore;
  release(obj: CacheObject<T>): void;
  decode(obj: CacheObject<T>): T;
}

const STATUSES: readonly ObjectStatus[] = ['new', 'alive', 'dead'];
const QUEUES: readonly Queued['queue'][] = ['none', 'tx', 'rs'];
// `CacheObject.bits`: the status, the queue and two flags in one small integer. A cache holds
// one object per flow, so every field counts (8 bytes per field and flow).
const STATUS_MASK = 0x3;
const QUEUE_SHIFT = 2;
const QUEUE_MASK = 0x3 << QUEUE_SHIFT;
const ATTACHED = 0x10;
const CACHED = 0x20;

export class CacheObject<T extends CacheData = CacheData> implements Queued {
  private bits = ATTACHED | CACHED;
  /** References: the cache's own one, plus one per sync queue holding the object. */
  refs = 1;
  /** Seconds: creation and last update. */
  lifetime: number;
  lastupdate: number;

  // Owned by the sync mode (conntrackd's per-mode extra area of each object).
  prevQueued: Queued | undefined = undefined;
  nextQueued: Queued | undefined = undefined;
  /** Seq the object was last sent with (FT-FW resend queue). */
  seq = 0;
  /** Per-object timer (ALARM refresh, external cache expiry). */
  timer: TimerHandle | undefined;
  /** The next object with the same key hash in the cache's table. */
  next: CacheObject<T> | undefined = undefined;

  get status(): ObjectStatus {
    return STATUSES[this.bits & STATUS_MASK]!;
  }

  set status(s: ObjectStatus) {
    this.bits = (this.bits & ~STATUS_MASK) | (s === 'new' ? 0 : s === 'alive' ? 1 : 2);
  }

  get queue(): Queued['queue'] {
    return QUEUES[(this.bits & QUEUE_MASK) >> QUEUE_SHIFT]!;
  }

  set queue(q: Queued['queue']) {
    this.bits = (this.bits & ~QUEUE_MASK) | ((q === 'none' ? 0 : q === 'tx' ? 1 : 2) << QUEUE_SHIFT);
  }

  /** False once removed from the table (it may live on in a queue until released). */
  get attached(): boolean {
    return (this.bits & ATTACHED) !== 0;
  }

  set attached(on: boolean) {
    this.bits = on ? this.bits | ATTACHED : this.bits & ~ATTACHED;
  }

  /** True while the cache still holds its own reference (dropped when the object dies). */
  get cached(): boolean {
    return (this.bits & CACHED) !== 0;
  }

  set cached(on: boolean) {
    this.bits = on ? this.bits | CACHED : this.bits & ~CACHED;
  }

  constructor(
    readonly kind: 'ct' | 'exp',
    /** The hash of the cache key (key.ts). */
    readonly hash: number,
    /** The record slot of the state in the owner's store (cache/store.ts). */
    readonly slot: number,
    now: number,
    readonly owner: ObjectOwner<T>,
  ) {
    this.lifetime = now;
    this.lastupdate = now;
  }

  /** The cached state as a model object, decoded from the slot (a copy: for reading). */
  get data(): T {
    return this.owner.decode(this);
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
