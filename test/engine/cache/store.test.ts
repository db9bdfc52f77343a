/** A cache's record storage: slots never move while the store grows; freed slots are reused. */
import { describe, expect, it } from 'vitest';
import { RecordStore } from '../../../src/engine/cache/store.js';

const SIZE = 24;
const entry = (i: number): Buffer => Buffer.alloc(SIZE, i & 0xff);
const bytesOf = (s: RecordStore, i: number): Buffer => s.buf(i).subarray(s.at(i), s.at(i) + SIZE);

describe('RecordStore', () => {
  it('keeps every slot in place through growth (several chunks) and copies, not aliases, the source', () => {
    const s = new RecordStore(SIZE);
    const src = entry(0);
    const first = s.put(entry(1), 0);
    const firstBuf = s.buf(first);
    const slots = Array.from({ length: 20_000 }, (_, i) => s.put(entry(i), 0));
    expect(new Set(slots).size).toBe(20_000);
    expect(new Set(slots.map((slot) => s.buf(slot))).size).toBeGreaterThan(1);
    expect(slots.every((slot, i) => bytesOf(s, slot).equals(entry(i)))).toBe(true);
    // growth appended chunks: the first slot is still in the buffer it was written to
    expect(s.buf(first)).toBe(firstBuf);
    expect(bytesOf(s, first).equals(entry(1))).toBe(true);
    const k = s.put(src, 0);
    src.fill(0x55);
    expect(bytesOf(s, k).equals(entry(0))).toBe(true);
  });

  it('reuses freed slots, the last freed first, and keeps its chunks after being emptied', () => {
    const s = new RecordStore(SIZE);
    const slots = Array.from({ length: 10_000 }, (_, i) => s.put(entry(i), 0));
    const chunks = new Set(slots.map((slot) => s.buf(slot)));
    s.release(slots[3]!);
    s.release(slots[7]!);
    expect(s.put(entry(9), 0)).toBe(slots[7]);
    expect(s.put(entry(9), 0)).toBe(slots[3]);
    for (const slot of slots) s.release(slot);
    // refilled after a flush: the same slots in the same memory, no growth
    const again = Array.from({ length: 10_000 }, (_, i) => s.put(entry(i), 0));
    expect(new Set(again)).toEqual(new Set(slots));
    expect(new Set(again.map((slot) => s.buf(slot)))).toEqual(chunks);
    expect(again.every((slot, i) => bytesOf(s, slot).equals(entry(i)))).toBe(true);
  });
});
