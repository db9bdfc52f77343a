/**
 * Benchmark (`npm run bench:engine`, not part of `npm test`): CPU per synced event on the hot paths, against conntrackd's measured ~11 µs (sender:
 * event → cache → encode → send) and ~7 µs (receiver: receive → decode → cache)
 * (shared/lab/REPORT.md). Events are handed to the engine as the kernel table would deliver
 * them, so the kernel side's cost is not in the figure.
 */
import { describe, expect, it } from 'vitest';
import type { KernelTable, RecordBatch, SubscribeOptions } from '../src/engine/kernel/kernel-table.js';
import { records } from '../src/engine/kernel/record.js';
import { MemoryKernel, MemoryKernelTable } from '../src/engine/kernel/memory-table.js';
import { SyncEngine } from '../src/engine/daemon/engine.js';
import { ArrayLog, FakeScheduler, START, engineConfig, tcpFlow } from '../test/engine/daemon/harness.js';

const N = 50_000;
const BATCH = 100; // EventIterationLimit

function engineWithTap(sched: FakeScheduler, send: (p: Buffer) => void) {
  let tap: SubscribeOptions | undefined;
  const kernel = new MemoryKernel();
  const open = (): KernelTable => {
    const t = new MemoryKernelTable({ kernel });
    return Object.assign(Object.create(t) as KernelTable, {
      subscribe: (opts: SubscribeOptions) => {
        tap = opts;
        return t.subscribe({ ...opts, onRecords: () => undefined });
      },
    });
  };
  const transport = { payloadLimit: 1472, stream: false, send };
  const engine = new SyncEngine(engineConfig('FTFW'), { openKernel: open, transport, log: new ArrayLog(), scheduler: sched });
  return { engine, feed: (batch: RecordBatch) => tap!.onRecords(batch) };
}

function cpuMicros(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t0);
  return d.user + d.system;
}

describe('hot path CPU per event (FT-FW)', () => {
  it('prints sender and receiver CPU per event', async () => {
    const sched = new FakeScheduler(START);
    const wire: Buffer[] = [];
    const a = engineWithTap(sched, (p) => void wire.push(p));
    // B's ACKs reach A at once, so A's resend queue drains as in a real pair
    const b = engineWithTap(sched, (p) => a.engine.receive(p, 0));
    await a.engine.start();
    await b.engine.start();
    const phases: Record<string, { send: number; recv: number }> = {};
    const R = records();
    // a warm-up round (JIT), then the measured one on fresh flows
    const rounds = [['new', 0], ['destroy', 0], ['new', N], ['update', N], ['destroy', N]] as const;
    for (const [type, base] of rounds) {
      // the events as the addon's reader delivers them: record slots marked with type and port
      const events = R.alloc(N);
      for (let i = 0; i < N; i++) {
        R.packCt(tcpFlow(base + i, { mark: i, id: i, use: 1 }), events, i * R.slot);
        R.markEvent(events, i * R.slot, type, 0);
      }
      wire.length = 0;
      const send = cpuMicros(() => {
        for (let i = 0; i < N; i += BATCH) {
          a.feed({ buf: events.subarray(i * R.slot, (i + BATCH) * R.slot), count: BATCH });
          sched.advance(0); // the tx run after each wake-up
        }
      });
      const recv = cpuMicros(() => {
        for (const d of wire) b.engine.receive(d, 0);
      });
      if (base !== 0) phases[type] = { send: send / N, recv: recv / N };
      sched.advance(1000);
    }
    console.log('µs per event', JSON.stringify(phases, (_k, v) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v)));
    expect(b.engine.external!.ct.size).toBe(0);
    expect(b.engine.snapshot().external!.ct.createdOk).toBe(2 * N);
    expect(a.engine.snapshot().rsqueue.length).toBeLessThan(1000);
    await a.engine.stop();
    await b.engine.stop();
  });
});
