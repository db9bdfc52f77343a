/**
 * `reset conntrack` (shared/spec/vyos.md §4.3): after the operator confirms (or `--yes`),
 * flush the kernel's conntrack table and its expectations, as `conntrack -F` and
 * `conntrack -F expect` do. Declining exits 1, as VyOS does.
 */
import { CtsyncError } from '../common/errors.js';
import type { OpmodeContext, OpmodeOptions, Output } from './context.js';

export const RESET_QUESTION = 'This will clear all currently tracked and expected connections. Continue?';

export interface ResetResult {
  /** Entries in the table just before the flush. */
  flushed: number;
}

export async function resetConntrack(ctx: OpmodeContext, opts: OpmodeOptions & { yes: boolean }): Promise<Output> {
  if (!opts.yes && !(await ctx.confirm(RESET_QUESTION))) {
    throw new CtsyncError('OPMODE_ABORTED', 'Aborted: no connections were cleared');
  }
  const kernel = await ctx.kernel();
  try {
    const flushed = await kernel.count();
    await kernel.flush();
    await kernel.flushExpectations();
    const result: ResetResult = { flushed };
    return opts.json ? result : '';
  } finally {
    kernel.close();
  }
}
