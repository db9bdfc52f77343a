/**
 * Two engines on memory kernels over an in-memory link (shared/spec/conntrackd.md §2, §3.1,
 * §3.2, §7): kernel flows reach the peer's external cache, updates and deletes follow, the
 * start-up dump is not sent but events during it are, FT-FW converges under loss.
 */
import { describe, expect, it } from 'vitest';
import type { Conntrack } from '../../../src/engine/model/conntrack.js';
import type { KernelTable } from '../../../src/engine/kernel/kernel-table.js';
import { NET_T } from '../../../src/engine/wire/nethdr.js';
import { engineConfig, enginePair, keysOf, kernelKeys, settle, stoppedAfterEach, tcpFlow, type Side } from './harness.js';
import { cached } from '../../helpers/records.js';

const running = stoppedAfterEach();
const started = (p: { a: Side; b: Side }): Promise<void> => running(p.a, p.b);

describe('SyncEngine: kernel → internal cache → peer external cache', () => {
  it('flows created in A reach B with their attributes; updates and deletes follow', async () => {
    const p = enginePair('FTFW');
    await started(p);
    const { a, b, sched } = p;
    await a.tool.create(tcpFlow(1, { mark: 7, zone: 3 }));
    await a.tool.create({ ...tcpFlow(2), snat: { addr: '192.0.2.1', port: 61000 } });
    await settle(sched, 300);
    expect(keysOf(b.engine.external!.ct)).toEqual(await kernelKeys(a.tool));
    const one = cached(b.engine.external!.ct).find((c) => c.orig.src === '10.1.0.1')!;
    expect(one).toMatchObject({ mark: 7, zone: 3, tcp: { state: 3 }, status: expect.any(Number) });
    const two = cached(b.engine.external!.ct).find((c) => c.orig.src === '10.1.0.2')!;
    expect(two.snat).toEqual({ addr: '192.0.2.1', port: 61000 });

    await a.tool.update({ orig: tcpFlow(1).orig, zone: 3, mark: 99 });
    await a.tool.delete({ orig: tcpFlow(2).orig });
    await settle(sched, 300);
    expect(keysOf(b.engine.external!.ct)).toEqual(['10.1.0.1:40001>10.0.2.10:80/3']);
    expect(cached(b.engine.external!.ct)[0]!.mark).toBe(99);
    const st = p.a.engine.snapshot();
    expect(st.runtime.eventsReceived).toBe(4n);
    expect(st.internal!.ct.active).toBe(1);
  });

  it('the start-up dump fills the internal cache without sending; events during the dump are applied after it and sent', async () => {
    let during: (() => Promise<void>) | undefined;
    // a kernel whose dump lets the event loop run in the middle (a flow appears meanwhile)
    const wrap = (t: KernelTable, side: 'a' | 'b'): KernelTable =>
      side === 'b'
        ? t
        : Object.assign(Object.create(t) as KernelTable, {
            dump: async (onBatch: (e: Conntrack[]) => void) => {
              const got: Conntrack[] = [];
              await t.dump((bt) => got.push(...bt));
              await during?.();
              onBatch(got);
            },
          });
    const p = enginePair('FTFW', { wrap });
    const { a, b, sched } = p;
    for (let i = 1; i <= 5; i++) await a.tool.create(tcpFlow(i));
    during = async () => {
      during = undefined;
      await a.tool.create(tcpFlow(100));
      await a.tool.delete({ orig: tcpFlow(1).orig });
      await new Promise((r) => setImmediate(r)); // the events arrive while the dump is not done
    };
    await started(p);
    await settle(sched, 300);
    // the dump showed flow 1 (deleted later, by event) — the internal cache has what the kernel has
    expect(keysOf(a.engine.internal!.ct)).toEqual(await kernelKeys(a.tool));
    // only the event-borne flow crossed the link (the dump sends nothing, §3.1)
    expect(keysOf(b.engine.external!.ct)).toEqual(['10.1.0.100:40100>10.0.2.10:80/0']);
  });

  it('FT-FW with 20 % loss both ways converges to equal caches with 10,000 flows', async () => {
    const p = enginePair('FTFW', { seed: 5 });
    await started(p);
    const { a, b, sched } = p;
    a.link.loss = b.link.loss = 0.2;
    await settle(sched, 2000);
    const flows = Array.from({ length: 10_000 }, (_, i) => tcpFlow(i + 1, { mark: i }));
    for (let i = 0; i < flows.length; i += 1000) {
      await a.tool.createBatch(flows.slice(i, i + 1000));
      await settle(sched, 100);
    }
    // churn: updates and deletes under loss too
    await a.tool.updateBatch(flows.slice(0, 2000).map((c) => ({ orig: c.orig, mark: 424242 })));
    await a.tool.deleteBatch(flows.slice(2000, 3000));
    await settle(sched, 5000, 100);
    a.link.loss = b.link.loss = 0;
    await settle(sched, 5000, 250);
    const want = await kernelKeys(a.tool);
    expect(want.length).toBe(9000);
    expect(keysOf(b.engine.external!.ct)).toEqual(want);
    const marks = cached(b.engine.external!.ct).filter((c) => c.mark === 424242).length;
    expect(marks).toBe(2000);
    expect(b.engine.snapshot().sequence.lost).toBeGreaterThan(0n);
    expect(b.engine.snapshot().network.malformed).toBe(0n);
  });

  it('NOTRACK with DisableInternalCache sends each event at once (internal bypass)', async () => {
    const cfg = engineConfig('NOTRACK', { disableInternalCache: true });
    const p = enginePair('NOTRACK', { a: cfg });
    await started(p);
    const { a, b, sched } = p;
    a.link.types = [];
    await a.tool.create(tcpFlow(1));
    await a.tool.update({ orig: tcpFlow(1).orig, mark: 5 });
    await settle(sched, 100);
    expect(a.link.types).toEqual([NET_T.CT_NEW, NET_T.CT_UPD]);
    expect(keysOf(b.engine.external!.ct)).toEqual(['10.1.0.1:40001>10.0.2.10:80/0']);
    const st = a.engine.snapshot();
    expect(st.internal).toBeUndefined();
    expect(st.bypass!.ct).toMatchObject({ created: 1, updated: 1, destroyed: 0 });
    // -B without internal cache: the kernel table is dumped and sent as CT_NEW
    b.engine.external!.flush();
    a.engine.sendBulk();
    await settle(sched, 100);
    expect(keysOf(b.engine.external!.ct)).toEqual(['10.1.0.1:40001>10.0.2.10:80/0']);
  });
});
