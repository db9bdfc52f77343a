/**
 * The storage of a cache: fixed-size record slots (kernel/record.ts) in chunks of CHUNK_SLOTS.
 * Entries live outside the JS heap: a cache of 100k flows is a few dozen buffers to the garbage
 * collector, not 100k object graphs it must copy and mark, and it costs the slot size per
 * flow, not the ~500 bytes of a decoded entry. A slot never moves: the store grows by a chunk,
 * without copying what it holds. Freed slots are reused, the last freed first.
 */

/** log2 of the slots per chunk: 4096 slots of ~336 bytes, ~1.3 MiB a chunk. */
const CHUNK_SHIFT = 12;
const CHUNK_SLOTS = 1 << CHUNK_SHIFT;
const SLOT_MASK = CHUNK_SLOTS - 1;

export class RecordStore {
  private readonly chunks: Buffer[] = [];
  /** Slots handed out at least once (the rest of the last chunk was never written). */
  private used = 0;
  private readonly free: number[] = [];

  constructor(readonly size: number) {}

  /** The chunk holding slot `i` (the same buffer for the slot's whole life). */
  buf(i: number): Buffer {
    return this.chunks[i >>> CHUNK_SHIFT]!;
  }

  /** Byte offset of slot `i` in `buf(i)`. */
  at(i: number): number {
    return (i & SLOT_MASK) * this.size;
  }

  /** A slot holding a copy of the slot at `src[o]`. */
  put(src: Buffer, o: number): number {
    const i = this.alloc();
    src.copy(this.buf(i), this.at(i), o, o + this.size);
    return i;
  }

  /**
   * The slot is free for the next put(). The store keeps its high-water mark (as malloc keeps
   * freed objects' memory): a table refilled after a flush reuses pages already in memory
   * instead of growing again, page fault by page fault.
   */
  release(i: number): void {
    this.free.push(i);
  }

  private alloc(): number {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    // not zero-filled: a chunk's pages stay untouched (not resident) until their slots are used
    if (this.used === this.chunks.length << CHUNK_SHIFT) this.chunks.push(Buffer.allocUnsafeSlow(CHUNK_SLOTS * this.size));
    return this.used++;
  }
}
