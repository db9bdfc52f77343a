/**
 * The kernel-table commands on the in-process MemoryKernel (same KernelTable contract as the
 * netlink table): what they read, flush and stream. On the real kernel:
 * test/integration/opmode-kernel.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { MemoryKernel, MemoryKernelTable } from '../../src/engine/kernel/index.js';
import { IPS, type Conntrack } from '../../src/engine/model/conntrack.js';
import { parseTableQuery, showConntrackTable, NO_ENTRIES } from '../../src/opmode/conntrack-table.js';
import { monitorConntrackTable } from '../../src/opmode/monitor.js';
import { resetConntrack, RESET_QUESTION } from '../../src/opmode/reset-conntrack.js';
import { tempDir, testContext } from './helpers.js';

const flow = (src: string, sport: number, proto = 6): Conntrack => ({
  orig: { l3: 'ipv4', src, dst: '10.0.0.2', proto, sport, dport: 80 },
  status: IPS.CONFIRMED | IPS.SEEN_REPLY,
  timeout: 100,
  ...(proto === 6 ? { tcp: { state: 3 } } : {}),
});

async function kernelWith(...cts: Conntrack[]): Promise<{ kernel: MemoryKernel; open: () => MemoryKernelTable }> {
  const kernel = new MemoryKernel();
  const open = (): MemoryKernelTable => new MemoryKernelTable({ kernel });
  const t = open();
  for (const ct of cts) await t.create(ct);
  return { kernel, open };
}

describe('show conntrack table on a KernelTable', () => {
  it('lists the matching family and filters, and says so when nothing matches', async () => {
    const { open } = await kernelWith(flow('10.0.0.1', 1000), flow('10.0.0.3', 53, 17));
    const ctx = testContext(tempDir('k'), {}, { kernel: async () => open() });
    const text = (await showConntrackTable(ctx, parseTableQuery('ipv4', []), { json: false })) as string;
    expect(text.split('\n').slice(5).map((l) => l.slice(11, 33).trim())).toEqual(expect.arrayContaining(['10.0.0.1:1000', '10.0.0.3:53']));
    expect(await showConntrackTable(ctx, parseTableQuery('ipv4', ['protocol', 'udp']), { json: true })).toEqual([expect.objectContaining({ protocol: 'udp' })]);
    expect(await showConntrackTable(ctx, parseTableQuery('ipv6', []), { json: false })).toBe(NO_ENTRIES);
  });
});

describe('reset conntrack', () => {
  it('asks; a no leaves the table, a yes (or --yes) flushes it', async () => {
    const { open } = await kernelWith(flow('10.0.0.1', 1000), flow('10.0.0.1', 1001));
    const questions: string[] = [];
    const ask = (answer: boolean) => async (q: string): Promise<boolean> => {
      questions.push(q);
      return answer;
    };
    await expect(resetConntrack(testContext(tempDir('k'), {}, { kernel: async () => open(), confirm: ask(false) }), { json: false, yes: false })).rejects.toMatchObject({ code: 'OPMODE_ABORTED' });
    expect(await open().count()).toBe(2);
    expect(await resetConntrack(testContext(tempDir('k'), {}, { kernel: async () => open(), confirm: ask(true) }), { json: true, yes: false })).toEqual({ flushed: 2 });
    expect(await open().count()).toBe(0);
    expect(questions).toEqual([RESET_QUESTION, RESET_QUESTION]);
    const never = async (): Promise<boolean> => {
      throw new Error('--yes must not ask');
    };
    expect(await resetConntrack(testContext(tempDir('k'), {}, { kernel: async () => open(), confirm: never }), { json: false, yes: true })).toBe('');
  });
});

describe('monitor conntrack table', () => {
  it('prints each event until interrupted, then closes its subscription', async () => {
    const { kernel, open } = await kernelWith();
    let interrupt!: () => void;
    const ctx = testContext(tempDir('k'), {}, { kernel: async () => open(), interrupted: () => new Promise<void>((r) => (interrupt = r)) });
    const running = monitorConntrackTable(ctx, { json: false });
    // The kernel table is opened asynchronously (loaded on use): events count once subscribed.
    for (let i = 0; i < 100 && kernel.subscribers.size === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const writer = open();
    await writer.create(flow('10.0.0.9', 4000));
    await writer.delete({ orig: flow('10.0.0.9', 4000).orig });
    await new Promise((r) => setTimeout(r, 50));
    interrupt();
    expect(await running).toBe(2);
    expect(ctx.lines).toHaveLength(2);
    expect(ctx.lines[0]).toMatch(/^ {4}\[NEW\] tcp {6}6 100 ESTABLISHED src=10\.0\.0\.9 dst=10\.0\.0\.2 sport=4000 dport=80 /);
    expect(ctx.lines[1]).toMatch(/^\[DESTROY\] tcp {6}6 /);
    expect(kernel.subscribers.size).toBe(0);
  });
});
