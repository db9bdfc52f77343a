/**
 * The caches (shared/spec/conntrackd.md §3.1–3.3, §3.6, §6.4): keys, HashLimit, CacheStats,
 * internal-cache event semantics with origin tracking, external-cache semantics, filters,
 * commit order and timeouts.
 */
import { describe, expect, it } from 'vitest';
import type { Conntrack, Expectation } from '../../../src/engine/model/conntrack.js';
import { Cache } from '../../../src/engine/cache/cache.js';
import { NONE, RecordStore } from '../../../src/engine/cache/store.js';
import { InternalCache } from '../../../src/engine/cache/internal.js';
import type { Origin } from '../../../src/engine/cache/internal.js';
import { ExternalCache } from '../../../src/engine/cache/external.js';
import { compileFilter, expectationAccepted } from '../../../src/engine/cache/filter.js';
import { commitOrder, commitTimeout, sentTimeout } from '../../../src/engine/cache/commit.js';
import { conntrackCacheKey, conntrackKey, expectationCacheKey } from '../../../src/engine/cache/key.js';
import { FakeScheduler, tcpFlow } from '../sync/harness.js';
import { slot } from '../../helpers/records.js';
import { KIND_CT, KIND_EXP } from '../../../src/engine/kernel/record.js';

let now = 1000;
const clock = () => now;

function internal(opts: Partial<ConstructorParameters<typeof InternalCache>[0]> = {}) {
  const c = new InternalCache({ hashLimit: 100, nowSeconds: clock, ...opts });
  const queued: number[] = [];
  c.replicateTo({ enqueue: (e) => queued.push(e), objectChanged: () => undefined });
  return { c, queued };
}

describe('keys', () => {
  it('orig tuple, ports or ICMP type/code/id, and zone make the key; other fields do not', () => {
    const a = tcpFlow(1);
    expect(conntrackKey(a)).toBe(conntrackKey({ ...a, mark: 9, timeout: 1, status: 0 }));
    expect(conntrackKey(a)).not.toBe(conntrackKey({ ...a, zone: 1 }));
    expect(conntrackKey(a)).not.toBe(conntrackKey({ ...a, orig: { ...a.orig, sport: 1 } }));
    const icmp = (id: number): Conntrack => ({ orig: { l3: 'ipv4', src: '1.1.1.1', dst: '2.2.2.2', proto: 1, icmpType: 8, icmpCode: 0, icmpId: id } });
    expect(conntrackKey(icmp(1))).not.toBe(conntrackKey(icmp(2)));
  });

  it('the caches compare the same fields as the key text, and equal keys hash alike', () => {
    const icmp = (over: Partial<Conntrack['orig']>): Conntrack => ({ orig: { l3: 'ipv4', src: '1.1.1.1', dst: '2.2.2.2', proto: 1, icmpType: 8, icmpCode: 0, icmpId: 1, ...over } });
    const a = tcpFlow(1);
    const variants: Conntrack[] = [
      a, { ...a, mark: 9, timeout: 1, status: 0 }, { ...a, zone: 0 }, { ...a, zone: 1 },
      { ...a, orig: { ...a.orig, sport: 1 } }, { ...a, orig: { ...a.orig, dport: 1 } }, { ...a, orig: { ...a.orig, src: '10.9.9.9' } },
      { ...a, orig: { ...a.orig, dst: '10.9.9.9' } }, { ...a, orig: { ...a.orig, proto: 17 } }, { ...a, orig: { ...a.orig, l3: 'ipv6' } },
      icmp({}), icmp({ icmpId: 2 }), icmp({ icmpCode: 1 }), icmp({ icmpType: 0 }), icmp({ icmpType: undefined, icmpCode: undefined, icmpId: undefined }),
    ];
    for (const x of variants) {
      for (const y of variants) {
        const same = conntrackKey(x) === conntrackKey(y);
        expect(conntrackCacheKey.same(...slot(x), ...slot(y))).toBe(same);
        if (same) expect(conntrackCacheKey.hash(...slot(x))).toBe(conntrackCacheKey.hash(...slot(y)));
      }
      const h = conntrackCacheKey.hash(...slot(x));
      expect(Number.isInteger(h) && h >= 0 && h < 2 ** 30).toBe(true);
    }
    const exp = (port: number): Expectation => ({ master: a.orig, tuple: { ...a.orig, dport: port }, mask: a.orig });
    expect(expectationCacheKey.same(...slot(exp(1)), ...slot({ ...exp(1), zone: 3, timeout: 9 }))).toBe(true);
    expect(expectationCacheKey.hash(...slot(exp(1)))).toBe(expectationCacheKey.hash(...slot({ ...exp(1), zone: 3 })));
    expect(expectationCacheKey.same(...slot(exp(1)), ...slot(exp(2)))).toBe(false);
  });

  it('flows that differ only in an address octet or a port spread over distinct hashes', () => {
    const hashes = new Set<number>();
    for (let i = 0; i < 20_000; i++) {
      hashes.add(conntrackCacheKey.hash(...slot(tcpFlow(i, { orig: { ...tcpFlow(i).orig, sport: 1024 + (i % 600) } }))));
    }
    expect(hashes.size).toBeGreaterThan(20_000 - 3); // 30 random bits: ~0.2 collisions expected
  });

  it('entries whose key hashes collide are kept apart', () => {
    const collide = { hash: () => 7, same: conntrackCacheKey.same };
    const c = new Cache<Conntrack>('internal', 'ct', new RecordStore(), collide, 100, clock);
    const entries = [1, 2, 3].map((i) => c.add(...slot(tcpFlow(i))));
    expect([1, 2, 3].every((i) => c.find(...slot(tcpFlow(i))) === entries[i - 1])).toBe(true);
    c.remove(entries[1]!);
    expect(c.find(...slot(tcpFlow(2)))).toBe(NONE);
    expect(c.find(...slot(tcpFlow(1))) === entries[0] && c.find(...slot(tcpFlow(3))) === entries[2]).toBe(true);
    expect([...c.values()].length).toBe(2);
    c.flush();
    expect(c.size).toBe(0);
    expect(c.find(...slot(tcpFlow(1)))).toBe(NONE);
  });

  it('the table grows past its first buckets and finds every entry, and freed slots are reused', () => {
    const c = new Cache<Conntrack>('internal', 'ct', new RecordStore(), conntrackCacheKey, 10_000, clock);
    const entries = Array.from({ length: 5000 }, (_, i) => c.add(...slot(tcpFlow(i))));
    expect(entries.every((e, i) => c.find(...slot(tcpFlow(i))) === e)).toBe(true);
    for (let i = 0; i < 5000; i += 2) c.remove(entries[i]!);
    expect(c.size).toBe(2500);
    expect(entries.every((e, i) => c.find(...slot(tcpFlow(i))) === (i % 2 ? e : NONE))).toBe(true);
    const again = Array.from({ length: 2500 }, (_, i) => c.add(...slot(tcpFlow(10_000 + i))));
    expect(Math.max(...again)).toBeLessThan(5000); // no new slot while freed ones wait
    expect(again.every((e, i) => c.find(...slot(tcpFlow(10_000 + i))) === e && c.decode(e).orig.src === tcpFlow(10_000 + i).orig.src)).toBe(true);
  });
});

describe('InternalCache', () => {
  it('NEW/UPD/DESTROY: statuses, merge of the full state, counters stripped, stats as conntrackd counts', () => {
    const { c, queued } = internal();
    c.ctEvent('new', 0, ...slot({ ...tcpFlow(1), counters: { origPackets: 1, origBytes: 2, replyPackets: 3, replyBytes: 4 } }));
    const e = c.ct.find(...slot(tcpFlow(1)));
    expect(c.ct.view(e).status).toBe('new');
    expect(c.ct.view(e).data.counters).toBeUndefined();
    now = 1005;
    c.ctEvent('update', 0, ...slot({ orig: tcpFlow(1).orig, mark: 7, tcp: { state: 4 } }));
    expect(c.ct.view(e)).toMatchObject({ status: 'alive', lastupdate: 1005, lifetime: 1000 });
    // merged: the cached entry keeps everything and carries the update
    expect(c.ct.view(e).data).toMatchObject({ status: 0xe, timeout: 3600, mark: 7, tcp: { state: 4 } });
    c.store.ref(e); // a sync queue holds it
    c.ctEvent('destroy', 0, ...slot(tcpFlow(1)));
    expect(c.ct.status(e)).toBe('dead');
    expect(c.ct.stats).toMatchObject({ active: 0, total: 1, createdOk: 1, updatedOk: 1, deletedOk: 1 });
    expect(queued).toEqual([e, e, e]); // same entry, 3 enqueues
    c.store.unref(e); // sent / acknowledged
    expect(c.ct.size).toBe(0);
    expect(c.ct.stats.total).toBe(0);
  });

  it('UPD for an unknown flow creates it (cache_update_force); NEW over an existing one recreates', () => {
    const { c } = internal();
    c.ctEvent('update', 0, ...slot(tcpFlow(2)));
    const first = c.ct.find(...slot(tcpFlow(2)));
    expect(c.ct.status(first)).toBe('new');
    c.ctEvent('new', 0, ...slot({ ...tcpFlow(2), mark: 3 }));
    const second = c.ct.find(...slot(tcpFlow(2)));
    expect(c.ct.view(second)).toMatchObject({ status: 'new', data: { mark: 3 } });
    expect(c.ct.stats).toMatchObject({ createdOk: 2, deletedOk: 1, active: 1, total: 1 });
  });

  it('a flow recreated while its DEL is still queued: the old DEAD entry lives on detached', () => {
    const { c } = internal();
    c.ctEvent('new', 0, ...slot(tcpFlow(3)));
    const old = c.ct.find(...slot(tcpFlow(3)));
    c.store.ref(old); // queued for its DEL
    c.ctEvent('destroy', 0, ...slot(tcpFlow(3)));
    c.ctEvent('new', 0, ...slot(tcpFlow(3)));
    const fresh = c.ct.find(...slot(tcpFlow(3)));
    expect(fresh).not.toBe(old);
    expect([c.ct.status(old), c.ct.attached(old), c.ct.status(fresh)]).toEqual(['dead', false, 'new']);
    c.store.unref(old); // the queue lets go: nothing happens to the new entry
    expect(c.ct.find(...slot(tcpFlow(3)))).toBe(fresh);
    expect(c.ct.stats).toMatchObject({ active: 1, total: 1, createdOk: 2, deletedOk: 1 });
    c.flush();
    expect(c.ct.stats).toMatchObject({ active: 0, total: 0, deletedOk: 2 });
  });

  it('HashLimit: a full table refuses new objects (no space left in cache)', () => {
    const { c } = internal({ hashLimit: 3 });
    for (let i = 1; i <= 5; i++) c.ctEvent('new', 0, ...slot(tcpFlow(i)));
    expect(c.ct.size).toBe(3);
    expect(c.ct.stats).toMatchObject({ createdOk: 3, createdFailed: 2, noSpace: 2 });
  });

  it('origin tracking: INJECT ignored, COMMIT/FLUSH update the cache without replication (§3.2)', () => {
    const origins = new Map<number, Origin>([
      [11, 'commit'],
      [12, 'flush'],
      [13, 'inject'],
    ]);
    const { c, queued } = internal({ origins });
    c.ctEvent('new', 13, ...slot(tcpFlow(1)));
    expect(c.ct.size).toBe(0);
    c.ctEvent('new', 11, ...slot(tcpFlow(1)));
    c.ctEvent('update', 11, ...slot(tcpFlow(1)));
    expect(c.ct.size).toBe(1);
    expect(queued).toHaveLength(0);
    c.ctEvent('destroy', 12, ...slot(tcpFlow(1)));
    expect(c.ct.size).toBe(0); // nothing holds the DEAD object: released at once
    c.ctEvent('new', 4242, ...slot(tcpFlow(2)));
    expect(queued).toHaveLength(1);
  });

  it('user-space filter on events and dumps; kernel-space filter only on dumps', () => {
    const filter = { from: 'userspace' as const, protocol: { policy: 'accept' as const, protos: [17] } };
    const { c } = internal({ filter });
    c.ctEvent('new', 0, ...slot(tcpFlow(1)));
    c.populate(tcpFlow(2));
    expect(c.ct.size).toBe(0);
    const k = internal({ filter: { ...filter, from: 'kernelspace' } }).c;
    k.ctEvent('new', 0, ...slot(tcpFlow(1)));
    k.populate(tcpFlow(2));
    expect(k.ct.size).toBe(1);
  });

  it('expectations: helper prefix list and master in the internal cache (§3.6)', () => {
    const exp: Expectation = {
      master: tcpFlow(1).orig,
      tuple: { l3: 'ipv4', src: '10.1.0.1', dst: '10.0.2.10', proto: 6, sport: 0, dport: 50000 },
      mask: { l3: 'ipv4', src: '255.255.255.255', dst: '255.255.255.255', proto: 255, sport: 0, dport: 65535 },
      helper: 'sip-5060',
    };
    const { c, queued } = internal({ expectationSync: ['SIP'] });
    c.expEvent('new', 0, ...slot(exp));
    expect(c.exp.size).toBe(0); // master not cached yet
    c.ctEvent('new', 0, ...slot(tcpFlow(1)));
    c.expEvent('new', 0, ...slot(exp));
    expect(c.exp.size).toBe(1);
    c.expEvent('new', 0, ...slot({ ...exp, helper: 'ftp' }));
    expect(c.exp.size).toBe(1);
    expect(queued.map((e) => c.store.kind(e))).toEqual([KIND_CT, KIND_EXP]);
    expect([...c.entries()]).toEqual(queued);
    expect(expectationAccepted({ ...exp, helper: undefined }, ['sip'])).toBe(false);
    expect(expectationAccepted({ ...exp, helper: undefined }, 'all')).toBe(true);
    expect(expectationAccepted(exp, undefined)).toBe(false);
  });
});

describe('ExternalCache', () => {
  it('NEW replaces, UPD merges or creates, DEL removes (not found counted)', () => {
    const e = new ExternalCache({ hashLimit: 10, nowSeconds: clock });
    e.conntrack('new', ...slot(tcpFlow(1, { mark: 1 })));
    e.conntrack('update', ...slot({ ...tcpFlow(1), mark: 2 }));
    expect(e.ct.decode(e.ct.find(...slot(tcpFlow(1)))).mark).toBe(2);
    e.conntrack('update', ...slot(tcpFlow(2)));
    expect(e.ct.size).toBe(2);
    e.conntrack('new', ...slot(tcpFlow(1)));
    expect(e.ct.decode(e.ct.find(...slot(tcpFlow(1)))).mark).toBeUndefined();
    e.conntrack('destroy', ...slot(tcpFlow(1)));
    e.conntrack('destroy', ...slot(tcpFlow(1)));
    expect(e.ct.size).toBe(1);
    expect(e.ct.stats).toMatchObject({ createdOk: 3, updatedOk: 1, deletedOk: 2, deleteNotFound: 1, active: 1, total: 1 });
    e.flush();
    expect(e.ct.size).toBe(0);
  });

  it('ALARM: entries expire CacheTimeout after their last NEW/UPD', () => {
    const sched = new FakeScheduler(0);
    const e = new ExternalCache({ hashLimit: 10, nowSeconds: () => Math.floor(sched.now() / 1000), expiry: { scheduler: sched, cacheTimeout: 180 } });
    e.conntrack('new', ...slot(tcpFlow(1)));
    sched.advance(100_000);
    e.conntrack('update', ...slot(tcpFlow(1)));
    expect(e.expiresIn(e.ct.find(...slot(tcpFlow(1))), 150)).toBe(130);
    sched.advance(179_000);
    expect(e.ct.size).toBe(1);
    sched.advance(2_000);
    expect(e.ct.size).toBe(0);
  });
});

describe('filter (§6.4)', () => {
  it('address: orig source or reply source in a listed host or network; Ignore inverts', () => {
    const f = compileFilter({
      from: 'userspace',
      address: { policy: 'ignore', addresses: [{ l3: 'ipv4', address: '10.1.0.0', prefix: 16 }, { l3: 'ipv6', address: '2001:db8::', prefix: 32 }] },
    });
    expect(f(...slot(tcpFlow(1)))).toBe(false); // 10.1.0.1
    expect(f(...slot({ ...tcpFlow(1), orig: { ...tcpFlow(1).orig, src: '10.2.0.1' } }))).toBe(true);
    expect(f(...slot({ ...tcpFlow(1), orig: { ...tcpFlow(1).orig, src: '10.2.0.1' }, reply: { ...tcpFlow(1).orig, src: '10.1.9.9' } }))).toBe(false);
    expect(f(...slot({ orig: { l3: 'ipv6', src: '2001:db8:1::1', dst: '2001:db9::1', proto: 17, sport: 1, dport: 2 } }))).toBe(false);
  });

  it('state applies to TCP entries with a known state only', () => {
    const f = compileFilter({ from: 'userspace', state: { policy: 'accept', states: [3] } });
    expect(f(...slot(tcpFlow(1)))).toBe(true);
    expect(f(...slot(tcpFlow(1, { tcp: { state: 7 } })))).toBe(false);
    expect(f(...slot(tcpFlow(1, { tcp: {} })))).toBe(true);
    expect(f(...slot({ orig: { l3: 'ipv4', src: '1.1.1.1', dst: '2.2.2.2', proto: 17, sport: 1, dport: 2 } }))).toBe(true);
  });
});

describe('commit helpers (§3.3)', () => {
  it('orders master flows before RELATED ones and skips DEAD objects', () => {
    const e = new ExternalCache({ hashLimit: 10, nowSeconds: clock });
    e.conntrack('new', ...slot(tcpFlow(1, { master: tcpFlow(9).orig })));
    e.conntrack('new', ...slot(tcpFlow(2)));
    e.conntrack('new', ...slot(tcpFlow(3)));
    expect([...commitOrder(e.ct)].map((x) => e.ct.decode(x).orig.src)).toEqual(['10.1.0.2', '10.1.0.3', '10.1.0.1']);
  });

  it('CommitTimeout, else NTA_TIMEOUT − elapsed, 60 when negative, 0 when nothing is known', () => {
    expect(commitTimeout(300, 100, 110, 180)).toBe(180);
    expect(commitTimeout(300, 100, 110, undefined)).toBe(290);
    expect(commitTimeout(5, 100, 110, undefined)).toBe(60);
    expect(commitTimeout(300, 200, 110, undefined)).toBe(240); // clock went back: elapsed 60
    expect(commitTimeout(0, 110, 110, undefined)).toBe(0);
    // the timeout sent with a cached entry, 0 without one
    const e = new ExternalCache({ hashLimit: 10, nowSeconds: clock });
    e.conntrack('new', ...slot(tcpFlow(1, { timeout: 300 })));
    e.conntrack('new', ...slot(tcpFlow(2, { timeout: undefined })));
    e.expectation('new', ...slot({ master: tcpFlow(1).orig, tuple: tcpFlow(3).orig, mask: tcpFlow(1).orig, timeout: 7 }));
    expect([...e.ct.values()].map((x) => sentTimeout(e.ct, x))).toEqual([300, 0]);
    expect([...e.exp.values()].map((x) => sentTimeout(e.exp, x))).toEqual([7]);
  });
});
