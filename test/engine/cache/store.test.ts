/** A cache's record storage: slots keep their bytes while the store grows; freed slots are reused. */
import { describe, expect, it } from 'vitest';
import { RecordStore } from '../../../src/engine/cache/store.js';

const SIZE = 24;
const entry = (i: number): Buffer => Buffer.alloc(SIZE, i & 0xff);
const bytesOf = (s: RecordStore, i: number): Buffer => s.buf.subarray(s.at(i), s.at(i) + SIZE);

describe('RecordStore', () => {
  it('keeps every slot through growth (several doublings) and copies, not aliases, the source', () => {
    const s = new RecordStore(SIZE);
    const src = entry(0);
    const slots = Array.from({ length: 2000 }, (_, i) => s.put(entry(i), 0));
    expect(new Set(slots).size).toBe(2000);
    expect(slots.every((slot, i) => bytesOf(s, slot).equals(entry(i)))).toBe(true);
    const k = s.put(src, 0);
    src.fill(0x55);
    expect(bytesOf(s, k).equals(entry(0))).toBe(true);
  });

  it('reuses freed slots, the last freed first, and keeps its size after being emptied', () => {
    const s = new RecordStore(SIZE);
    const slots = Array.from({ length: 1000 }, (_, i) => s.put(entry(i), 0));
    const size = s.buf.length;
    s.release(slots[3]!);
    s.release(slots[7]!);
    expect(s.put(entry(9), 0)).toBe(slots[7]);
    expect(s.put(entry(9), 0)).toBe(slots[3]);
    for (const slot of slots) s.release(slot);
    // refilled after a flush: the same memory, no growth
    const again = Array.from({ length: 1000 }, (_, i) => s.put(entry(i), 0));
    expect(s.buf.length).toBe(size);
    expect(new Set(again)).toEqual(new Set(slots));
  });
});
