import { expect, test, vi } from 'vitest';

vi.mock('node:fs', async (orig) => ({ ...(await orig<typeof import('node:fs')>()), existsSync: () => false }));

test('without the built addon, opening the netlink table fails with KERNEL_ADDON_MISSING', async () => {
  const { NetlinkKernelTable } = await import('../../src/engine/kernel/netlink-table.js');
  expect(() => NetlinkKernelTable.open()).toThrow(expect.objectContaining({ code: 'KERNEL_ADDON_MISSING', message: expect.stringMatching(/npm ci/) }));
});
