/**
 * Interop acceptance, FT-FW over UDP (issue 4; shared/lab/REPORT.md §9.2): ctsyncd against
 * the real conntrackd 1.4.7 in both directions and against itself, 10,000 IPv4 flows; then
 * IPv6 and SNAT/DNAT flows. Each cell: the flows reach the receiver's external cache (asked
 * through both control clients), a mark update and a bulk delete propagate, `-c` puts them
 * into the receiver's kernel with state, mark and NAT reply tuple (interop/cell.ts).
 */
import { describe, expect, it } from 'vitest';
import { skipNote, skipReason } from '../helpers/netns.js';
import { CELL_FLOWS, type CellSpec, DIRECTIONS, runCell, runLossCell, topologyFor } from './interop/cell.js';
import type { FlowKind } from './interop/flows.js';
import { CONNTRACKD, type Daemon } from './interop/node.js';

const reason = skipReason([CONNTRACKD, 'conntrack']);
const N = CELL_FLOWS;

const cell = (sender: Daemon, receiver: Daemon, kind: FlowKind, n: number): CellSpec => ({
  id: `FTFW/UDP ${kind} ${sender}→${receiver} N=${n}`,
  sender,
  receiver,
  mode: 'FTFW',
  transport: 'UDP',
  kind,
  n,
});

describe.skipIf(reason !== '')(`interop FT-FW/UDP${skipNote(reason)}`, () => {
  const topo = topologyFor('iu');

  describe.each(DIRECTIONS)('%s → %s', (sender, receiver) => {
    const kinds: FlowKind[] = ['tcp4', 'tcp6', 'snat', 'dnat'];
    it.each(kinds)(`%s flows, N=${N}`, async (kind) => {
      const n = N;
      const c = cell(sender, receiver, kind, n);
      const t = await runCell(topo(), c);
      // eslint-disable-next-line no-console
      console.log(`${c.id}: inject ${t.inject.toFixed(3)} s, synced ${t.sync.toFixed(3)} s, commit ${t.commit.toFixed(3)} s`);
      expect(t.sync).toBeGreaterThan(0);
    }, 90_000);
  });
});

describe.skipIf(reason !== '')(`interop FT-FW/UDP with 20 % loss on the sync link${skipNote(reason)}`, () => {
  const topo = topologyFor('il');

  it.each(DIRECTIONS)('%s → %s, N=10000: receiver -e = sender -i after the load', async (sender, receiver) => {
    const c = { ...cell(sender, receiver, 'tcp4', N), id: `FTFW/UDP 20% loss ${sender}→${receiver} N=${N}` };
    const t = await runLossCell(topo(), c);
    // eslint-disable-next-line no-console
    console.log(`${c.id}: ${t.dropped} datagrams dropped, synced ${t.sync.toFixed(3)} s`);
    expect(t.dropped).toBeGreaterThan(0);
  }, 90_000);
});
