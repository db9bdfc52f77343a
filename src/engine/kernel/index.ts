/** The kernel table the engine uses: `netlink` (the real one) or `memory` (in-process). */
import type { KernelTable } from './kernel-table.js';
import { MemoryKernel, MemoryKernelTable } from './memory-table.js';
import { NetlinkKernelTable } from './netlink-table.js';

export type KernelTableOptions = { kind: 'netlink'; netns?: string } | { kind: 'memory'; kernel?: MemoryKernel };

export function openKernelTable(opts: KernelTableOptions): KernelTable {
  return opts.kind === 'netlink' ? NetlinkKernelTable.open({ netns: opts.netns }) : new MemoryKernelTable({ kernel: opts.kernel });
}

export type * from './kernel-table.js';
export { MemoryKernel, MemoryKernelTable, NetlinkKernelTable };
