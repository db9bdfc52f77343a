/**
 * The commit's timeouts (shared/spec/conntrackd.md §3.3): each entry gets its received
 * NTA_TIMEOUT less the time since its last update, measured when the entry is committed.
 */
import { describe, expect, it } from 'vitest';
import { ExternalCache } from '../../../src/engine/cache/external.js';
import { Committer, releaseCreated } from '../../../src/engine/daemon/commit.js';
import { SLICE } from '../../../src/engine/daemon/loop.js';
import type { KernelTable, RecordBatch } from '../../../src/engine/kernel/kernel-table.js';
import type { Conntrack } from '../../../src/engine/model/conntrack.js';
import { ArrayLog, tcpFlow } from './harness.js';
import { cached, entriesOf, slot } from '../../helpers/records.js';

describe('commit timeouts', () => {
  it('an entry updated while an earlier slice was in the kernel keeps its timeout (no "future" update)', async () => {
    let now = 1000;
    const external = new ExternalCache({ hashLimit: 1 << 20, nowSeconds: () => now });
    const n = SLICE + 1;
    for (let i = 0; i < n; i++) external.conntrack('new', ...slot(tcpFlow(i, { timeout: 300 })));
    // the flow the commit reaches last (the cache's order is its slots')
    const last = cached(external.ct).at(-1)!;
    const created: Conntrack[] = [];
    const table = {
      createRecords: async (batch: RecordBatch) => {
        const cts = entriesOf(batch);
        created.push(...cts);
        if (created.length === SLICE) {
          // while the first slice is in the kernel, a second passes and the last flow is refreshed
          now += 1;
          external.conntrack('update', ...slot({ ...last, timeout: 300 }));
        }
        return new Int32Array(cts.length);
      },
    } as unknown as KernelTable;
    const r = await new Committer({ table, log: new ArrayLog(), nowSeconds: () => now, commitTimeout: undefined, liberal: true }).commit(external, 'ct');
    expect(r).toMatchObject({ committed: n, failed: 0 });
    expect(created.map((ct) => ct.timeout)).toEqual(new Array(n).fill(300));
  });
});

describe('committed entries', () => {
  it('hold their slots until released: one removed during the commit reads as detached, not as a newcomer', async () => {
    const external = new ExternalCache({ hashLimit: 100, nowSeconds: () => 1000 });
    for (let i = 0; i < 3; i++) external.conntrack('new', ...slot(tcpFlow(i)));
    const table = {
      createRecords: async (batch: RecordBatch) => {
        // while the slice is in the kernel the peer deletes flow 1 and sends a new flow
        external.conntrack('destroy', ...slot(tcpFlow(1)));
        external.conntrack('new', ...slot(tcpFlow(7)));
        return new Int32Array(batch.count);
      },
    } as unknown as KernelTable;
    const r = await new Committer({ table, log: new ArrayLog(), nowSeconds: () => 1000, commitTimeout: undefined, liberal: true }).commit(external, 'ct');
    const c = external.ct;
    expect(r.created).toHaveLength(3);
    expect(r.created.map((e) => c.attached(e))).toEqual([true, false, true]);
    expect(r.created.includes(c.find(...slot(tcpFlow(7))))).toBe(false);
    releaseCreated(c, r.created);
    // the removed flow's slot is free again: the next flow takes it
    external.conntrack('new', ...slot(tcpFlow(8)));
    expect(c.find(...slot(tcpFlow(8)))).toBe(r.created[1]);
  });
});
