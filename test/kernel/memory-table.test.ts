/** What the memory table models beyond the shared contract (contract.test.ts). */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { MemoryKernel, MemoryKernelTable } from '../../src/engine/kernel/memory-table.js';
import { IPS, type CtEvent } from '../../src/engine/model/conntrack.js';
import { waitFor } from '../helpers/netns.js';
import { onEvents } from '../helpers/records.js';

const flow = (i: number, timeout = 60) => ({ orig: { l3: 'ipv4' as const, src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport: 1000 + i, dport: 53 }, timeout });

describe('memory kernel table', () => {
  afterEach(() => vi.useRealTimers());

  test('a full receive buffer drops events and reports the overrun; reliable mode does not', async () => {
    const t = new MemoryKernelTable();
    let got = 0;
    let overruns = 0;
    let reliableGot = 0;
    t.subscribe({ rcvbuf: 4096, onRecords: (b) => (got += b.count), onOverrun: (n) => (overruns += n) });
    t.subscribe({ rcvbuf: 4096, reliable: true, onRecords: (b) => (reliableGot += b.count), onOverrun: () => expect.fail('reliable overrun') });
    await t.createBatch(Array.from({ length: 100 }, (_, i) => flow(i)));
    await waitFor(() => got > 0 && reliableGot === 100, 1000);
    expect(got).toBeLessThan(100);
    expect(overruns).toBe(100 - got);
  });

  test('an expired entry is destroyed with a kernel event (port id 0)', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'Date'] });
    const kernel = new MemoryKernel();
    const t = new MemoryKernelTable({ kernel });
    const events: CtEvent[] = [];
    t.subscribe({ onRecords: onEvents((e) => events.push(...e)) });
    await t.create(flow(1, 2));
    vi.advanceTimersByTime(3000);
    await new Promise((r) => setImmediate(r));
    expect(events.map((e) => [e.type, e.portId === 0])).toEqual([['new', false], ['destroy', true]]);
    expect(await t.count()).toBe(0);
  });

  test('update cannot clear SEEN_REPLY/ASSURED or change NAT bits, as in the kernel', async () => {
    const t = new MemoryKernelTable();
    await t.create({ ...flow(2), status: IPS.SEEN_REPLY | IPS.ASSURED, snat: { addr: '192.0.2.1' } });
    await t.update({ orig: flow(2).orig, status: 0 });
    const got = await t.get({ orig: flow(2).orig });
    expect(got!.status! & (IPS.SEEN_REPLY | IPS.ASSURED | IPS.SRC_NAT)).toBe(IPS.SEEN_REPLY | IPS.ASSURED | IPS.SRC_NAT);
    expect(got!.snat).toEqual({ addr: '192.0.2.1' });
  });
});
