/**
 * Sequence numbers (§1.9) and address text (the model's canonical strings).
 */
import { describe, expect, it } from 'vitest';
import { SeqCounter, SeqTrack, SequenceTracker } from '../../../src/engine/wire/sequence.js';
import { before } from '../../../src/engine/wire/nethdr.js';
import { readIpv6, writeIpv4, writeIpv6 } from '../../../src/engine/model/address.js';

describe('sequence numbers', () => {
  it('the counter starts at time(NULL) on first use and wraps at 32 bits', () => {
    let t = 1795302379;
    const c = new SeqCounter(() => t);
    t = 1795302400;
    expect(c.next()).toBe(1795302400);
    expect(c.next()).toBe(1795302401);
    const w = new SeqCounter(() => 0xffffffff);
    expect([w.next(), w.next()]).toEqual([0xffffffff, 0]);
    expect(before(0xffffffff, 0)).toBe(true);
    expect(before(0, 0xffffffff)).toBe(false);
  });

  it('tracks UNSET, IN_SYNC, AFTER (lost += gap + 2, the quirk) and BEFORE', () => {
    const t = new SequenceTracker();
    expect(t.track(100)).toBe(SeqTrack.UNSET);
    t.accept(100);
    expect(t.track(101)).toBe(SeqTrack.IN_SYNC);
    t.accept(101);
    expect(t.track(104)).toBe(SeqTrack.AFTER); // 102, 103 missing
    expect(t.stats.lost).toBe(4n);
    t.accept(104);
    expect(t.track(90)).toBe(SeqTrack.BEFORE);
    expect(t.stats.before).toBe(1n);
    t.accept(0xffffffff);
    expect(t.track(0)).toBe(SeqTrack.IN_SYNC);
  });
});

describe('addresses', () => {
  const b = Buffer.alloc(16);
  it('rejects text that is not an address', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1..2.3', 'a.b.c.d']) expect(writeIpv4(b, 0, bad)).toBe(false);
    for (const bad of ['', ':::', '1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', '12345::1', '1:2:3:4:5:6:7:']) expect(writeIpv6(b, 0, bad)).toBe(false);
  });
  it('prints RFC 5952 text', () => {
    const cases: [string, string][] = [
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['::', '::'],
      ['::1', '::1'],
      ['fe80::', 'fe80::'],
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ];
    for (const [input, want] of cases) {
      expect(writeIpv6(b, 0, input)).toBe(true);
      expect(readIpv6(b, 0)).toBe(want);
    }
  });
});
