/**
 * Operator actions of the engine (shared/spec/conntrackd.md §3.3–3.5, §7): commit, direct
 * injection, origin tracking, -t, -F, -R, -B, -n, -f, overruns and readiness.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadinessTracker } from '../../../src/engine/daemon/track-file.js';
import { IPS, type Conntrack } from '../../../src/engine/model/conntrack.js';
import { NET_T } from '../../../src/engine/wire/nethdr.js';
import { trackReadiness, type SyncState } from '../../../src/engine/daemon/readiness.js';
import { engineConfig, enginePair, keysOf, kernelKeys, settle, stoppedAfterEach, tcpFlow, udpFlow } from './harness.js';
import { cached, slot } from '../../helpers/records.js';

const running = stoppedAfterEach();

const dataTypes = (types: number[]) => types.filter((t) => t !== NET_T.CTL);

describe('commit (-c)', () => {
  it('puts the external cache into the kernel with NAT, mark, zone; masters before related; EEXIST → replace', async () => {
    const p = enginePair('FTFW');
    const { a, b, sched } = p;
    await running(a, b);
    const master = tcpFlow(1, { mark: 5, zone: 2, helper: 'ftp', dnat: { addr: '192.168.1.10', port: 21 } });
    const related: Conntrack = {
      orig: { l3: 'ipv4', src: '10.1.0.1', dst: '10.0.2.10', proto: 6, sport: 40100, dport: 20000 },
      status: IPS.EXPECTED | 0xa,
      timeout: 300,
      zone: 2,
      master: master.orig,
      tcp: { state: 3 },
    };
    await a.tool.create(master);
    await a.tool.create(related);
    for (let i = 2; i <= 50; i++) await a.tool.create(udpFlow(i, { mark: i }));
    await settle(sched, 300);
    expect(b.engine.external!.ct.size).toBe(51);
    // a stale copy of one flow already in B's kernel: EEXIST → destroy + create
    await b.tool.create(udpFlow(7, { mark: 1234 }));
    // the master moves behind the related flow in the cache's order: commit must still create it first
    // (freed slots are reused, the last freed first: the two swap places)
    const ext = b.engine.external!;
    const cachedMaster = cached(ext.ct).find((c) => c.helper === 'ftp')!;
    const cachedRelated = cached(ext.ct).find((c) => c.master !== undefined)!;
    for (const c of [cachedMaster, cachedRelated]) ext.conntrack('destroy', ...slot(c));
    for (const c of [cachedMaster, cachedRelated]) ext.conntrack('new', ...slot(c));
    const order = cached(ext.ct);
    expect(order.findIndex((c) => c.helper === 'ftp')).toBeGreaterThan(order.findIndex((c) => c.master !== undefined));
    const res = await b.engine.commit();
    expect(res).toMatchObject({ done: true, committed: 51, failed: 0 });
    expect(await kernelKeys(b.tool)).toEqual(await kernelKeys(a.tool));
    const got = await b.tool.get({ orig: master.orig, zone: 2 });
    expect(got).toMatchObject({ mark: 5, zone: 2, dnat: { addr: '192.168.1.10', port: 21 } });
    expect(got!.reply!.src).toBe('192.168.1.10');
    expect((await b.tool.get({ orig: related.orig, zone: 2 }))!.master).toEqual(master.orig);
    expect((await b.tool.get({ orig: udpFlow(7).orig }))!.mark).toBe(7);
    // timeouts come from the received NTA_TIMEOUT (minus the time since the update)
    expect((await b.tool.get({ orig: udpFlow(9).orig }))!.timeout).toBeGreaterThan(590);
    expect(b.log.has(/^notice committing all external caches$/)).toBe(true);
    expect(b.log.has(/^notice Committed 51 new entries$/)).toBe(true);
    expect(b.log.has(/^notice commit has taken \d+\.\d{6} seconds$/)).toBe(true);
  });

  it("origin tracking: B's committed entries update B's internal cache but are not sent back", async () => {
    const p = enginePair('FTFW');
    const { a, b, sched } = p;
    await running(a, b);
    for (let i = 1; i <= 20; i++) await a.tool.create(tcpFlow(i));
    await settle(sched, 300);
    b.link.types = [];
    await b.engine.commit('ct');
    await settle(sched, 3000);
    expect(b.engine.internal!.ct.size).toBe(20); // COMMIT-origin events are cached…
    expect(dataTypes(b.link.types)).toEqual([]); // …and not replicated
    expect(a.engine.external!.ct.size).toBe(0);
  });

  it('a second commit while one runs is refused; failures are counted and logged', async () => {
    const p = enginePair('FTFW');
    const { a, b, sched } = p;
    await running(a, b);
    for (let i = 1; i <= 10; i++) await a.tool.create(tcpFlow(i));
    // a flow without timeout on the wire cannot be created (CommitTimeout unset, §3.3)
    b.engine.external!.conntrack('new', ...slot({ orig: udpFlow(1).orig, status: 0 }));
    await settle(sched, 300);
    const first = b.engine.commit('all');
    const second = await b.engine.commit('ct');
    expect(second.done).toBe(false);
    expect(b.log.has(/commit already in progress, skipping/)).toBe(true);
    expect(await b.engine.flushCaches('external')).toBe(false);
    expect(b.log.has(/ignoring flush command, commit still in progress/)).toBe(true);
    const r = await first;
    expect(r).toMatchObject({ done: true, committed: 10, failed: 1 });
    expect(b.log.has(/^notice 1 entries can't be committed$/)).toBe(true);
    expect(b.log.has(/^error commit-create: EINVAL proto=17 10\.2\.0\.1:5001 -> 10\.0\.2\.53:53$/)).toBe(true);
    expect(b.engine.snapshot().commitFailed).toBe(1);
  });
});

describe('DisableExternalCache: direct injection', () => {
  it('received flows go straight into the kernel, updates and deletes too; nothing loops back', async () => {
    const p = enginePair('FTFW', { b: engineConfig('FTFW', { disableExternalCache: true, commitTimeout: 180 }) });
    const { a, b, sched } = p;
    await running(a, b);
    expect(b.log.has(/`CommitTimeout' can't be combined with `DisableExternalCache'/)).toBe(true);
    b.link.types = [];
    await b.tool.create(tcpFlow(3, { mark: 1 })); // already there (EEXIST → destroy + create)
    const flows = Array.from({ length: 300 }, (_, i) => tcpFlow(i + 1, { mark: i + 1 }));
    await a.tool.createBatch(flows);
    await settle(sched, 300);
    await b.engine.inject!.settled();
    expect(await kernelKeys(b.tool)).toEqual(await kernelKeys(a.tool));
    expect((await b.tool.get({ orig: tcpFlow(3).orig }))!.mark).toBe(3);
    await a.tool.updateBatch(flows.slice(0, 10).map((c) => ({ orig: c.orig, mark: 77 })));
    await a.tool.deleteBatch(flows.slice(10, 20));
    // an update for a flow B's kernel lost: ENOENT → create
    await b.tool.delete({ orig: flows[0]!.orig });
    await settle(sched, 300);
    await b.engine.inject!.settled();
    expect(await kernelKeys(b.tool)).toEqual(await kernelKeys(a.tool));
    expect((await b.tool.get({ orig: flows[0]!.orig }))!.mark).toBe(77);
    const st = b.engine.snapshot();
    expect(st.external).toBeUndefined();
    expect(st.inject!.ct).toMatchObject({ created: 300, createdFailed: 0, updated: 10, updatedFailed: 0, destroyed: 10 });
    // the injected entries' events (CTD_ORIGIN_INJECT) are ignored: not cached, not sent
    expect(b.engine.internal!.ct.size).toBe(1); // only the flow created by "traffic" (b.tool) before
    // (its destroy by the EEXIST replacement was an inject-origin event too: no DEL either)
    expect(dataTypes(b.link.types)).toEqual([NET_T.CT_NEW]);
    expect((await b.engine.commit()).committed).toBe(0);
  });

  it('a flow created and destroyed in one burst ends up absent (operations keep their order)', async () => {
    const p = enginePair('NOTRACK', { b: engineConfig('NOTRACK', { disableExternalCache: true }) });
    const { a, b, sched } = p;
    await running(a, b);
    await a.tool.create(tcpFlow(1));
    await a.tool.create(tcpFlow(2));
    await a.tool.delete({ orig: tcpFlow(1).orig });
    await settle(sched, 100);
    await b.engine.inject!.settled();
    expect(await kernelKeys(b.tool)).toEqual(await kernelKeys(a.tool));
  });
});

describe('kernel-side actions', () => {
  it('-F deletes only entries passing the filter; the FLUSH-origin destroys are not replicated', async () => {
    const filter = { from: 'userspace' as const, protocol: { policy: 'accept' as const, protos: [6] } };
    const p = enginePair('FTFW', { a: engineConfig('FTFW', {}, { filter }) });
    const { a, b, sched } = p;
    await running(a, b);
    for (let i = 1; i <= 5; i++) {
      await a.tool.create(tcpFlow(i));
      await a.tool.create(udpFlow(i));
    }
    await settle(sched, 300);
    expect(b.engine.external!.ct.size).toBe(5); // UDP is filtered out
    expect(a.engine.snapshot().runtime.eventsFiltered).toBe(5n);
    expect(await a.engine.flushKernelTable('ct')).toBe(5);
    await settle(sched, 3000);
    expect(await kernelKeys(a.tool)).toEqual(keysOf(Array.from({ length: 5 }, (_, i) => udpFlow(i + 1))));
    expect(a.engine.internal!.ct.size).toBe(0);
    expect(b.engine.external!.ct.size).toBe(5);
    expect(a.log.has(/^notice flushing kernel conntrack table$/)).toBe(true);
    expect(a.engine.snapshot().runtime.flushKernelTable).toBe(1);
  });

  it('-t flushes the kernel and the internal cache after PurgeTimeout; commit cancels a pending purge', async () => {
    const p = enginePair('FTFW', { a: engineConfig('FTFW', { purgeTimeout: 15 }) });
    const { a, b, sched } = p;
    await running(a, b);
    for (let i = 1; i <= 5; i++) await a.tool.create(tcpFlow(i));
    await settle(sched, 300);
    expect(a.engine.purgeTimers()).toBe(true);
    expect(a.engine.purgeTimers()).toBe(false);
    expect(a.log.has(/^notice flushing conntrack table in 15 secs$/)).toBe(true);
    await settle(sched, 10_000, 500);
    expect(await a.tool.count()).toBe(5);
    await settle(sched, 6000, 500);
    expect(a.log.has(/^notice flushing kernel conntrack table \(scheduled\)$/)).toBe(true);
    expect(await a.tool.count()).toBe(0);
    expect(a.engine.internal!.ct.size).toBe(0);
    expect(b.engine.external!.ct.size).toBe(5); // not replicated

    await a.tool.create(tcpFlow(9));
    expect(a.engine.purgeTimers()).toBe(true);
    await a.engine.commit();
    await settle(sched, 20_000, 1000);
    expect(await a.tool.count()).toBe(1);
  });

  it('-R refills the internal cache from the kernel and sends nothing; without internal cache it is refused', async () => {
    const p = enginePair('FTFW');
    const { a, b, sched } = p;
    await running(a, b);
    for (let i = 1; i <= 8; i++) await a.tool.create(tcpFlow(i));
    await settle(sched, 300);
    expect(await a.engine.flushCaches('internal')).toBe(true);
    expect(a.engine.internal!.ct.size).toBe(0);
    a.link.types = [];
    expect(await a.engine.resyncWithKernel()).toBe(true);
    await settle(sched, 300);
    expect(keysOf(a.engine.internal!.ct)).toEqual(await kernelKeys(a.tool));
    expect(dataTypes(a.link.types)).toEqual([]);
    expect(a.log.has(/^notice resync with master conntrack table$/)).toBe(true);

    const q = enginePair('NOTRACK', { a: engineConfig('NOTRACK', { disableInternalCache: true }) });
    await running(q.a);
    expect(await q.a.engine.resyncWithKernel()).toBe(false);
    expect(q.a.log.has(/resync is unsupported in this mode/)).toBe(true);
  });

  it('-B resends the internal cache; -n makes the peer resend it and readiness follows', async () => {
    const p = enginePair('FTFW', { b: engineConfig('FTFW', {}), seed: 3 });
    const { a, b, sched } = p;
    await running(a, b);
    for (let i = 1; i <= 30; i++) await a.tool.create(tcpFlow(i));
    await settle(sched, 300);
    expect(await b.engine.flushCaches('external')).toBe(true);
    expect(b.engine.external!.ct.size).toBe(0);
    a.engine.sendBulk();
    await settle(sched, 300);
    expect(b.engine.external!.ct.size).toBe(30);
    expect(a.log.has(/^notice sending bulk update$/)).toBe(true);

    const states: SyncState[] = [];
    const sink = { resyncComplete: async () => void states.push({ inSync: true, stale: false }), cacheStale: async () => undefined };
    const detach = trackReadiness(b.engine, sink);
    await b.engine.flushCaches('external');
    expect(b.engine.syncState.inSync).toBe(false);
    b.engine.requestResync();
    await settle(sched, 300);
    expect(b.engine.external!.ct.size).toBe(30);
    expect(a.log.has(/^notice resync requested by other node$/)).toBe(true);
    await settle(sched, 2500, 250);
    expect(b.engine.syncState).toEqual({ inSync: true, stale: false });
    expect(states).toEqual([{ inSync: true, stale: false }]);
    detach();
  });

  it('StartupResync: a node started after its peer gets the whole table and reports in sync', async () => {
    const cfg = engineConfig('FTFW', { startupResync: true });
    const p = enginePair('FTFW', { b: cfg });
    const { a, b, sched } = p;
    await running(a);
    for (let i = 1; i <= 500; i++) await a.tool.create(tcpFlow(i));
    await settle(sched, 300);
    const seen: SyncState[] = [];
    b.engine.on('sync-state', (s) => seen.push(s));
    // the HA track file follows (keepalived adds its value to the priority)
    const dir = await mkdtemp(join(tmpdir(), 'ctsync-ready-'));
    const tracker = new ReadinessTracker(join(dir, 'vrrp-ready'), { demotion: 50, maxWaitMs: 600_000 });
    expect((await tracker.start()).value).toBe(-50);
    trackReadiness(b.engine, tracker);
    await running(b);
    await settle(sched, 1000);
    expect(b.engine.syncState.inSync).toBe(false); // data just arrived: not settled yet
    await settle(sched, 3000, 250);
    expect(keysOf(b.engine.external!.ct)).toEqual(await kernelKeys(a.tool));
    expect(seen).toEqual([{ inSync: true, stale: false }]);
    // the file is written asynchronously: wait for it (bounded), however loaded the machine
    const ready = () => readFile(join(dir, 'vrrp-ready'), 'utf8');
    for (let i = 0; i < 100 && (await ready()) !== '0\n'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await ready()).toBe('0\n');
    tracker.stop();
    await rm(dir, { recursive: true });
  });
});

describe('netlink overruns (§7)', () => {
  it('doubles the buffer up to NetlinkBufferSizeMaxGrowth, counts overruns, and resyncs with the kernel', async () => {
    const general = { netlinkBufferSize: 768 * 40, netlinkBufferSizeMaxGrowth: 768 * 80, netlinkOverrunResync: 2 };
    const p = enginePair('FTFW', { a: engineConfig('FTFW', {}, general) });
    const { a, b, sched } = p;
    await running(a, b);
    expect(a.log.has(/^notice netlink event socket buffer size has been set to 30720 bytes$/)).toBe(true);
    // 200 events in one go: the 40-event buffer overruns
    await a.tool.createBatch(Array.from({ length: 200 }, (_, i) => tcpFlow(i + 1)));
    await settle(sched, 100);
    expect(a.log.has(/^notice netlink event socket buffer size has been doubled to 61440 bytes$/)).toBe(true);
    await a.tool.createBatch(Array.from({ length: 200 }, (_, i) => udpFlow(i + 1)));
    // a flow B knows of vanishes while its DESTROY event is lost in an overrun
    await a.tool.deleteBatch([{ orig: tcpFlow(1).orig }]);
    await settle(sched, 100);
    expect(a.log.lines.filter((l) => /cannot be doubled further/.test(l))).toHaveLength(1);
    const st = a.engine.snapshot().runtime;
    expect(st.netlinkOverrun).toBeGreaterThanOrEqual(2);
    expect(st.netlinkBufferSize).toBe(61440);
    expect(b.engine.external!.ct.size).toBeLessThan(399);
    await settle(sched, 3000, 250); // NetlinkOverrunResync: 2 s after the last overrun
    expect(a.engine.snapshot().runtime.resyncWithKernel).toBe(1);
    expect(keysOf(a.engine.internal!.ct)).toEqual(await kernelKeys(a.tool));
    expect(keysOf(b.engine.external!.ct)).toEqual(await kernelKeys(a.tool));
  });
});
