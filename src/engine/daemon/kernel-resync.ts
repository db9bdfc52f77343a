/**
 * The internal cache against the kernel table (shared/spec/conntrackd.md §3.1, §3.4, §7):
 * `populate` for start-up and `-R` (nothing is sent), and the NetlinkOverrunResync pass where
 * events were lost: every dumped entry is refreshed and sent, then cached entries the dump did
 * not show are checked one by one and, if gone, destroyed (a DEL to the peers). PollSecs runs
 * the same pass periodically instead of listening to events.
 */
import type { Conntrack } from '../model/conntrack.js';
import type { KernelTable } from '../kernel/kernel-table.js';
import type { InternalCache } from '../cache/internal.js';
import type { CacheObject } from '../cache/object.js';

/** Start-up dump and `-R`: fill the internal cache from the kernel. */
export async function populateFromKernel(table: KernelTable, internal: InternalCache, what: { ct: boolean; exp: boolean }): Promise<void> {
  if (what.ct) {
    await table.dump((batch) => {
      for (const ct of batch) internal.populate(ct);
    });
  }
  // expectations after conntracks: an expectation is cached only with its master (§3.6)
  if (what.exp) {
    await table.dumpExpectations((batch) => {
      for (const exp of batch) internal.populateExp(exp);
    });
  }
}

/** After an overrun, and every PollSecs: refresh-and-send every kernel entry, then purge the vanished ones. */
export async function refreshAndPurge(table: KernelTable, internal: InternalCache): Promise<void> {
  const seen = new Set<CacheObject<Conntrack>>();
  await table.dump((batch) => {
    for (const ct of batch) {
      if (!internal.accepts(ct)) continue;
      const obj = internal.ctEvent({ type: 'update', ct, portId: 0 });
      if (obj !== undefined) seen.add(obj);
    }
  });
  const unseen: CacheObject<Conntrack>[] = [];
  for (const obj of internal.ct.values()) if (obj.status !== 'dead' && !seen.has(obj)) unseen.push(obj);
  // an entry created after the dump began is cached but missing from it: ask the kernel
  for (const obj of unseen) {
    if (!obj.attached || obj.status === 'dead') continue;
    if ((await table.get({ orig: obj.data.orig, zone: obj.data.zone })) === undefined) {
      internal.ctEvent({ type: 'destroy', ct: obj.data, portId: 0 });
    }
  }
}
