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
import { ArrayLog, engineConfig } from '../engine/daemon/harness.js';
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

describe.skipIf(reason !== '')(`daemon core on the netlink kernel table${skipNote(reason)}`, () => {
  let nsA: Netns;
  let nsB: Netns;
  let a: SyncEngine;
  let b: SyncEngine;
  const logB = new ArrayLog();

  beforeAll(async () => {
    nsA = new Netns('da');
    nsB = new Netns('db');
    const ta = linkEnd();
    const tb = linkEnd();
    const open = (ns: Netns) => () => NetlinkKernelTable.open({ netns: `/run/netns/${ns.name}` });
    a = new SyncEngine(engineConfig('FTFW', {}, { netlinkBufferSize: 1_048_576, netlinkBufferSizeMaxGrowth: 4_194_304, netlinkOverrunResync: 1 }), { openKernel: open(nsA), transport: ta, log: new ArrayLog() });
    b = new SyncEngine(engineConfig('FTFW'), { openKernel: open(nsB), transport: tb, log: logB });
    ta.deliver = b.receive;
    tb.deliver = a.receive;
    await a.start();
    await b.start();
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await cleanup();
  });

  test('conntrack -I flows in A appear in B; commit puts them in B’s kernel; nothing comes back', async () => {
    for (let i = 1; i <= 20; i++) {
      nsA.run('conntrack', ['-I', '-p', 'tcp', '-s', `10.9.0.${i}`, '-d', '10.9.1.1', '--sport', `${30000 + i}`, '--dport', '80',
        '--state', 'ESTABLISHED', '-u', 'SEEN_REPLY,ASSURED', '-t', '600', '-m', `${i}`]);
    }
    nsA.run('conntrack', ['-I', '-p', 'udp', '-s', '10.9.0.100', '-d', '10.9.1.53', '--sport', '5353', '--dport', '53',
      '-t', '300', '--dst-nat', '192.168.7.7']);
    const got = await waitFor(() => b.external!.ct.size === 21, 5000);
    expect(got).toBe(true);
    const one = [...b.external!.ct.values()].find((o) => o.data.orig.src === '10.9.0.7')!;
    expect(one.data).toMatchObject({ mark: 7, tcp: { state: 3 } });

    const r = await b.commit();
    expect(r).toMatchObject({ done: true, committed: 21, failed: 0 });
    const list = nsB.run('conntrack', ['-L']);
    expect(list.split('\n').filter((l) => l.includes('10.9.')).length).toBe(21);
    expect(list).toMatch(/tcp\s+6\s+\d+ ESTABLISHED src=10\.9\.0\.7 dst=10\.9\.1\.1 sport=30007 dport=80 .*mark=7/);
    expect(list).toMatch(/udp\s+17\s+\d+ src=10\.9\.0\.100 dst=10\.9\.1\.53 sport=5353 dport=53 .*src=192\.168\.7\.7 dst=10\.9\.0\.100/);
    // B caches its committed entries (commit origin) and sends none of them to A
    await waitFor(() => b.internal!.ct.size === 21, 3000);
    expect(b.internal!.ct.size).toBe(21);
    await new Promise((res) => setTimeout(res, 300));
    expect(a.external!.ct.size).toBe(0);
    expect(logB.has(/^notice Committed 21 new entries$/)).toBe(true);

    // a delete in A reaches B's external cache
    nsA.run('conntrack', ['-D', '-p', 'tcp', '-s', '10.9.0.1']);
    expect(await waitFor(() => b.external!.ct.size === 20, 5000)).toBe(true);
  });

  test('20,000 flows: A → B external cache → commit into B’s kernel (timed)', async () => {
    const tool = NetlinkKernelTable.open({ netns: `/run/netns/${nsA.name}` });
    try {
      const flows: Conntrack[] = Array.from({ length: 20_000 }, (_, i) => ({
        orig: { l3: 'ipv4', src: `10.10.${i >> 8}.${i & 255}`, dst: '10.9.1.1', proto: 6, sport: 20000 + (i % 40000), dport: 443 },
        status: 0x6,
        timeout: 3600,
        tcp: { state: 3 },
      }));
      await tool.createBatch(flows, { liberal: true });
      // a burst this size may overrun A's event socket: NetlinkOverrunResync (1 s) repairs it
      const synced = await waitFor(() => b.external!.ct.size === 20_020, 15_000);
      const rt = a.snapshot().runtime;
      // eslint-disable-next-line no-console
      console.log(`20k burst: overruns ${rt.netlinkOverrun}, buffer ${rt.netlinkBufferSize}, kernel resyncs ${rt.resyncWithKernel}`);
      expect(synced).toBe(true);
      const r = await b.commit('ct');
      expect(r).toMatchObject({ done: true, committed: 20_020, failed: 0 });
      // plus 10.9.0.1, committed by the first test and since deleted in A only
      expect(nsB.run('conntrack', ['-C']).trim()).toBe('20021');
      // eslint-disable-next-line no-console
      console.log(`commit of 20,020 entries (netlink, batched): ${r.seconds.toFixed(3)} s = ${((r.seconds / 20_020) * 1e6).toFixed(2)} µs/entry`);
    } finally {
      tool.close();
    }
  });
});

describe.skipIf(reason !== '')(`direct injection on the netlink kernel table${skipNote(reason)}`, () => {
  let nsA: Netns;
  let nsB: Netns;
  let a: SyncEngine;
  let b: SyncEngine;

  beforeAll(async () => {
    nsA = new Netns('ia');
    nsB = new Netns('ib');
    const ta = linkEnd();
    const tb = linkEnd();
    const open = (ns: Netns) => () => NetlinkKernelTable.open({ netns: `/run/netns/${ns.name}` });
    a = new SyncEngine(engineConfig('NOTRACK'), { openKernel: open(nsA), transport: ta, log: new ArrayLog() });
    b = new SyncEngine(engineConfig('NOTRACK', { disableExternalCache: true }), { openKernel: open(nsB), transport: tb, log: new ArrayLog() });
    ta.deliver = b.receive;
    tb.deliver = a.receive;
    await a.start();
    await b.start();
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await cleanup();
  });

  test('DisableExternalCache: flows, updates and deletes from A land in B’s kernel directly', async () => {
    // already in B (EEXIST → destroy + create with A's state)
    nsB.run('conntrack', ['-I', '-p', 'tcp', '-s', '10.9.0.3', '-d', '10.9.1.1', '--sport', '30003', '--dport', '80',
      '--state', 'ESTABLISHED', '-t', '600', '-m', '1000']);
    for (let i = 1; i <= 10; i++) {
      nsA.run('conntrack', ['-I', '-p', 'tcp', '-s', `10.9.0.${i}`, '-d', '10.9.1.1', '--sport', `${30000 + i}`, '--dport', '80',
        '--state', 'ESTABLISHED', '-u', 'SEEN_REPLY,ASSURED', '-t', '600', '-m', `${i}`]);
    }
    const count = (ns: Netns) => ns.run('conntrack', ['-L']).split('\n').filter((l) => l.includes('10.9.')).length;
    expect(await waitFor(() => count(nsB) === 10, 5000)).toBe(true);
    expect(nsB.run('conntrack', ['-L', '-s', '10.9.0.3'])).toMatch(/mark=3 /);
    nsA.run('conntrack', ['-U', '-s', '10.9.0.5', '-m', '555']);
    nsA.run('conntrack', ['-D', '-s', '10.9.0.6']);
    expect(await waitFor(() => count(nsB) === 9 && /mark=555 /.test(nsB.run('conntrack', ['-L', '-s', '10.9.0.5'])), 5000)).toBe(true);
    const st = b.snapshot().inject!.ct;
    expect(st).toMatchObject({ created: 10, createdFailed: 0, updated: 1, destroyed: 1 });
  });
});
