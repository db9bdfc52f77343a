/**
 * Redundant dedicated links during a sync (issue 4, shared/spec/conntrackd.md §4.5): two
 * ctsyncd daemons joined by two veth pairs, each with both links in its config but a
 * different `Default` (A: sync1, B: sync0). Each sends on the link its peer's messages arrive
 * on, so they settle on one; when that link goes down in the middle of 10,000 flows, both
 * move to the other and every flow arrives (FT-FW resends what the dead link swallowed).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns, cleanup, skipNote, skipReason, veth, waitFor } from '../helpers/netns.js';
import { type CellSpec, expectSynced } from './interop/cell.js';
import { type LinkAddresses, writeNodeConf } from './interop/conf.js';
import { flushKernel, injectFlows } from './interop/flows.js';
import { nsExec, SyncNode } from './interop/node.js';

const reason = skipReason(['conntrack']);
const N = 10_000;

/** Link i: sync<i>, 10.20<i>.0.1 (A) ↔ 10.20<i>.0.2 (B). */
const link = (i: 0 | 1, side: 'a' | 'b'): LinkAddresses => ({
  local: `10.20${i}.0.${side === 'a' ? 1 : 2}`,
  peer: `10.20${i}.0.${side === 'a' ? 2 : 1}`,
  iface: `sync${i}`,
});

/** The active device of `-s` ("UDP traffic (active device=…)"). */
const activeDevice = (node: SyncNode) => /traffic \(active device=(\w+)\)/.exec(node.request(['-s']).stdout)?.[1];

describe.skipIf(reason !== '')(`redundant links: failover during a sync${skipNote(reason)}`, () => {
  let a: Netns;
  let b: Netns;
  let dir: string;

  beforeAll(() => {
    a = new Netns('fa');
    b = new Netns('fb');
    for (const i of [0, 1] as const) {
      veth(a, `sync${i}`, b, `sync${i}`);
      a.addr(`sync${i}`, `${link(i, 'a').local}/24`);
      b.addr(`sync${i}`, `${link(i, 'b').local}/24`);
    }
    dir = mkdtempSync(join(tmpdir(), 'ctsync-failover-'));
  });

  afterAll(async () => {
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`two nodes with different Defaults agree on one link; it goes down mid-sync: all ${N} flows arrive over the other`, async () => {
    const conf = (name: string, first: LinkAddresses, second: LinkAddresses) =>
      writeNodeConf({ name, dir, mode: 'FTFW', transport: 'UDP', ...first, extraLinks: [second] });
    const tx = new SyncNode('ctsyncd', a, conf('a', link(1, 'a'), link(0, 'a')));
    const rx = new SyncNode('ctsyncd', b, conf('b', link(0, 'b'), link(1, 'b')));
    const cell = { id: `FTFW/UDP failover ctsyncd→ctsyncd N=${N}` } as CellSpec;
    try {
      await rx.start();
      await tx.start();
      // different Defaults: each sends where its peer's messages arrive, so they agree on one
      let device: string | undefined;
      expect(await waitFor(() => (device = activeDevice(tx)) === activeDevice(rx), 5000, 100)).toBe(true);
      const other = device === 'sync0' ? 'sync1' : 'sync0';

      const load = injectFlows(a, dir, 'tcp4', N);
      await new Promise((r) => setTimeout(r, 150)); // the first chunk is on its way
      nsExec(a, ['ip', 'link', 'set', device!, 'down']);
      await load;
      await expectSynced(cell, tx, rx, N, 'after the failover');
      expect(activeDevice(tx)).toBe(other);
      expect(activeDevice(rx)).toBe(other);
      expect(tx.log()).toContain(`device \`${other}' becomes dedicated link`);
    } catch (err) {
      (err as Error).message += `\n--- A log ---\n${tx.log()}\n--- B log ---\n${rx.log()}`;
      throw err;
    } finally {
      await tx.stop();
      await rx.stop();
      for (const ns of [a, b]) flushKernel(ns);
    }
  }, 90_000);
});
