/** The addon's `populate`: a cache chunk's pages made resident in one call, its bytes kept. */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { addonAvailable, loadAddon } from '../../src/engine/kernel/addon.js';

const rssKiB = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]);

describe.skipIf(!addonAvailable())(`populate${addonAvailable() ? '' : ' (skipped: the ctnetlink addon is not built)'}`, () => {
  test('makes the pages of fresh memory resident at once, and changes no byte', () => {
    const MiB = 1 << 20;
    const buf = Buffer.allocUnsafeSlow(64 * MiB);
    buf.fill(0x5a, 0, 4096); // written already: populate must keep it
    const before = rssKiB();
    expect(loadAddon().populate(buf)).toBe(0);
    expect(rssKiB() - before).toBeGreaterThan(60 * 1024);
    expect(buf.subarray(0, 4096).every((b) => b === 0x5a)).toBe(true);
  });

  test('a view smaller than a page, or at an odd offset, is fine', () => {
    const b = Buffer.alloc(8192, 7);
    expect(loadAddon().populate(b.subarray(3, 100))).toBe(0);
    expect(loadAddon().populate(new Uint32Array(b.buffer, 4, 1000))).toBe(0);
    expect(b.every((x) => x === 7)).toBe(true);
  });
});
