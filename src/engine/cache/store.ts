/**
 * The storage of a cache: fixed-size record slots (kernel/record.ts) in one growable buffer.
 * Entries live outside the JS heap: a cache of 100k flows is one buffer to the garbage
 * collector, not 100k object graphs it must copy and mark, and it costs the slot size per
 * flow, not the ~500 bytes of a decoded entry. Freed slots are reused, the last freed first.
 */

const INITIAL_SLOTS = 256;

export class RecordStore {
  /** The slots; replaced when the store grows, so never kept across an alloc(). */
  buf: Buffer;
  private capacity: number;
  /** Slots handed out at least once (the rest of `buf` was never written). */
  private used = 0;
  private readonly free: number[] = [];

  constructor(readonly size: number) {
    this.capacity = INITIAL_SLOTS;
    this.buf = Buffer.allocUnsafeSlow(this.capacity * size);
  }

  /** Byte offset of slot `i` in `buf`. */
  at(i: number): number {
    return i * this.size;
  }

  /** A slot holding a copy of the slot at `src[o]`. */
  put(src: Buffer, o: number): number {
    const i = this.alloc();
    src.copy(this.buf, i * this.size, o, o + this.size);
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
    if (this.used === this.capacity) {
      // not zero-filled: the pages past the copied part stay untouched (not resident) until used
      const grown = Buffer.allocUnsafeSlow(this.capacity * 2 * this.size);
      this.buf.copy(grown, 0, 0, this.used * this.size);
      this.buf = grown;
      this.capacity *= 2;
    }
    return this.used++;
  }
}
