/**
 * The engine with each sync mode's particulars (shared/spec/conntrackd.md §2.2–2.4, §3.6):
 * ExpectationSync end to end with commit of expectations, ALARM refresh and expiry, NOTRACK
 * readiness turning stale on loss.
 */
import { describe, expect, it } from 'vitest';
import type { Conntrack, Expectation } from '../../../src/engine/model/conntrack.js';
import type { SyncState } from '../../../src/engine/daemon/readiness.js';
import { engineConfig, enginePair, keysOf, kernelKeys, settle, stoppedAfterEach, tcpFlow } from './harness.js';

const running = stoppedAfterEach();

function ftpControl(): Conntrack {
  return tcpFlow(1, { helper: 'ftp' });
}

function ftpData(master: Conntrack, helper = 'ftp'): Expectation {
  const t = { l3: 'ipv4' as const, src: master.orig.src, dst: master.orig.dst, proto: 6, sport: 0, dport: 50000 };
  return { master: master.orig, tuple: t, mask: { ...t, src: '255.255.255.255', dst: '255.255.255.255', sport: 0, dport: 0xffff }, timeout: 300, helper };
}

describe('ExpectationSync', () => {
  it('expectations of listed helpers reach the peer and are committed after their masters', async () => {
    const cfg = engineConfig('FTFW', { expectationSync: ['ftp'] });
    const p = enginePair('FTFW', { a: cfg, b: cfg });
    const { a, b, sched } = p;
    await running(a, b);
    const master = ftpControl();
    await a.tool.create(master);
    await a.tool.create(tcpFlow(2, { helper: 'sip' }));
    await a.tool.createExpectation(ftpData(master));
    await a.tool.createExpectation(ftpData(tcpFlow(2, { helper: 'sip' }), 'sip'));
    await settle(sched, 300);
    expect(b.engine.external!.exp.size).toBe(1);
    expect(b.engine.externalEntries('expect')).toMatchObject([{ data: { helper: 'ftp', tuple: { dport: 50000 } } }]);
    expect(await a.engine.internalEntries('expect')).toHaveLength(1);
    const r = await b.engine.commit('all');
    expect(r).toMatchObject({ committed: 3, failed: 0 }); // two flows, then the expectation
    expect(await b.tool.getExpectation({ tuple: ftpData(master).tuple })).toMatchObject({ helper: 'ftp' });
  });
});

describe('ALARM', () => {
  it('refreshes repair a lost message; the external cache expires entries; in sync after RefreshTime', async () => {
    const cfg = engineConfig('ALARM', { alarm: { refreshTime: 5, cacheTimeout: 15 } });
    const p = enginePair('ALARM', { a: cfg, b: cfg });
    const { a, b, sched } = p;
    const seen: SyncState[] = [];
    b.engine.on('sync-state', (s) => seen.push(s));
    await running(a, b);
    a.link.loss = 1;
    await a.tool.create(tcpFlow(1));
    await settle(sched, 200);
    expect(b.engine.external!.ct.size).toBe(0);
    a.link.loss = 0;
    await settle(sched, 7000, 250);
    expect(keysOf(b.engine.external!.ct)).toEqual(await kernelKeys(a.tool));
    const [e] = b.engine.externalEntries('ct');
    expect(e!.expiresIn).toBeGreaterThan(0);
    expect(e!.expiresIn).toBeLessThanOrEqual(15);
    expect(seen).toEqual([{ inSync: true, stale: false }]);
    // A goes silent: B's entries expire CacheTimeout s after their last refresh
    a.link.up = false;
    await settle(sched, 20_000, 1000);
    expect(b.engine.external!.ct.size).toBe(0);
  });
});

describe('NOTRACK readiness', () => {
  it('in sync after the startup resync, stale once messages are lost, in sync again after -n', async () => {
    const cfg = engineConfig('NOTRACK', { startupResync: true });
    const p = enginePair('NOTRACK', { b: cfg });
    const { a, b, sched } = p;
    await running(a);
    for (let i = 1; i <= 50; i++) await a.tool.create(tcpFlow(i));
    await settle(sched, 200);
    const seen: SyncState[] = [];
    b.engine.on('sync-state', (s) => seen.push(s));
    await running(b);
    await settle(sched, 3000, 250);
    expect(b.engine.external!.ct.size).toBe(50);
    expect(seen).toEqual([{ inSync: true, stale: false }]);
    a.link.loss = 1;
    await a.tool.create(tcpFlow(99));
    await settle(sched, 300);
    a.link.loss = 0;
    await a.tool.create(tcpFlow(100));
    await settle(sched, 1000, 250);
    expect(b.engine.snapshot().sequence.lost).toBeGreaterThan(0n);
    expect(b.engine.syncState).toEqual({ inSync: true, stale: true });
    b.engine.requestResync();
    await settle(sched, 3000, 250);
    expect(b.engine.external!.ct.size).toBe(52);
    expect(seen.at(-1)).toEqual({ inSync: true, stale: false });
  });
});

describe('PollSecs', () => {
  it('without an event socket, the table is polled: new flows are sent, vanished ones deleted', async () => {
    const p = enginePair('FTFW', { a: engineConfig('FTFW', {}, { pollSecs: 2 }) });
    const { a, b, sched } = p;
    await running(a, b);
    for (let i = 1; i <= 10; i++) await a.tool.create(tcpFlow(i));
    await settle(sched, 1000, 250);
    expect(b.engine.external!.ct.size).toBe(0);
    expect(a.engine.snapshot().runtime.eventsReceived).toBe(0n);
    await settle(sched, 1500, 250);
    expect(keysOf(b.engine.external!.ct)).toEqual(await kernelKeys(a.tool));
    await a.tool.delete({ orig: tcpFlow(4).orig });
    await settle(sched, 2500, 250);
    expect(keysOf(b.engine.external!.ct)).toEqual(await kernelKeys(a.tool));
    expect(b.engine.external!.ct.size).toBe(9);
  });
});
