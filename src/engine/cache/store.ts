/**
 * The entries of one side's caches (internal or external; conntracks and expectations share
 * it): fixed-size record slots (kernel/record.ts) in chunks of CHUNK_SLOTS, and per slot the
 * bookkeeping of conntrackd's `struct cache_object` in typed columns. An entry is its slot
 * number. Nothing here is a JS object per entry: a cache of 100k flows is a few dozen buffers to
 * the garbage collector, not 100k objects it must copy and mark, and each new page costs a page
 * fault (on a VM, a host fault too), so the bytes per entry are the CPU per entry. A slot never
 * moves: the store grows by a chunk, without copying what it holds. Freed slots are reused, the
 * last freed first.
 */
import { loadAddon } from '../kernel/addon.js';
import { records } from '../kernel/record.js';

/** No entry (`find` missed, end of a chain or queue). */
export const NONE = -1;

export type EntryStatus = 'new' | 'alive' | 'dead';

/** log2 of the slots per chunk: 4096 slots of ~336 bytes, ~1.3 MiB a chunk. */
const CHUNK_SHIFT = 12;
const CHUNK_SLOTS = 1 << CHUNK_SHIFT;
const SLOT_MASK = CHUNK_SLOTS - 1;

// `flags` column: the status and two life-cycle bits.
const STATUS_MASK = 0x3;
const STATUSES: readonly EntryStatus[] = ['new', 'alive', 'dead'];
/** In its cache's table (found by key, listed). */
const ATTACHED = 0x4;
/** The cache still holds its own reference. */
const CACHED = 0x8;

/** The table a slot is keyed in: told when the slot's last reference goes. */
export interface SlotOwner {
  detach(e: number): void;
}

type Column = Uint8Array | Int32Array | Uint32Array;

/**
 * New memory the store is about to fill, made resident in one call rather than a page fault at
 * a time (a third less CPU per page on this kind of VM). Where the kernel cannot (before 5.14),
 * the pages simply fault in as they are written.
 */
function populate(view: ArrayBufferView): void {
  loadAddon().populate(view);
}

/** `a`, or a copy at least `n` long (doubling: the copies cost no more than the column). */
export function fit<A extends Column>(a: A, n: number): A {
  if (n <= a.length) return a;
  const b = new (a.constructor as new (n: number) => A)(Math.max(n, a.length * 2, 1024));
  populate(b);
  b.set(a);
  return b;
}

export class RecordStore {
  readonly size = records().slot;
  private readonly chunks: Buffer[] = [];
  /** Slots handed out at least once (the rest of the last chunk was never written). */
  private used = 0;
  private readonly free: number[] = [];
  /** Per slot: status | ATTACHED | CACHED. */
  private flags = new Uint8Array(0);
  /** Per slot: references (the cache's own, plus the sync queue holding it). */
  private refs = new Uint8Array(0);
  /** Per slot: creation and last update, in seconds. */
  private born = new Uint32Array(0);
  private updated = new Uint32Array(0);
  /** Per slot: the key hash, and the next slot with the same bucket in its table (NONE ends). */
  hash = new Int32Array(0);
  chain = new Int32Array(0);
  /** The tables, by record kind (KIND_CT, KIND_EXP): a slot's owner is read from its record. */
  private readonly owners: SlotOwner[] = [];
  /** A slot is about to be reused (timers to cancel). */
  onRelease: ((e: number) => void) | undefined;

  /** The table that keys the slots of record kind `kind`. */
  own(kind: number, owner: SlotOwner): void {
    this.owners[kind] = owner;
  }

  /** The chunk holding slot `e` (the same buffer for the slot's whole life). */
  buf(e: number): Buffer {
    return this.chunks[e >>> CHUNK_SHIFT]!;
  }

  /** Byte offset of slot `e` in `buf(e)`. */
  at(e: number): number {
    return (e & SLOT_MASK) * this.size;
  }

  /** The record kind of the entry (KIND_CT or KIND_EXP). */
  kind(e: number): number {
    return records().kind(this.buf(e), this.at(e));
  }

  /** A new entry (status NEW, attached, one reference) holding a copy of the slot at `src[o]`. */
  put(src: Buffer, o: number, hash: number, now: number): number {
    const e = this.alloc();
    src.copy(this.buf(e), this.at(e), o, o + this.size);
    this.flags[e] = ATTACHED | CACHED;
    this.refs[e] = 1;
    this.born[e] = now;
    this.updated[e] = now;
    this.hash[e] = hash;
    return e;
  }

  /** Every slot number handed out so far (free ones included: `attached` tells). */
  get extent(): number {
    return this.used;
  }

  status(e: number): EntryStatus {
    return STATUSES[this.flags[e]! & STATUS_MASK]!;
  }

  isDead(e: number): boolean {
    return (this.flags[e]! & STATUS_MASK) === 2;
  }

  setStatus(e: number, s: EntryStatus): void {
    this.flags[e] = (this.flags[e]! & ~STATUS_MASK) | (s === 'new' ? 0 : s === 'alive' ? 1 : 2);
  }

  /** False once removed from its table (it may live on in a queue until released). */
  attached(e: number): boolean {
    return (this.flags[e]! & ATTACHED) !== 0;
  }

  /** Out of its table; false when it already was. */
  unlist(e: number): boolean {
    if ((this.flags[e]! & ATTACHED) === 0) return false;
    this.flags[e]! &= ~ATTACHED;
    return true;
  }

  /** Drops the cache's own reference (once): the entry stays only while a queue holds it. */
  uncache(e: number): void {
    if ((this.flags[e]! & CACHED) === 0) return;
    this.flags[e]! &= ~CACHED;
    this.unref(e);
  }

  lifetime(e: number): number {
    return this.born[e]!;
  }

  lastupdate(e: number): number {
    return this.updated[e]!;
  }

  touch(e: number, now: number): void {
    this.updated[e] = now;
  }

  /** Takes a reference (a queue now holds the entry). */
  ref(e: number): void {
    this.refs[e]!++;
  }

  /** Drops a reference; the last one takes the entry out of its table and frees the slot. */
  unref(e: number): void {
    if (--this.refs[e]! !== 0) return;
    if (this.attached(e)) this.owners[this.kind(e)]!.detach(e);
    this.onRelease?.(e);
    this.free.push(e);
  }

  private alloc(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    if (this.used === this.chunks.length << CHUNK_SHIFT) {
      const chunk = Buffer.allocUnsafeSlow(CHUNK_SLOTS * this.size);
      populate(chunk);
      this.chunks.push(chunk);
      const n = this.chunks.length << CHUNK_SHIFT;
      this.flags = fit(this.flags, n);
      this.refs = fit(this.refs, n);
      this.born = fit(this.born, n);
      this.updated = fit(this.updated, n);
      this.hash = fit(this.hash, n);
      this.chain = fit(this.chain, n);
    }
    return this.used++;
  }
}
