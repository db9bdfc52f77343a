/**
 * Two SyncEngines on the real kernel tables of two network namespaces (netlink KernelTable
 * both sides; an in-process datagram pair stands in for the channels): flows inserted with
 * conntrack(8) in A reach B's external cache, commit puts them into B's kernel with their
 * mark and NAT, and B's committed entries are not sent back (shared/spec/conntrackd.md §3, §7).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Transport } from '../../src/engine/channel/transport.js';
import type { Conntrack } from '../../src/engine/model/conntrack.js';
import { NetlinkKernelTable } from '../../src/engine/kernel/netlink-table.js';
import { addonAvailable } from '../../src/engine/kernel/addon.js';
import { SyncEngine } from '../../src/engine/daemon/engine.js';
import type { EngineConfig } from '../../src/engine/config/types.js';
import { ArrayLog, engineConfig } from '../engine/daemon/harness.js';
import { cached } from '../helpers/records.js';
import { Netns, cleanup, skipNote, skipReason, waitFor } from '../helpers/netns.js';

const reason = skipReason(['conntrack']) || (addonAvailable() ? '' : 'the ctnetlink addon is not built');

type LinkEnd = Transport & { deliver?: (p: Buffer, link: number) => void };

/** One end of a datagram link in this process: what it sends reaches `deliver` on the next turn. */
function linkEnd(): LinkEnd {
  return {
    payloadLimit: 1472,
    stream: false,
    send(p: Buffer) {
      const to = this.deliver;
      setImmediate(() => to?.(p, 0));
    },
  } as LinkEnd;
}

interface KernelPair {
  nsA: Netns;
  nsB: Netns;
  a: SyncEngine;
  b: SyncEngine;
  logB: ArrayLog;
}

/**
 * Engines A and B on the kernel tables of two new namespaces, joined by an in-process link:
 * started before the suite that calls this, stopped after it.
 */
function kernelPair(prefix: string, cfgA: EngineConfig, cfgB: EngineConfig): KernelPair {
  const p = { logB: new ArrayLog() } as KernelPair;
  beforeAll(async () => {
    p.nsA = new Netns(`${prefix}a`);
    p.nsB = new Netns(`${prefix}b`);
    const ta = linkEnd();
    const tb = linkEnd();
    const open = (ns: Netns) => () => NetlinkKernelTable.open({ netns: `/run/netns/${ns.name}` });
    p.a = new SyncEngine(cfgA, { openKernel: open(p.nsA), transport: ta, log: new ArrayLog() });
    p.b = new SyncEngine(cfgB, { openKernel: open(p.nsB), transport: tb, log: p.logB });
    ta.deliver = p.b.receive;
    tb.deliver = p.a.receive;
    await p.a.start();
    await p.b.start();
  });
  afterAll(async () => {
    await p.a?.stop();
    await p.b?.stop();
    await cleanup();
  });
  return p;
}

describe.skipIf(reason !== '')(`daemon core on the netlink kernel table${skipNote(reason)}`, () => {
  const p = kernelPair('d', engineConfig('FTFW', {}, { netlinkBufferSize: 1_048_576, netlinkBufferSizeMaxGrowth: 4_194_304, netlinkOverrunResync: 1 }),
    // B's socket could hold the events of a 20k commit: none overruns it, as a commit leaves NEW events
    engineConfig('FTFW', {}, { netlinkBufferSize: 33_554_432 }));

  test('conntrack -I flows in A appear in B; commit puts them in B’s kernel; nothing comes back', async () => {
    for (let i = 1; i <= 20; i++) {
      p.nsA.run('conntrack', ['-I', '-p', 'tcp', '-s', `10.9.0.${i}`, '-d', '10.9.1.1', '--sport', `${30000 + i}`, '--dport', '80',
        '--state', 'ESTABLISHED', '-u', 'SEEN_REPLY,ASSURED', '-t', '600', '-m', `${i}`]);
    }
    p.nsA.run('conntrack', ['-I', '-p', 'udp', '-s', '10.9.0.100', '-d', '10.9.1.53', '--sport', '5353', '--dport', '53',
      '-t', '300', '--dst-nat', '192.168.7.7']);
    const got = await waitFor(() => p.b.external!.ct.size === 21, 5000);
    expect(got).toBe(true);
    const one = cached(p.b.external!.ct).find((c) => c.orig.src === '10.9.0.7')!;
    expect(one).toMatchObject({ mark: 7, tcp: { state: 3 } });

    const r = await p.b.commit();
    expect(r).toMatchObject({ done: true, committed: 21, failed: 0 });
    const list = p.nsB.run('conntrack', ['-L']);
    expect(list.split('\n').filter((l) => l.includes('10.9.')).length).toBe(21);
    expect(list).toMatch(/tcp\s+6\s+\d+ ESTABLISHED src=10\.9\.0\.7 dst=10\.9\.1\.1 sport=30007 dport=80 .*mark=7/);
    expect(list).toMatch(/udp\s+17\s+\d+ src=10\.9\.0\.100 dst=10\.9\.1\.53 sport=5353 dport=53 .*src=192\.168\.7\.7 dst=10\.9\.0\.100/);
    // B caches its committed entries (commit origin) and sends none of them to A
    await waitFor(() => p.b.internal!.ct.size === 21, 3000);
    expect(p.b.internal!.ct.size).toBe(21);
    await new Promise((res) => setTimeout(res, 300));
    expect(p.a.external!.ct.size).toBe(0);
    expect(p.logB.has(/^notice Committed 21 new entries$/)).toBe(true);

    // a delete in A reaches B's external cache
    p.nsA.run('conntrack', ['-D', '-p', 'tcp', '-s', '10.9.0.1']);
    expect(await waitFor(() => p.b.external!.ct.size === 20, 5000)).toBe(true);
  });

  test('20,000 flows: A → B external cache → commit into B’s kernel (timed)', async () => {
    const tool = NetlinkKernelTable.open({ netns: `/run/netns/${p.nsA.name}` });
    try {
      const flows: Conntrack[] = Array.from({ length: 20_000 }, (_, i) => ({
        orig: { l3: 'ipv4', src: `10.10.${i >> 8}.${i & 255}`, dst: '10.9.1.1', proto: 6, sport: 20000 + (i % 40000), dport: 443 },
        status: 0x6,
        timeout: 3600,
        tcp: { state: 3 },
      }));
      await tool.createBatch(flows, { liberal: true });
      // a burst this size may overrun A's event socket: NetlinkOverrunResync (1 s) repairs it
      const synced = await waitFor(() => p.b.external!.ct.size === 20_020, 15_000);
      const rt = p.a.snapshot().runtime;
      // eslint-disable-next-line no-console
      console.log(`20k burst: overruns ${rt.netlinkOverrun}, buffer ${rt.netlinkBufferSize}, kernel resyncs ${rt.resyncWithKernel}`);
      expect(synced).toBe(true);
      const r = await p.b.commit('ct');
      expect(r).toMatchObject({ done: true, committed: 20_020, failed: 0 });
      // plus 10.9.0.1, committed by the first test and since deleted in A only
      expect(p.nsB.run('conntrack', ['-C']).trim()).toBe('20021');
      // B caches what it committed and sends none of it back
      expect(await waitFor(() => p.b.internal!.ct.size === 20_021, 5000)).toBe(true);
      await new Promise((res) => setTimeout(res, 300));
      expect(p.b.snapshot().runtime.netlinkOverrun).toBe(0);
      expect(p.a.external!.ct.size).toBe(0);
      // eslint-disable-next-line no-console
      console.log(`commit of 20,020 entries (netlink, batched): ${r.seconds.toFixed(3)} s = ${((r.seconds / 20_020) * 1e6).toFixed(2)} µs/entry`);
    } finally {
      tool.close();
    }
  });
});

describe.skipIf(reason !== '')(`a commit without NEW events, on the netlink kernel table${skipNote(reason)}`, () => {
  const p = kernelPair('w', engineConfig('FTFW', {}, { netlinkBufferSize: 4_194_304, netlinkOverrunResync: 1 }), engineConfig('FTFW'));

  test('the kernel sends no event per committed entry; a flow another process creates during the commit is caught up, and sent with its next event', async () => {
    const tool = NetlinkKernelTable.open({ netns: `/run/netns/${p.nsA.name}` });
    try {
      const flows: Conntrack[] = Array.from({ length: 5000 }, (_, i) => ({
        orig: { l3: 'ipv4', src: `10.11.${i >> 8}.${i & 255}`, dst: '10.9.1.1', proto: 6, sport: 20000 + i, dport: 443 },
        status: 0x6,
        timeout: 3600,
        tcp: { state: 3 },
      }));
      await tool.createBatch(flows, { liberal: true });
      expect(await waitFor(() => p.b.external!.ct.size === 5000, 10_000)).toBe(true);
    } finally {
      tool.close();
    }
    // a listener of B's namespace's NEW events beside the engine's: it sees the commit's entries
    // (the kernel builds events for anyone listening), the engine's socket must not
    const seen: number[] = [];
    const watcher = NetlinkKernelTable.open({ netns: `/run/netns/${p.nsB.name}` });
    const sub = watcher.subscribe({ events: { new: true }, rcvbuf: 8 << 20, onRecords: (b) => seen.push(b.count) });
    try {
      const received = p.b.snapshot().runtime.eventsReceived;
      const committing = p.b.commit('ct'); // leaves NEW events before its first await
      p.nsB.run('conntrack', ['-I', '-p', 'udp', '-s', '10.9.9.9', '-d', '10.9.1.53', '--sport', '4444', '--dport', '53', '-t', '300']);
      const r = await committing;
      expect(r).toMatchObject({ done: true, committed: 5000, failed: 0 });
      expect(await waitFor(() => seen.reduce((a, b) => a + b, 0) >= 5001, 5000)).toBe(true);
      expect(p.b.snapshot().runtime.eventsReceived - received).toBeLessThan(10n);
      // the committed entries and the stranger cached, as -R caches them: nothing sent
      const stranger = (c: Conntrack) => c.orig.src === '10.9.9.9';
      expect(await waitFor(() => p.b.internal!.ct.size === 5001, 5000)).toBe(true);
      expect(cached(p.b.internal!.ct).some(stranger)).toBe(true);
      await new Promise((res) => setTimeout(res, 300));
      expect(p.a.external!.ct.size).toBe(0);
      // the stranger's next event sends it
      p.nsB.run('conntrack', ['-U', '-s', '10.9.9.9', '-m', '9']);
      expect(await waitFor(() => cached(p.a.external!.ct).some(stranger), 5000)).toBe(true);
      expect(p.a.external!.ct.size).toBe(1);
      // NEW events are back: a flow created now arrives as before
      p.nsB.run('conntrack', ['-I', '-p', 'udp', '-s', '10.9.9.10', '-d', '10.9.1.53', '--sport', '4444', '--dport', '53', '-t', '300']);
      expect(await waitFor(() => p.a.external!.ct.size === 2, 5000)).toBe(true);
    } finally {
      sub.close();
      watcher.close();
    }
  });
});

describe.skipIf(reason !== '')(`direct injection on the netlink kernel table${skipNote(reason)}`, () => {
  const p = kernelPair('i', engineConfig('NOTRACK'), engineConfig('NOTRACK', { disableExternalCache: true }));

  test('DisableExternalCache: flows, updates and deletes from A land in B’s kernel directly', async () => {
    // already in B (EEXIST → destroy + create with A's state)
    p.nsB.run('conntrack', ['-I', '-p', 'tcp', '-s', '10.9.0.3', '-d', '10.9.1.1', '--sport', '30003', '--dport', '80',
      '--state', 'ESTABLISHED', '-t', '600', '-m', '1000']);
    for (let i = 1; i <= 10; i++) {
      p.nsA.run('conntrack', ['-I', '-p', 'tcp', '-s', `10.9.0.${i}`, '-d', '10.9.1.1', '--sport', `${30000 + i}`, '--dport', '80',
        '--state', 'ESTABLISHED', '-u', 'SEEN_REPLY,ASSURED', '-t', '600', '-m', `${i}`]);
    }
    const count = (ns: Netns) => ns.run('conntrack', ['-L']).split('\n').filter((l) => l.includes('10.9.')).length;
    expect(await waitFor(() => count(p.nsB) === 10, 5000)).toBe(true);
    expect(p.nsB.run('conntrack', ['-L', '-s', '10.9.0.3'])).toMatch(/mark=3 /);
    p.nsA.run('conntrack', ['-U', '-s', '10.9.0.5', '-m', '555']);
    p.nsA.run('conntrack', ['-D', '-s', '10.9.0.6']);
    expect(await waitFor(() => count(p.nsB) === 9 && /mark=555 /.test(p.nsB.run('conntrack', ['-L', '-s', '10.9.0.5'])), 5000)).toBe(true);
    const st = p.b.snapshot().inject!.ct;
    expect(st).toMatchObject({ created: 10, createdFailed: 0, updated: 1, destroyed: 1 });
  });
});
