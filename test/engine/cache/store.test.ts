/**
 * A side's entry storage: slots never move while the store grows; freed slots are reused; the
 * per-slot bookkeeping (status, references, times) follows the slot.
 */
import { describe, expect, it } from 'vitest';
import { RecordStore } from '../../../src/engine/cache/store.js';

const store = new RecordStore();
const SIZE = store.size;
const entry = (i: number): Buffer => Buffer.alloc(SIZE, i & 0xff);
const bytesOf = (s: RecordStore, i: number): Buffer => s.buf(i).subarray(s.at(i), s.at(i) + SIZE);
const put = (s: RecordStore, i: number, now = 0): number => s.put(entry(i), 0, i, now);
/** Out of its (absent) table, last reference dropped: the slot is free. */
const free = (s: RecordStore, e: number): void => {
  s.unlist(e);
  s.unref(e);
};

describe('RecordStore', () => {
  it('keeps every slot in place through growth (several chunks) and copies, not aliases, the source', () => {
    const s = new RecordStore();
    const src = entry(0);
    const first = put(s, 1);
    const firstBuf = s.buf(first);
    const slots = Array.from({ length: 20_000 }, (_, i) => put(s, i));
    expect(new Set(slots).size).toBe(20_000);
    expect(new Set(slots.map((slot) => s.buf(slot))).size).toBeGreaterThan(1);
    expect(slots.every((slot, i) => bytesOf(s, slot).equals(entry(i)) && s.hash[slot] === i)).toBe(true);
    // growth appended chunks: the first slot is still in the buffer it was written to
    expect(s.buf(first)).toBe(firstBuf);
    expect(bytesOf(s, first).equals(entry(1))).toBe(true);
    const k = s.put(src, 0, 0, 0);
    src.fill(0x55);
    expect(bytesOf(s, k).equals(entry(0))).toBe(true);
  });

  it('reuses freed slots, the last freed first, and keeps its chunks after being emptied', () => {
    const s = new RecordStore();
    const slots = Array.from({ length: 10_000 }, (_, i) => put(s, i));
    const chunks = new Set(slots.map((slot) => s.buf(slot)));
    free(s, slots[3]!);
    free(s, slots[7]!);
    expect(put(s, 9)).toBe(slots[7]);
    expect(put(s, 9)).toBe(slots[3]);
    for (const slot of slots) free(s, slot);
    // refilled after a flush: the same slots in the same memory, no growth
    const again = Array.from({ length: 10_000 }, (_, i) => put(s, i));
    expect(new Set(again)).toEqual(new Set(slots));
    expect(new Set(again.map((slot) => s.buf(slot)))).toEqual(chunks);
    expect(again.every((slot, i) => bytesOf(s, slot).equals(entry(i)))).toBe(true);
  });

  it('an entry lives while referenced: NEW and listed at first, freed (and announced) with its last reference', () => {
    const s = new RecordStore();
    const released: number[] = [];
    s.onRelease = (e) => released.push(e);
    const e = put(s, 1, 500);
    expect([s.status(e), s.attached(e), s.lifetime(e), s.lastupdate(e)]).toEqual(['new', true, 500, 500]);
    s.touch(e, 510);
    s.setStatus(e, 'dead');
    expect([s.status(e), s.isDead(e), s.lifetime(e), s.lastupdate(e)]).toEqual(['dead', true, 500, 510]);
    s.ref(e); // a queue holds it
    s.unlist(e);
    s.uncache(e);
    s.uncache(e); // the cache's reference goes once
    expect(released).toEqual([]);
    s.unref(e); // the queue lets go
    expect(released).toEqual([e]);
    expect(put(s, 2)).toBe(e);
  });
});
