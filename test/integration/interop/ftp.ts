/**
 * FTP expectation cells (issue 4, `ExpectationSync On`): real FTP control sessions in the
 * sender's namespace, each given the kernel's ftp helper by an nft `ct helper` rule, so the
 * helper creates one real expectation per PORT command. The cell checks that masters and
 * expectations reach the receiver's external caches (asked through both control clients),
 * that `-c` commits the masters (with their helper) before the expectations so the
 * expectations land in the receiver's kernel, and that deleting the masters on the sender
 * removes everything on the receiver (shared/spec/conntrackd.md §1.8, §3.3, §3.6).
 */
import { type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Netns } from '../../helpers/netns.js';
import { waitFor } from '../../helpers/netns.js';
import { type CellSpec, type CellTimes, type Topology, tuples, withDaemons } from './cell.js';
import { DAEMONS, nsExec, type SyncNode } from './node.js';

const SESSION_SCRIPT = fileURLToPath(new URL('./ftp-session.mjs', import.meta.url));
const CLIENT = '10.7.0.1';
const SERVER = '10.7.0.2';
/** First data port the clients announce in PORT; session i announces BASE_PORT + i. */
const BASE_PORT = 40000;
const TIMEOUT_MS = 30_000;

/** The nft rule that gives FTP control connections the kernel's ftp helper. */
const HELPER_RULES = `table inet ctsync_ftp {
\tct helper ftp-std {
\t\ttype "ftp" protocol tcp
\t\tl3proto inet
\t}
\tchain output {
\t\ttype filter hook output priority filter;
\t\ttcp dport 21 ct helper set "ftp-std"
\t}
}
`;

/**
 * `n` FTP control sessions held open in `ns` (client and server addresses on its loopback),
 * each with one expectation in ns's kernel. Resolves once every PORT command was answered.
 */
async function startSessions(ns: Netns, n: number): Promise<ChildProcess> {
  for (const a of [CLIENT, SERVER]) nsExec(ns, ['ip', 'addr', 'replace', `${a}/32`, 'dev', 'lo']);
  nsExec(ns, ['nft', 'delete', 'table', 'inet', 'ctsync_ftp']);
  const nft = nsExec(ns, ['nft', '-f', '-'], 10_000, HELPER_RULES);
  if (nft.status !== 0) throw new Error(`nft ct helper rule in ${ns.name}: ${nft.stderr}`);
  const child = ns.spawn(process.execPath, [SESSION_SCRIPT, SERVER, CLIENT, String(n), String(BASE_PORT)]);
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), TIMEOUT_MS);
    createInterface({ input: child.stdout! }).on('line', (l) => {
      if (l === `ready ${n}`) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    child.once('exit', () => resolve(false));
  });
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`FTP sessions in ${ns.name} did not start: ${stderr}`);
  }
  return child;
}

/** An expectation as both `conntrack -L expect` and `-i/-e expect` print it, without timeout or age. */
export function expectationKey(line: string): string {
  return line
    .replace(/^\d+\s+/, '')
    .replace(/\s*\[(active since|expires in) \d+s\]$/, '')
    .trim();
}

const kernelExpectations = (ns: Netns): string[] =>
  nsExec(ns, ['conntrack', '-L', 'expect'])
    .stdout.split('\n')
    .filter((l) => l.includes('proto='))
    .map(expectationKey)
    .sort();

/** FTP masters (helper=ftp) of a namespace's kernel, as original tuples. */
const kernelMasters = (ns: Netns): string[] =>
  tuples(
    nsExec(ns, ['conntrack', '-L', '-p', 'tcp', '--dport', '21'])
      .stdout.split('\n')
      .filter((l) => l.includes(' helper=ftp')),
  );

const cacheExpectations = (node: SyncNode, which: '-i' | '-e', client = node.daemon): string[] =>
  node.dump(which, client, 'expect').map(expectationKey).sort();

/** The receiver's external caches (both clients) hold the sender's masters and expectations. */
async function expectReplicated(cell: CellSpec, tx: SyncNode, rx: SyncNode, want: string[], masters: string[], what: string): Promise<void> {
  let got: string[] = [];
  const same = (a: string[], b: string[]) => a.join('\n') === b.join('\n');
  if (!(await waitFor(() => same((got = cacheExpectations(rx, '-e')), want), TIMEOUT_MS, 100))) {
    throw new Error(`${cell.id} ${what}: receiver -e expect has ${got.length} lines, want ${want.length}:\n${got.slice(0, 3).join('\n')}\nwant e.g.\n${want.slice(0, 3).join('\n')}`);
  }
  for (const client of DAEMONS) {
    const ext = cacheExpectations(rx, '-e', client);
    const int = cacheExpectations(tx, '-i', client);
    if (!same(ext, want) || !same(int, want)) {
      throw new Error(`${cell.id} ${what} via ${client} client: receiver -e expect ${ext.length}, sender -i expect ${int.length}, want ${want.length}`);
    }
    const ct = tuples(rx.dump('-e', client));
    if (!same(ct, masters)) throw new Error(`${cell.id} ${what} via ${client} client: receiver -e has ${ct.length} flows, want the ${masters.length} masters`);
  }
}

/**
 * The expectation cell: `cell.n` FTP sessions in the sender's kernel; their masters and
 * expectations replicate, `-c` puts both into the receiver's kernel, and deleting the masters
 * on the sender empties the receiver's caches.
 */
export async function runExpectCell(topo: Topology, cell: CellSpec): Promise<CellTimes> {
  return withDaemons(topo, { ...cell, expectationSync: true }, async (tx, rx) => {
    const [txNs, rxNs] = topo.ns;
    const t0 = performance.now();
    const sessions = await startSessions(txNs, cell.n);
    try {
      const inject = (performance.now() - t0) / 1000;
      const want = kernelExpectations(txNs);
      const masters = kernelMasters(txNs);
      if (want.length !== cell.n || masters.length !== cell.n) {
        throw new Error(`${cell.id}: sender kernel has ${want.length} expectations and ${masters.length} ftp masters, want ${cell.n}`);
      }
      await expectReplicated(cell, tx, rx, want, masters, 'initial sync');
      const sync = (performance.now() - t0) / 1000;

      const c0 = performance.now();
      const commit = rx.request(['-c'], rx.daemon, 60_000);
      if (commit.status !== 0) throw new Error(`${cell.id} -c exited ${commit.status}: ${commit.stderr}`);
      let got: string[] = [];
      if (!(await waitFor(() => (got = kernelExpectations(rxNs)).join('\n') === want.join('\n'), TIMEOUT_MS, 100))) {
        throw new Error(`${cell.id} commit: receiver kernel has ${got.length} expectations, want ${want.length}:\n${got.slice(0, 3).join('\n')}\nwant e.g.\n${want.slice(0, 3).join('\n')}\n${commit.stdout}`);
      }
      const committed = kernelMasters(rxNs);
      if (committed.join('\n') !== masters.join('\n')) throw new Error(`${cell.id} commit: receiver kernel has ${committed.length} ftp masters, want ${masters.length}`);
      const commitS = (performance.now() - c0) / 1000;

      // the masters go: the kernel removes their expectations, and both deletes replicate
      const del = nsExec(txNs, ['conntrack', '-D', '-p', 'tcp', '--dport', '21']);
      if (del.status !== 0) throw new Error(`${cell.id} conntrack -D: ${del.stderr}`);
      if (kernelExpectations(txNs).length !== 0) throw new Error(`${cell.id}: the sender kernel kept expectations of deleted masters`);
      await expectReplicated(cell, tx, rx, [], [], 'after the masters are deleted');
      return { inject, sync, commit: commitS };
    } finally {
      sessions.kill('SIGKILL');
      nsExec(txNs, ['nft', 'delete', 'table', 'inet', 'ctsync_ftp']);
    }
  });
}
