/**
 * Selective flush of the kernel table (`conntrackd -F`, and `-t` after PurgeTimeout,
 * shared/spec/conntrackd.md §3.4): every entry that passes the user-space filter is deleted
 * through the flush handle, whose events update the internal cache without being replicated
 * (CTD_ORIGIN_FLUSH, §3.2). Expectations go with one flush.
 */
import type { CtKey } from '../kernel/kernel-table.js';
import { acceptsObject, type ConntrackFilter } from '../cache/filter.js';
import type { KernelHandles } from './kernel-handles.js';
import { ERRNO } from '../kernel/kernel-error.js';
import type { Scheduler, TimerHandle } from '../sync/scheduler.js';
import type { EngineLog } from './log.js';
import { SLICE, yieldToLoop } from './loop.js';
import type { Target } from './targets.js';

/** Deletes the filtered entries; returns how many were deleted. */
export async function flushKernel(kernel: KernelHandles, filter: ConntrackFilter, target: Target): Promise<number> {
  let deleted = 0;
  if (target !== 'expect') {
    const keys: CtKey[] = [];
    await kernel.main.dump((batch) => {
      for (const ct of batch) if (acceptsObject(filter, ct)) keys.push({ orig: ct.orig, zone: ct.zone });
    });
    for (let i = 0; i < keys.length; i += SLICE) {
      const r = await kernel.flush.deleteBatch(keys.slice(i, i + SLICE));
      // ENOENT: the entry died between the dump and the delete
      for (let j = 0; j < r.length; j++) if (r[j] === 0 || r[j] === ERRNO.ENOENT) deleted++;
      await yieldToLoop();
    }
  }
  if (target !== 'ct') await kernel.flush.flushExpectations();
  return deleted;
}

/**
 * `-t` (RESET_TIMERS): one pending purge at a time; after PurgeTimeout seconds the kernel is
 * flushed selectively and the internal cache emptied. Commit and `-f` cancel it.
 */
export class PurgeTimer {
  private timer: TimerHandle | undefined;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly log: EngineLog,
    private readonly purgeTimeout: number,
    private readonly run: () => Promise<void>,
  ) {}

  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** Arms the purge; false when one is already pending. */
  arm(): boolean {
    if (this.timer !== undefined) return false;
    this.log.notice(`flushing conntrack table in ${this.purgeTimeout} secs`);
    this.timer = this.scheduler.setTimer(this.purgeTimeout * 1000, () => {
      this.timer = undefined;
      this.log.notice('flushing kernel conntrack table (scheduled)');
      this.run().catch((e: unknown) => this.log.error(`scheduled flush: ${(e as Error).message}`));
    });
    return true;
  }

  cancel(): void {
    if (this.timer !== undefined) this.scheduler.clearTimer(this.timer);
    this.timer = undefined;
  }
}
