/**
 * Interop acceptance, FTP expectations over FT-FW/UDP with `ExpectationSync On` (issue 4):
 * conntrackd 1.4.7 → ctsyncd, ctsyncd → conntrackd and ctsyncd → ctsyncd. Real FTP control
 * sessions in the sender's namespace get real kernel expectations from the ftp helper; the
 * masters and expectations reach the receiver's external caches (both control clients), `-c`
 * puts them into the receiver's kernel (`conntrack -L expect`), and deleting the masters
 * empties the receiver's caches (interop/ftp.ts).
 */
import { describe, expect, it } from 'vitest';
import { skipNote, skipReason } from '../helpers/netns.js';
import { DIRECTIONS, topologyFor } from './interop/cell.js';
import { runExpectCell } from './interop/ftp.js';
import { CONNTRACKD } from './interop/node.js';

const reason = skipReason([CONNTRACKD, 'conntrack', 'nft']);
/** FTP control sessions, one expectation each. */
const N = 200;

describe.skipIf(reason !== '')(`interop FTP expectations over FT-FW/UDP${skipNote(reason)}`, () => {
  const topo = topologyFor('ie');

  it.each(DIRECTIONS)(`%s → %s, ${N} FTP sessions`, async (sender, receiver) => {
    const id = `FTFW/UDP ftp expect ${sender}→${receiver} N=${N}`;
    const t = await runExpectCell(topo(), { id, sender, receiver, mode: 'FTFW', transport: 'UDP', kind: 'tcp4', n: N });
    // eslint-disable-next-line no-console
    console.log(`${id}: sessions ${t.inject.toFixed(3)} s, synced ${t.sync.toFixed(3)} s, commit ${t.commit.toFixed(3)} s`);
    expect(t.sync).toBeGreaterThan(0);
  }, 90_000);
});
