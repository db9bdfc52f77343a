import { afterAll, describe } from 'vitest';
import { MemoryKernel, MemoryKernelTable } from '../../src/engine/kernel/memory-table.js';
import { NetlinkKernelTable } from '../../src/engine/kernel/netlink-table.js';
import { addonAvailable } from '../../src/engine/kernel/addon.js';
import type { Conntrack } from '../../src/engine/model/conntrack.js';
import type { CtKey } from '../../src/engine/kernel/kernel-table.js';
import { Netns, cleanup, hasProgram, netnsSupport } from '../helpers/netns.js';
import { kernelTableContract } from './contract.js';

kernelTableContract('memory', async () => {
  const kernel = new MemoryKernel();
  const table = new MemoryKernelTable({ kernel });
  const other = new MemoryKernelTable({ kernel });
  return {
    table,
    other: {
      create: (ct) => void other.create(ct),
      delete: (key) => void other.delete(key),
    },
    close: async () => table.close(),
  };
});

/** conntrack(8) arguments naming a tuple. */
function cliTuple(ct: CtKey): string[] {
  const o = ct.orig;
  const args = ['-p', String(o.proto), '-s', o.src, '-d', o.dst];
  if (o.sport !== undefined) args.push('--sport', String(o.sport), '--dport', String(o.dport));
  if (ct.zone) args.push('-w', String(ct.zone));
  return args;
}

const ns = netnsSupport();
const reason = !ns.ok ? ns.reason : !addonAvailable() ? 'the ctnetlink addon is not built' : !hasProgram('conntrack') ? 'conntrack(8) missing' : '';
describe.skipIf(reason !== '')(`netlink${reason ? ` (skipped: ${reason})` : ''}`, () => {
  // Also when the setup below fails half-way.
  afterAll(cleanup);
  kernelTableContract('netlink', async () => {
    const net = new Netns('kc');
    // The kernel keeps connection labels only in a namespace where something uses them
    // (nf_connlabels_get): an nft rule that matches a label, as a firewall using labels has.
    net.run('nft', ['-f', '-'], 'table inet labels {\n chain c {\n  type filter hook prerouting priority 0;\n  ct label 1 counter\n }\n}\n');
    const table = NetlinkKernelTable.open({ netns: `/run/netns/${net.name}` });
    return {
      table,
      other: {
        create: (ct: Conntrack) => void net.run('conntrack', ['-I', ...cliTuple(ct), '-t', String(ct.timeout ?? 60)]),
        delete: (key: CtKey) => void net.run('conntrack', ['-D', ...cliTuple(key)]),
      },
      close: async () => {
        table.close();
        await cleanup();
      },
    };
  });
});
