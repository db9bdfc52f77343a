/**
 * One cell of the interop matrix (issue 4): a sender and a receiver daemon (conntrackd 1.4.7
 * or ctsyncd, any pairing) in two namespaces joined by a veth pair, a mode and a transport.
 * `runCell` creates N flows in the sender's kernel and checks that they reach the receiver's
 * external cache tuple for tuple and that a mark update propagates (asked through BOTH control
 * clients), that a bulk delete propagates, and that `-c` on the receiver puts every flow into
 * its kernel as the sender's kernel has it: state, flags, mark, NAT reply tuple, and a
 * timeout within bounds (shared/spec/conntrackd.md §2, §3.3, §5.5). Waits poll the control
 * sockets from this process (no client program per look); the checks run the programs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { cleanup, Netns, veth, waitFor } from '../../helpers/netns.js';
import { SYNC_PORT, type SyncMode, type Transport, writeNodeConf } from './conf.js';
import { FLOW_TIMEOUT_S, type FlowKind, firstGroup, flowSource, flushKernel, injectFlows, kernelCount, kernelFlows } from './flows.js';
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

/**
 * The Topology of the calling describe block: built before its tests, torn down after them
 * (with every namespace and process the file made). Returns its getter.
 */
export function topologyFor(prefix: string): () => Topology {
  let topo: Topology | undefined;
  beforeAll(() => {
    topo = new Topology(prefix);
  });
  afterAll(async () => {
    await cleanup();
    topo?.removeDir();
  });
  return () => topo!;
}

/** The three directions of every interop cell: each way with conntrackd 1.4.7, and ctsyncd with itself. */
export const DIRECTIONS: ReadonlyArray<[Daemon, Daemon]> = [
  ['conntrackd', 'ctsyncd'],
  ['ctsyncd', 'conntrackd'],
  ['ctsyncd', 'ctsyncd'],
];

/** Flows per cell (issue 4: 10,000 in each). */
export const CELL_FLOWS = 10_000;

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
const POLL_MS = 50;

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
 * Poll (in-process, over the control sockets) until the receiver's external cache holds
 * `want` objects and the sender's internal cache as many; then require the same count from
 * each of `clients` (the client programs; none: in-process only) and the receiver's `-e`
 * tuples, as each client prints them, equal to the sender's `-i` tuples. Returns the
 * receiver's `-e` lines per client.
 */
export async function expectSynced(
  cell: CellSpec,
  tx: SyncNode,
  rx: SyncNode,
  want: number,
  what: string,
  clients: readonly Daemon[] = DAEMONS,
): Promise<Map<Daemon | 'socket', string[]>> {
  let seen = -1;
  let own = -1;
  // the sender's count includes DEAD objects until the peer acknowledges their CT_DEL (§2.3)
  const ok = await waitFor(
    async () => (seen = (await rx.poll())?.external ?? -1) === want && (own = (await tx.poll())?.internal ?? -1) === want,
    SYNC_TIMEOUT_MS,
    POLL_MS,
  );
  if (!ok) throw new Error(`${cell.id} ${what}: receiver ${rx.daemon} external cache has ${seen}, sender ${tx.daemon} internal ${own}, want ${want}`);
  for (const client of clients) {
    const rc = rx.counts(client);
    const tc = tx.counts(client);
    if (rc.external !== want || tc.internal !== want) {
      throw new Error(`${cell.id} ${what}: via ${client} client: receiver external ${rc.external}, sender internal ${tc.internal}, want ${want}`);
    }
  }
  const sent = tuples(await tx.pollDump('-i'));
  const dumps = new Map<Daemon | 'socket', string[]>();
  if (clients.length === 0) dumps.set('socket', await rx.pollDump('-e'));
  for (const client of clients) dumps.set(client, rx.dump('-e', client));
  for (const [client, lines] of dumps) {
    const got = tuples(lines);
    if (got.length !== want || got.join('\n') !== sent.join('\n')) {
      const have = new Set(got);
      const missing = sent.filter((t) => !have.has(t)).slice(0, 3);
      throw new Error(`${cell.id} ${what}: receiver -e via ${client}: ${got.length} lines, sender -i ${sent.length}; e.g. missing ${missing.join(' | ')}`);
    }
  }
  return dumps;
}

/** A `conntrack -L` line as the receiver must reproduce it: everything but timeout, use count and id. */
interface KernelFlow {
  timeout: number;
  attrs: string;
}

/**
 * The kernel table of a namespace by original tuple, without the sync link's own flows.
 * `conntrack -L` prints `proto protonum timeout [state] src=… … mark=… use=…`.
 */
function kernelTable(ns: Netns): Map<string, KernelFlow> {
  const table = new Map<string, KernelFlow>();
  for (const line of kernelFlows(ns)) {
    if (line.includes('=10.200.0.')) continue;
    const words = line.split(/\s+/);
    const attrs = [words[0], words[1], ...words.slice(3).filter((w) => !/^(use|id)=/.test(w))].join(' ');
    table.set(origTuple(line), { timeout: Number(words[2]), attrs });
  }
  return table;
}

/**
 * The timeouts a committed flow may have, given the sender's. The receiver commits the last
 * NTA_TIMEOUT less the time since it arrived (§3.3), so with FT-FW and NOTRACK both tick
 * down together (within a second or two). ALARM refreshes resend the object as cached at its
 * last event, with that event's timeout: the receiver may be ahead by the flow's age, up to
 * the timeout it was created with, but never behind.
 */
const TIMEOUT_SLACK_S = 5;
function timeoutBounds(mode: SyncMode, sender: number): [number, number] {
  return [sender - TIMEOUT_SLACK_S, mode === 'ALARM' ? FLOW_TIMEOUT_S : sender + TIMEOUT_SLACK_S];
}

/**
 * After `-c`, every flow of the sender's kernel is in the receiver's kernel with the same
 * state, flags, reply tuple (NAT) and mark, and a timeout within timeoutBounds(); and the
 * receiver has nothing else.
 */
function expectCommitted(cell: CellSpec, txNs: Netns, rxNs: Netns, want: number): void {
  const sent = kernelTable(txNs);
  const got = kernelTable(rxNs);
  if (sent.size !== want || got.size !== want) throw new Error(`${cell.id} commit: sender kernel has ${sent.size} flows, receiver ${got.size}, want ${want}`);
  for (const [tuple, tx] of sent) {
    const rx = got.get(tuple);
    if (rx === undefined) throw new Error(`${cell.id} commit: ${tuple} is not in the receiver's kernel`);
    if (rx.attrs !== tx.attrs) throw new Error(`${cell.id} commit: receiver kernel has\n  ${rx.attrs}\nsender has\n  ${tx.attrs}`);
    const [lo, hi] = timeoutBounds(cell.mode, tx.timeout);
    if (!(rx.timeout >= lo && rx.timeout <= hi)) {
      throw new Error(`${cell.id} commit: ${tuple} has timeout ${rx.timeout} in the receiver's kernel, want ${lo}..${hi} (sender: ${tx.timeout})`);
    }
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
    await expectSynced(cell, tx, rx, cell.n, 'initial sync', []);
    const sync = (performance.now() - t0) / 1000;

    // a mark update (one CT_UPD) reaches the receiver's external cache; then both caches are
    // checked through both client programs, the marked line included
    const marked = flowSource(cell.kind, MARKED);
    nsExec(txNs, ['conntrack', '-U', '-s', marked, '-m', String(MARK)]);
    const markLine = (lines: string[]) => lines.find((l) => origTuple(l).split(' ')[1] === marked) ?? '(absent)';
    let line = '';
    // (a whole dump per look: not too often; ALARM sends the update within RefreshTime)
    if (!(await waitFor(async () => (line = markLine(await rx.pollDump('-e'))).includes(` mark=${MARK} `), STEP_TIMEOUT_MS, 4 * POLL_MS))) {
      throw new Error(`${cell.id} mark update: receiver -e line of ${marked}: ${line}`);
    }
    for (const [client, lines] of await expectSynced(cell, tx, rx, cell.n, 'after the mark update')) {
      if (!markLine(lines).includes(` mark=${MARK} `)) throw new Error(`${cell.id} mark update via ${client} client: ${markLine(lines)}`);
    }

    // one bulk delete of the first 256 flows (CIDR -D: one table walk, §3 of the lab report)
    const deleted = Math.min(256, cell.n);
    const del = nsExec(txNs, ['conntrack', '-D', '-s', firstGroup(cell.kind)]);
    if (del.status !== 0) throw new Error(`${cell.id} conntrack -D: ${del.stderr}`);
    await expectSynced(cell, tx, rx, cell.n - deleted, 'after delete', []);

    // commit: the receiver's kernel gets every flow with its attributes
    const c0 = performance.now();
    const commit = rx.request(['-c'], rx.daemon, 60_000);
    if (commit.status !== 0) throw new Error(`${cell.id} -c exited ${commit.status}: ${commit.stderr}`);
    const want = cell.n - deleted;
    let have = -1;
    if (!(await waitFor(() => (have = kernelCount(rxNs)) === want, STEP_TIMEOUT_MS, 2 * POLL_MS))) {
      throw new Error(`${cell.id} commit: receiver kernel has ${have} flows, want ${want}`);
    }
    const commitS = (performance.now() - c0) / 1000;
    expectCommitted(cell, txNs, rxNs, want);
    return { inject, sync, commit: commitS };
  });
}

/** Byte 1 of a sync message (nethdr flags, §1.1), as nft addresses it after the UDP header. */
const NETHDR_FLAGS = '@th,72,8';
const NET_F_HELLO = 0x20;

/**
 * nft in a node: drop a random 20 % of the sync datagrams that arrive (sch_netem is not built
 * here), and count the sync datagrams it sends without HELLO (see handshakeDone).
 */
export function dropOneInFive(ns: Netns): void {
  const rules = `table inet ctsync_loss {
\tchain input {
\t\ttype filter hook input priority -300;
\t\tudp dport ${SYNC_PORT} numgen random mod 5 == 0 counter drop
\t}
\tchain output {
\t\ttype filter hook output priority -300;
\t\tudp dport ${SYNC_PORT} ${NETHDR_FLAGS} & ${NET_F_HELLO} == 0 counter
\t}
}
`;
  const r = nsExec(ns, ['nft', '-f', '-'], 10_000, rules);
  if (r.status !== 0) throw new Error(`nft loss rule in ${ns.name}: ${r.stderr}`);
}

function lossCounters(ns: Netns): { dropped: number; sentWithoutHello: number } {
  const out = nsExec(ns, ['nft', 'list', 'table', 'inet', 'ctsync_loss']).stdout;
  return {
    dropped: Number(/counter packets (\d+) bytes \d+ drop/.exec(out)?.[1] ?? 0),
    sentWithoutHello: Number(/== 0x0 counter packets (\d+)/.exec(out)?.[1] ?? 0),
  };
}

/** How many sync datagrams the loss rule dropped. */
export function droppedByLoss(ns: Netns): number {
  return lossCounters(ns).dropped;
}

/**
 * Until a node has seen its peer's HELLO_BACK it says HELLO on every message, and conntrackd
 * takes every HELLO message as a peer restart: it skips gap detection for it and flushes its
 * resend queue (§2.3, `ftfw_recv`). What is lost before both handshakes are over is never
 * resent, by conntrackd's design. So where conntrackd takes part, the load starts once each
 * node has sent a message without HELLO — seen on the wire, no fixed sleep; the handshake
 * itself runs under loss.
 */
async function handshakeDone(cell: CellSpec, topo: Topology): Promise<void> {
  if (!(await waitFor(() => topo.ns.every((ns) => lossCounters(ns).sentWithoutHello > 0), STEP_TIMEOUT_MS, POLL_MS))) {
    throw new Error(`${cell.id}: the FT-FW handshake did not complete under loss`);
  }
}

/**
 * A cache dump line without its age suffix and reply tuple: `-i` prints the reply tuple the
 * kernel reported, `-e` only what the wire carries (none without NAT, §1.3).
 */
const flowState = (line: string) =>
  line.replace(/\s*\[(active since|expires in) \d+s\]$/, '').replace(/(src=\S+ dst=\S+ sport=\S+ dport=\S+ )src=\S+ dst=\S+ sport=\S+ dport=\S+ /, '$1');

/**
 * FT-FW with 20 % of the sync datagrams dropped in both directions (data, ACK, NACK, ALIVE,
 * HELLO) from before the daemons start: after the load (N flows, then a bulk delete) stops,
 * the receiver's external cache equals the sender's internal cache flow for flow (`-e` = `-i`
 * line for line, both clients). ctsyncd → ctsyncd loads at once; with conntrackd, see
 * handshakeDone.
 */
export async function runLossCell(topo: Topology, cell: CellSpec): Promise<CellTimes & { dropped: number }> {
  for (const ns of topo.ns) dropOneInFive(ns);
  try {
    return await withDaemons(topo, cell, async (tx, rx) => {
      const [txNs] = topo.ns;
      if (cell.sender === 'conntrackd' || cell.receiver === 'conntrackd') await handshakeDone(cell, topo);
      const t0 = performance.now();
      const inject = await injectFlows(txNs, topo.dir, cell.kind, cell.n);
      await expectSynced(cell, tx, rx, cell.n, 'initial sync under loss', []);
      const sync = (performance.now() - t0) / 1000;
      nsExec(txNs, ['conntrack', '-D', '-s', firstGroup(cell.kind)]);
      const want = cell.n - Math.min(256, cell.n);
      const received = await expectSynced(cell, tx, rx, want, 'after delete under loss');
      const sent = (await tx.pollDump('-i')).map(flowState).sort();
      for (const [client, lines] of received) {
        const got = lines.map(flowState).sort();
        const diff = got.findIndex((l, i) => l !== sent[i]);
        if (diff >= 0) throw new Error(`${cell.id} under loss: receiver -e via ${client}:\n  ${got[diff]}\nsender -i:\n  ${sent[diff]}`);
      }
      return { inject, sync, commit: 0, dropped: topo.ns.reduce((n, ns) => n + droppedByLoss(ns), 0) };
    });
  } finally {
    for (const ns of topo.ns) nsExec(ns, ['nft', 'delete', 'table', 'inet', 'ctsync_loss']);
  }
}
