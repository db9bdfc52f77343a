/**
 * One cell of the interop matrix (issue 4): a sender and a receiver daemon (conntrackd 1.4.7
 * or ctsyncd, any pairing) in two namespaces joined by a veth pair, a mode and a transport.
 * `runCell` creates N flows in the sender's kernel and checks, asking BOTH control clients
 * each time, that they reach the receiver's external cache tuple for tuple; that a mark update
 * and a bulk delete propagate; and that `-c` on the receiver puts the flows into its kernel
 * with state, mark and NAT reply tuple (shared/spec/conntrackd.md §2, §3.3, §5.5).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netns, veth, waitFor } from '../../helpers/netns.js';
import { SYNC_PORT, type SyncMode, type Transport, writeNodeConf } from './conf.js';
import { type FlowKind, firstGroup, flowSource, flushKernel, injectFlows, kernelCount, kernelFlows } from './flows.js';
import { DAEMONS, type Daemon, nsExec, origTuple, SyncNode } from './node.js';

export const SYNC_IFACE = 'sync0';
const ADDR = ['10.200.0.1', '10.200.0.2'] as const;

/** Two namespaces joined by one veth pair `sync0` (10.200.0.1/24 ↔ 10.200.0.2/24). */
export class Topology {
  readonly ns: [Netns, Netns];
  readonly dir = mkdtempSync(join(tmpdir(), 'ctsync-interop-'));

  constructor(prefix: string) {
    this.ns = [new Netns(`${prefix}a`), new Netns(`${prefix}b`)];
    veth(this.ns[0], SYNC_IFACE, this.ns[1], SYNC_IFACE);
    this.ns[0].addr(SYNC_IFACE, `${ADDR[0]}/24`);
    this.ns[1].addr(SYNC_IFACE, `${ADDR[1]}/24`);
  }

  /** Daemons for side 0 (sender) and side 1 (receiver); configs written, nothing started. */
  nodes(cell: CellSpec): [SyncNode, SyncNode] {
    const node = (side: 0 | 1, daemon: Daemon) => {
      const name = `${cell.id.replace(/\W+/g, '_')}-${side}`;
      const paths = writeNodeConf({
        name,
        dir: this.dir,
        mode: cell.mode,
        transport: cell.transport,
        local: ADDR[side],
        peer: ADDR[1 - side],
        iface: SYNC_IFACE,
        expectationSync: cell.expectationSync,
      });
      return new SyncNode(daemon, this.ns[side], paths);
    };
    return [node(0, cell.sender), node(1, cell.receiver)];
  }

  flush(): void {
    for (const ns of this.ns) flushKernel(ns);
  }

  removeDir(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface CellSpec {
  id: string;
  sender: Daemon;
  receiver: Daemon;
  mode: SyncMode;
  transport: Transport;
  kind: FlowKind;
  n: number;
  expectationSync?: boolean;
}

/** Timings of one cell, seconds. */
export interface CellTimes {
  inject: number;
  sync: number;
  commit: number;
}

const SYNC_TIMEOUT_MS = 30_000;
const STEP_TIMEOUT_MS = 15_000;

/**
 * Start both daemons, run `body`, always stop them and flush both kernels. A TCP link is
 * waited for (the client connects lazily; NOTRACK data sent before that is dropped, §4.4).
 */
export async function withDaemons<T>(topo: Topology, cell: CellSpec, body: (tx: SyncNode, rx: SyncNode) => Promise<T>): Promise<T> {
  topo.flush();
  const [tx, rx] = topo.nodes(cell);
  try {
    await rx.start();
    await tx.start();
    if (cell.transport === 'TCP') {
      // conntrackd 1.4.7's `-s link` shows no connection state (and ALARM sends nothing while
      // idle): ask the kernel for the sender's connection to the receiver's server
      const established = () => nsExec(rx.ns, ['ss', '-Htn', 'state', 'established', `( sport = :${SYNC_PORT} )`]).stdout.trim();
      if (!(await waitFor(() => established() !== '', 10_000, 100))) throw new Error(`${cell.id}: no TCP connection to the receiver's port ${SYNC_PORT}`);
    }
    return await body(tx, rx);
  } catch (err) {
    (err as Error).message += `\n--- sender ${tx.daemon} log ---\n${tail(tx.log())}\n--- receiver ${rx.daemon} log ---\n${tail(rx.log())}`;
    throw err;
  } finally {
    await tx.stop();
    await rx.stop();
    topo.flush();
  }
}

const tail = (s: string) => s.split('\n').slice(-25).join('\n');

/** Sorted original tuples of a dump. */
export const tuples = (lines: string[]): string[] => lines.map(origTuple).sort();

/**
 * Poll until the receiver's external cache (receiver's own client) holds `want` objects, then
 * require the same count from both clients and the sender's internal cache, and equal tuples.
 */
export async function expectSynced(cell: CellSpec, tx: SyncNode, rx: SyncNode, want: number, what: string): Promise<void> {
  let seen = -1;
  let own = -1;
  // the sender's count includes DEAD objects until the peer acknowledges their CT_DEL (§2.3)
  const ok = await waitFor(() => (seen = rx.counts().external) === want && (own = tx.counts().internal) === want, SYNC_TIMEOUT_MS, 100);
  if (!ok) throw new Error(`${cell.id} ${what}: receiver ${rx.daemon} external cache has ${seen}, sender ${tx.daemon} internal ${own}, want ${want}`);
  for (const client of DAEMONS) {
    const rc = rx.counts(client);
    const tc = tx.counts(client);
    if (rc.external !== want || tc.internal !== want) {
      throw new Error(`${cell.id} ${what}: via ${client} client: receiver external ${rc.external}, sender internal ${tc.internal}, want ${want}`);
    }
  }
  const sent = tuples(tx.dump('-i'));
  for (const client of DAEMONS) {
    const got = tuples(rx.dump('-e', client));
    if (got.length !== want || got.join('\n') !== sent.join('\n')) {
      const missing = sent.filter((t) => !got.includes(t)).slice(0, 3);
      throw new Error(`${cell.id} ${what}: receiver -e via ${client}: ${got.length} lines, sender -i ${sent.length}; e.g. missing ${missing.join(' | ')}`);
    }
  }
}

/** The `conntrack -L` pattern flow i must match in the receiver's kernel after commit. */
function committedPattern(kind: FlowKind, i: number, mark: number): RegExp {
  const src = flowSource(kind, i).replace(/\./g, '\\.');
  switch (kind) {
    case 'tcp4':
      return new RegExp(`^tcp\\s+6\\s+\\d+ ESTABLISHED src=${src} dst=10\\.0\\.2\\.10 sport=1024 dport=80 src=10\\.0\\.2\\.10 dst=${src} sport=80 dport=1024 \\[ASSURED\\] mark=${mark} `);
    case 'tcp6':
      return new RegExp(`^tcp\\s+6\\s+\\d+ ESTABLISHED src=${src} dst=fd02::10 sport=1024 dport=80 src=fd02::10 dst=${src} sport=80 dport=1024 \\[ASSURED\\] mark=${mark} `);
    case 'snat':
      return new RegExp(`^tcp\\s+6\\s+\\d+ ESTABLISHED src=${src} dst=10\\.0\\.2\\.10 sport=1024 dport=80 src=10\\.0\\.2\\.10 dst=192\\.0\\.2\\.1 sport=80 dport=${20000 + i} \\[ASSURED\\] mark=${mark} `);
    case 'dnat':
      return new RegExp(`^udp\\s+17\\s+\\d+ src=${src} dst=10\\.0\\.2\\.10 sport=1024 dport=53 (\\[UNREPLIED\\] )?src=10\\.0\\.3\\.10 dst=${src} sport=5353 dport=1024 .*mark=${mark} `);
  }
}

/** a flow outside the deleted first group */
const MARKED = 300;
const MARK = 42;

/** The full cell: sync, mark update, bulk delete, commit. Returns its timings. */
export async function runCell(topo: Topology, cell: CellSpec): Promise<CellTimes> {
  return withDaemons(topo, cell, async (tx, rx) => {
    const [txNs, rxNs] = topo.ns;
    const t0 = performance.now();
    const inject = await injectFlows(txNs, topo.dir, cell.kind, cell.n);
    await expectSynced(cell, tx, rx, cell.n, 'initial sync');
    const sync = (performance.now() - t0) / 1000;

    // a mark update (one CT_UPD) reaches the receiver's external cache
    const marked = flowSource(cell.kind, MARKED);
    nsExec(txNs, ['conntrack', '-U', '-s', marked, '-m', String(MARK)]);
    const markLine = () => rx.dump('-e').find((l) => origTuple(l).split(' ')[1] === marked) ?? '(absent)';
    let line = '';
    if (!(await waitFor(() => (line = markLine()).includes(` mark=${MARK} `), STEP_TIMEOUT_MS, 200))) {
      throw new Error(`${cell.id} mark update: receiver -e line of ${marked}: ${line}`);
    }
    for (const client of DAEMONS) {
      const l = rx.dump('-e', client).find((x) => origTuple(x).split(' ')[1] === marked);
      if (!l?.includes(` mark=${MARK} `)) throw new Error(`${cell.id} mark update via ${client} client: ${l}`);
    }

    // one bulk delete of the first 256 flows (CIDR -D: one table walk, §3 of the lab report)
    const deleted = Math.min(256, cell.n);
    const del = nsExec(txNs, ['conntrack', '-D', '-s', firstGroup(cell.kind)]);
    if (del.status !== 0) throw new Error(`${cell.id} conntrack -D: ${del.stderr}`);
    await expectSynced(cell, tx, rx, cell.n - deleted, 'after delete');

    // commit: the receiver's kernel gets every flow with its attributes
    const c0 = performance.now();
    const commit = rx.request(['-c'], rx.daemon, 60_000);
    if (commit.status !== 0) throw new Error(`${cell.id} -c exited ${commit.status}: ${commit.stderr}`);
    const want = cell.n - deleted;
    let have = -1;
    if (!(await waitFor(() => (have = kernelCount(rxNs)) === want, STEP_TIMEOUT_MS, 100))) {
      throw new Error(`${cell.id} commit: receiver kernel has ${have} flows, want ${want}`);
    }
    const commitS = (performance.now() - c0) / 1000;
    const list = kernelFlows(rxNs);
    const probe = (i: number, mark: number) => {
      const src = flowSource(cell.kind, i);
      const l = list.find((x) => origTuple(x).split(' ')[1] === src);
      if (!l || !committedPattern(cell.kind, i, mark).test(l)) throw new Error(`${cell.id} commit: kernel line of flow ${i} (${src}): ${l ?? '(absent)'}`);
    };
    probe(MARKED, MARK);
    probe(cell.n - 1, 0);
    return { inject, sync, commit: commitS };
  });
}

/** nft in a receiver: drop a random 20 % of what arrives for the sync port (sch_netem is not built here). */
export function dropOneInFive(ns: Netns): void {
  const rules = `table inet ctsync_loss {
\tchain input {
\t\ttype filter hook input priority -300;
\t\tudp dport ${SYNC_PORT} numgen random mod 5 == 0 counter drop
\t}
}
`;
  const r = nsExec(ns, ['nft', '-f', '-'], 10_000, rules);
  if (r.status !== 0) throw new Error(`nft loss rule in ${ns.name}: ${r.stderr}`);
}

/** How many sync datagrams the loss rule dropped. */
export function droppedByLoss(ns: Netns): number {
  const out = nsExec(ns, ['nft', 'list', 'table', 'inet', 'ctsync_loss']).stdout;
  return Number(/counter packets (\d+)/.exec(out)?.[1] ?? 0);
}

/**
 * Let FT-FW's HELLO handshake finish before the loss starts: until each side has seen the
 * other's HELLO_BACK, conntrackd takes every HELLO message as a peer restart (it flushes its
 * resend queue and skips gap detection, `ftfw_recv`), so what is lost during the handshake is
 * never resent. ctsyncd does so only for the first HELLO of a session, which still flushes
 * when both sides start together. One flow goes over and is deleted again, then two ALIVE
 * periods pass so both sides have answered.
 */
async function completeHello(txNs: Netns, rx: SyncNode): Promise<void> {
  const flow = ['-p', 'udp', '-s', '10.99.0.1', '-d', '10.99.0.2', '--sport', '1', '--dport', '2'];
  nsExec(txNs, ['conntrack', '-I', ...flow, '-t', '60']);
  if (!(await waitFor(() => rx.counts().external === 1, STEP_TIMEOUT_MS, 100))) throw new Error('the warm-up flow did not reach the receiver');
  nsExec(txNs, ['conntrack', '-D', ...flow]);
  if (!(await waitFor(() => rx.counts().external === 0, STEP_TIMEOUT_MS, 100))) throw new Error('the warm-up flow was not deleted on the receiver');
  await new Promise((res) => setTimeout(res, 2500));
}

/**
 * FT-FW under 20 % loss of the sync datagrams into the receiver: after the load (N flows,
 * then a bulk delete) stops, the receiver's external cache equals the sender's internal cache
 * flow for flow (sorted `-e` tuples = `-i` tuples, both clients).
 */
export async function runLossCell(topo: Topology, cell: CellSpec): Promise<CellTimes & { dropped: number }> {
  return withDaemons(topo, cell, async (tx, rx) => {
    const [txNs, rxNs] = topo.ns;
    await completeHello(txNs, rx);
    dropOneInFive(rxNs);
    try {
      const t0 = performance.now();
      const inject = await injectFlows(txNs, topo.dir, cell.kind, cell.n);
      await expectSynced(cell, tx, rx, cell.n, 'initial sync under loss');
      const sync = (performance.now() - t0) / 1000;
      nsExec(txNs, ['conntrack', '-D', '-s', firstGroup(cell.kind)]);
      await expectSynced(cell, tx, rx, cell.n - Math.min(256, cell.n), 'after delete under loss');
      return { inject, sync, commit: 0, dropped: droppedByLoss(rxNs) };
    } finally {
      nsExec(rxNs, ['nft', 'delete', 'table', 'inet', 'ctsync_loss']);
    }
  });
}
