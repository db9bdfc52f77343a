/**
 * Interop acceptance, the rest of the mode × transport matrix (issue 4): {FT-FW, NOTRACK,
 * ALARM} × {UDP, Multicast, TCP} with 10,000 IPv4 flows, conntrackd 1.4.7 → ctsyncd,
 * ctsyncd → conntrackd and ctsyncd → ctsyncd (FT-FW/UDP itself: interop-ftfw-udp.test.ts).
 * Each cell runs interop/cell.ts: sync, mark update, bulk delete, commit, asked through both
 * control clients.
 */
import { describe, expect, it } from 'vitest';
import { skipNote, skipReason } from '../helpers/netns.js';
import { CELL_FLOWS, DIRECTIONS, runCell, topologyFor } from './interop/cell.js';
import type { SyncMode, Transport } from './interop/conf.js';
import { CONNTRACKD } from './interop/node.js';

const reason = skipReason([CONNTRACKD, 'conntrack']);
const N = CELL_FLOWS;

const VARIANTS: Array<[SyncMode, Transport]> = [
  ['FTFW', 'Multicast'],
  ['FTFW', 'TCP'],
  ['NOTRACK', 'UDP'],
  ['NOTRACK', 'Multicast'],
  ['NOTRACK', 'TCP'],
  ['ALARM', 'UDP'],
  ['ALARM', 'Multicast'],
  ['ALARM', 'TCP'],
];

describe.skipIf(reason !== '')(`interop mode × transport matrix${skipNote(reason)}`, () => {
  const topo = topologyFor('im');

  describe.each(VARIANTS)('%s over %s', (mode, transport) => {
    it.each(DIRECTIONS)(`%s → %s, N=${N}`, async (sender, receiver) => {
      const id = `${mode}/${transport} tcp4 ${sender}→${receiver} N=${N}`;
      const t = await runCell(topo(), { id, sender, receiver, mode, transport, kind: 'tcp4', n: N });
      // eslint-disable-next-line no-console
      console.log(`${id}: inject ${t.inject.toFixed(3)} s, synced ${t.sync.toFixed(3)} s, commit ${t.commit.toFixed(3)} s`);
      expect(t.sync).toBeGreaterThan(0);
    }, 90_000);
  });
});
