/**
 * The daemon's handles on the kernel table, one per role as conntrackd opens them
 * (shared/spec/conntrackd.md §3.2, §7): events/dump/resync, commit, flush and direct inject.
 * Separate handles give separate netlink port ids, so every kernel event tells who caused it
 * (`nlmsg_pid`) and the internal cache can drop or keep it without replicating it.
 */
import type { Origin } from '../cache/internal.js';
import type { KernelTable } from '../kernel/kernel-table.js';

export class KernelHandles {
  /** Dumps, events, gets (start-up, `-R`, overrun resync, selective flush listing). */
  readonly main: KernelTable;
  /** `-c`: CTD_ORIGIN_COMMIT, its events update the internal cache but are not sent. */
  readonly commit: KernelTable;
  /** `-F`, `-t`: CTD_ORIGIN_FLUSH, same treatment as commit. */
  readonly flush: KernelTable;
  /** DisableExternalCache: CTD_ORIGIN_INJECT, its events are ignored entirely. */
  readonly inject: KernelTable;

  constructor(open: () => KernelTable) {
    this.main = open();
    this.commit = open();
    this.flush = open();
    this.inject = open();
  }

  /** Port id → origin, for InternalCache (and the bypass path without internal cache). */
  origins(): Map<number, Origin> {
    const m = new Map<number, Origin>();
    for (const id of this.commit.portIds()) m.set(id, 'commit');
    for (const id of this.flush.portIds()) m.set(id, 'flush');
    for (const id of this.inject.portIds()) m.set(id, 'inject');
    return m;
  }

  close(): void {
    this.main.close();
    this.commit.close();
    this.flush.close();
    this.inject.close();
  }
}
