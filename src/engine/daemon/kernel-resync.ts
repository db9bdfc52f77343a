/**
 * The internal cache against the kernel table (shared/spec/conntrackd.md §3.1, §3.4, §7):
 * `populate` for start-up and `-R` (nothing is sent), and the NetlinkOverrunResync pass where
 * events were lost: every dumped entry is refreshed and sent, then cached entries the dump did
 * not show are checked one by one and, if gone, destroyed (a DEL to the peers). PollSecs runs
 * the same pass periodically instead of listening to events.
 */
import type { KernelTable } from '../kernel/kernel-table.js';
import type { InternalCache } from '../cache/internal.js';
import { NONE } from '../cache/store.js';
import { records } from '../kernel/record.js';

/**
 * Start-up dump, `-R`, and after a commit that did not listen to NEW events: fill the internal
 * cache from the kernel, nothing sent. Batches stop counting once `current()` says the cache
 * has moved on (flushed).
 */
export async function populateFromKernel(
  table: KernelTable,
  internal: InternalCache,
  what: { ct: boolean; exp: boolean },
  current: () => boolean = () => true,
): Promise<void> {
  if (what.ct) {
    await table.dump((batch) => {
      if (!current()) return;
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
  const seen = new Set<number>();
  const R = records();
  const slot = R.alloc(1);
  await table.dump((batch) => {
    for (const ct of batch) {
      slot.fill(0);
      R.packCt(ct, slot, 0);
      if (!internal.accepts(slot, 0)) continue;
      const e = internal.ctEvent('update', 0, slot, 0);
      if (e !== NONE) seen.add(e);
    }
  });
  const c = internal.ct;
  const unseen: number[] = [];
  for (const e of c.values()) if (!c.isDead(e) && !seen.has(e)) unseen.push(e);
  // an entry created after the dump began is cached but missing from it: ask the kernel
  for (const e of unseen) {
    if (!c.attached(e) || c.isDead(e)) continue;
    const { orig, zone } = c.decode(e);
    if ((await table.get({ orig, zone })) === undefined) internal.ctEvent('destroy', 0, c.bufOf(e), c.at(e));
  }
}
