/**
 * Scenarios 1 and 3-6 of issue 7, run in one daemon session as the lab's measure.sh does:
 * a sender and a receiver daemon (both conntrackd or both ctsyncd) are started and warmed up,
 * then
 *   sync    N flows made in the sender's kernel (`conntrack -R`, one batch): sender and
 *           receiver CPU per synced event, time until the receiver's external cache holds N;
 *   rss     both daemons' RSS growth per 100k cached flows over that sync;
 *   update  a mark on all N flows (the addon's batched update: one `conntrack -U` changes at
 *           most 256): CPU per event until the receiver has counted N updates, time until
 *           every flow in its external cache carries the mark;
 *   bulk    receiver `-f external`, sender `-B`: flows per second into the external cache;
 *   commit  receiver `-c`: time until its kernel holds N, and the daemon's CPU;
 *   delete  the sender's table flushed (N DESTROY events): CPU per event, time until the
 *           receiver's external cache is empty.
 * Every phase checks that all N arrived; one that did not finish records no figure.
 */
import { REQUEST } from '../src/engine/control/requests.js';
import type { Daemon } from '../test/integration/interop/node.js';
import { benchFlows } from './flows.js';
import { CpuWindow, type Lab, type Peer, pollUntil } from './lab.js';
import { countLabel, type MetricDef, RunRecord, type SideName, type Tally } from './metrics.js';
import { hotspotText } from './profile.js';

export const PHASES = ['sync', 'rss', 'update', 'bulk', 'commit', 'delete'] as const;
export type Phase = (typeof PHASES)[number];

export const sideOf = (engine: Daemon): SideName => (engine === 'ctsyncd' ? 'ours' : 'theirs');

const MB = 2 ** 20;
/** flows of the warm-up round, from an index range the measured flows never reach */
const WARM = 2000;
const WARM_BASE = 1 << 20;
const MARK = 42;

/** Bounded waits: generous for the machine's worst case, never open-ended. */
const waitMs = (n: number) => 20_000 + n / 2;

function defs(n: number, phases: ReadonlySet<Phase>): MetricDef[] {
  const k = countLabel(n);
  const pair = { ours: 'ctsyncd', theirs: 'conntrackd' };
  const out: MetricDef[] = [
    { id: `sync.tx.${n}`, label: `sync ${k}: sender CPU per event`, unit: 'µs', ...pair, target: { ratioMax: 0.5 } },
    { id: `sync.rx.${n}`, label: `sync ${k}: receiver CPU per event`, unit: 'µs', ...pair, target: { ratioMax: 0.5 } },
    { id: `sync.full.${n}`, label: `sync ${k}: until the receiver has all`, unit: 's', ...pair },
  ];
  if (phases.has('rss')) {
    out.push(
      { id: `rss.tx.${n}`, label: `RSS per 100k cached flows, sender (${k} run)`, unit: 'MB', ...pair, target: { ratioMax: 1.5 } },
      { id: `rss.rx.${n}`, label: `RSS per 100k cached flows, receiver (${k} run)`, unit: 'MB', ...pair, target: { ratioMax: 1.5 } },
    );
  }
  if (phases.has('update')) {
    out.push(
      { id: `update.tx.${n}`, label: `update ${k} marks: sender CPU per event`, unit: 'µs', ...pair },
      { id: `update.rx.${n}`, label: `update ${k} marks: receiver CPU per event`, unit: 'µs', ...pair },
      { id: `update.time.${n}`, label: `update ${k} marks: until the receiver has all`, unit: 's', ...pair },
    );
  }
  if (phases.has('bulk')) out.push({ id: `bulk.rate.${n}`, label: `bulk send (-B) of ${k}`, unit: 'ev/s', ...pair, target: { ratioMin: 1 } });
  if (phases.has('commit')) {
    out.push(
      { id: `commit.time.${n}`, label: `commit (-c) of ${k}: until the kernel has all`, unit: 's', ...pair, target: { ratioMax: 0.3 } },
      { id: `commit.cpu.${n}`, label: `commit (-c) of ${k}: daemon CPU`, unit: 's', ...pair },
    );
  }
  if (phases.has('delete')) {
    out.push(
      { id: `delete.tx.${n}`, label: `delete ${k}: sender CPU per event`, unit: 'µs', ...pair },
      { id: `delete.rx.${n}`, label: `delete ${k}: receiver CPU per event`, unit: 'µs', ...pair },
      { id: `delete.time.${n}`, label: `delete ${k}: until the receiver has none`, unit: 's', ...pair },
    );
  }
  return out;
}

export function defineSessionMetrics(tally: Tally, n: number, phases: ReadonlySet<Phase>): void {
  for (const d of defs(n, phases)) tally.define(d);
}

/**
 * A short sync and delete before measuring: a daemon runs for months, so the figures are those
 * of a warm one (JIT-compiled code for ctsyncd, touched memory for both).
 */
export async function warmUp(lab: Lab, tx: Peer, rx: Peer): Promise<void> {
  await lab.inject(0, WARM_BASE, WARM);
  if ((await pollUntil(async () => (await rx.external()) === WARM, 20_000)) === null) throw new Error(`warm-up: the receiver did not get ${WARM} flows`);
  await lab.tables[0].flush();
  const empty = async () => (await rx.external()) === 0 && (await tx.internal()) === 0;
  if ((await pollUntil(empty, 20_000)) === null) throw new Error('warm-up: the caches did not empty after the flush');
}

/** Wait until the peers stop using CPU (< 5 ms in 200 ms), at most 10 s: the next phase starts clean. */
export async function settle(peers: Peer[]): Promise<void> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const w = new CpuWindow(peers);
    await new Promise((r) => setTimeout(r, 200));
    if (w.stop().cpu.every((c) => c < 0.005)) return;
  }
}

/** What a CpuWindow measured over a phase of the pair. */
type Measured = { cpu: number[]; wall: number };
const phaseText = (p: Measured) => `${p.wall.toFixed(2)} s, CPU sender ${p.cpu[0].toFixed(3)} s, receiver ${p.cpu[1].toFixed(3)} s`;
/** `; threads (s): sender main 1.20, V8 DefaultWorke 0.31, …` when a daemon has more than one busy thread */
function threadText(split: Array<Array<[string, number]>>, roles = ['sender', 'receiver']): string {
  const busy = split.map((t) => t.filter(([, s]) => s >= 0.005));
  if (busy.every((t) => t.length <= 1)) return '';
  const one = (t: Array<[string, number]>) => t.map(([name, s]) => `${name} ${s.toFixed(2)}`).join(', ');
  return `; threads (s): ${busy.map((t, i) => `${roles[i]} ${one(t)}`).join('; ')}`;
}
const perEventUs = (cpuS: number, n: number) => (cpuS / n) * 1e6;

/** The phases of one session on a running, warmed-up pair; each records its figures or says why not. */
class Session {
  /** netlink overruns of both daemons and sync messages the receiver saw lost, at the last look */
  private seen = [0, 0];

  constructor(
    private readonly lab: Lab,
    private readonly n: number,
    private readonly tx: Peer,
    private readonly rx: Peer,
    private readonly rec: RunRecord,
    private readonly say: (s: string) => void,
  ) {}

  private async troubles(): Promise<number[]> {
    return [(await this.tx.overruns()) + (await this.rx.overruns()), await this.rx.lost()];
  }

  /** What went wrong since the last look, repaired: overruns (by a resync), losses (by resends). */
  async news(): Promise<string> {
    const [before, now] = [this.seen, (this.seen = await this.troubles())];
    const overruns = now[0] - before[0];
    const lost = now[1] - before[1];
    return `${overruns ? `; ${overruns} netlink overruns, repaired by a resync` : ''}${lost ? `; ${lost} sync messages lost and resent` : ''}`;
  }

  private tell(what: string, text: string): void {
    this.say(`${this.tx.node.daemon} ${what} ${this.n}: ${text}`);
  }

  private record(phase: string, p: Measured, wall = p.wall): void {
    this.rec.set(`${phase}.tx.${this.n}`, perEventUs(p.cpu[0], this.n));
    this.rec.set(`${phase}.rx.${this.n}`, perEventUs(p.cpu[1], this.n));
    this.rec.set(`${phase}.${phase === 'sync' ? 'full' : 'time'}.${this.n}`, wall);
  }

  async start(): Promise<void> {
    await warmUp(this.lab, this.tx, this.rx);
    await settle([this.tx, this.rx]);
    await this.news();
  }

  /** N flows by `conntrack -R`; true when they all arrived, tuple for tuple. */
  async sync(rss: boolean): Promise<boolean> {
    const { n, tx, rx } = this;
    const rss0 = [tx.rss(), rx.rss()];
    const w = new CpuWindow([tx, rx]);
    await this.lab.inject(0, 0, n);
    if ((await pollUntil(async () => (await rx.external()) === n, waitMs(n))) === null) {
      this.tell('sync', `the receiver's external cache has ${await rx.external()} of ${n} — did not finish`);
      return false;
    }
    const sync = w.stop();
    const rss1 = [tx.rss(), rx.rss()];
    const [sent, got] = [await tx.tuples('internal'), await rx.tuples('external')];
    if (sent.length !== n || got.join('\n') !== sent.join('\n')) {
      this.tell('sync', `sender internal ${sent.length}, receiver external ${got.length} flows, not the same tuples — did not finish`);
      return false;
    }
    this.record('sync', sync);
    this.tell('sync', `${phaseText(sync)}${await this.news()}${threadText(sync.threads)}`);
    if (rss) {
      this.rec.set(`rss.tx.${n}`, (((rss1[0] - rss0[0]) / n) * 100_000) / MB);
      this.rec.set(`rss.rx.${n}`, (((rss1[1] - rss0[1]) / n) * 100_000) / MB);
    }
    return true;
  }

  /**
   * A mark on every flow. The CPU figure ends when the receiver has counted N updates; as a
   * resent message counts again, the flows are then checked in its cache (dumps, 0.5 s apart)
   * until all carry the mark, and the time runs until then.
   */
  async update(): Promise<void> {
    const { n, tx, rx } = this;
    await settle([tx, rx]);
    const counted = async () => (await rx.caches()).external?.updated ?? 0;
    const before = await counted();
    const w = new CpuWindow([tx, rx]);
    const r = await this.lab.tables[0].updateBatch(benchFlows(0, n, MARK));
    if (r.some((e) => e !== 0)) throw new Error(`batched update: ${r.filter((e) => e !== 0).length} of ${n} failed`);
    const done = await pollUntil(async () => (await counted()) >= before + n, waitMs(n));
    const upd = w.stop();
    const marked = async () => (await rx.ask(REQUEST.CT_DUMP_EXTERNAL)).split('\n').filter((l) => l.includes(` mark=${MARK} `)).length;
    let have = await marked();
    const late = have === n ? undefined : await pollUntil(async () => (have = await marked()) === n, 20_000, 500);
    if (done === null || late === null) {
      this.tell('update', `the receiver has ${have} of ${n} flows marked (${(await counted()) - before} updates counted) — did not finish`);
      return;
    }
    const wall = late === undefined ? upd.wall : (late - w.t0) / 1000;
    this.record('update', upd, wall);
    const resent = late === undefined ? '' : `; ${(await counted()) - before} updates counted, all ${n} marked after ${wall.toFixed(2)} s`;
    this.tell('update', `${phaseText(upd)}${resent}${await this.news()}`);
  }

  /** Receiver `-f external`, sender `-B`: flows per second into the external cache. */
  async bulk(): Promise<void> {
    const { n, tx, rx } = this;
    await this.news();
    await rx.ask(REQUEST.CT_FLUSH_EXT_CACHE);
    if ((await pollUntil(async () => (await rx.external()) === 0, 10_000)) === null) throw new Error('-f external left flows in the external cache');
    await settle([tx, rx]);
    const w = new CpuWindow([tx, rx]);
    await tx.ask(REQUEST.SEND_BULK);
    const done = await pollUntil(async () => (await rx.external()) === n, waitMs(n));
    const bulk = w.stop();
    if (done === null) return this.tell('bulk', `the receiver has ${await rx.external()} of ${n} — did not finish`);
    this.rec.set(`bulk.rate.${n}`, n / bulk.wall);
    this.tell('bulk', `${phaseText(bulk)}${await this.news()}`);
  }

  /** Receiver `-c`: time until its kernel holds N, and its CPU. */
  async commit(): Promise<void> {
    const { n, tx, rx } = this;
    const kernel = this.lab.tables[1];
    if ((await kernel.count()) !== 0) throw new Error('the receiver kernel is not empty before the commit');
    await settle([tx, rx]);
    const w = new CpuWindow([rx]);
    // the reply comes when the commit is done; its kernel count is what is timed
    const reply = rx.ask(REQUEST.CT_COMMIT).catch((e: unknown) => e);
    const done = await pollUntil(async () => (await kernel.count()) === n, waitMs(n));
    const commit = w.stop();
    await Promise.race([reply, new Promise((r) => setTimeout(r, waitMs(n)))]);
    if (done === null) return this.tell('commit', `the kernel has ${await kernel.count()} of ${n} — did not finish`);
    this.rec.set(`commit.time.${n}`, commit.wall);
    this.rec.set(`commit.cpu.${n}`, commit.cpu[0]);
    this.tell('commit', `${commit.wall.toFixed(2)} s, CPU receiver ${commit.cpu[0].toFixed(3)} s${await this.news()}${threadText(commit.threads, ['receiver'])}`);
  }

  /** The sender's table flushed: N DESTROY events until the receiver's cache is empty. */
  async delete(): Promise<void> {
    const { n, tx, rx } = this;
    await settle([tx, rx]);
    const w = new CpuWindow([tx, rx]);
    await this.lab.tables[0].flush();
    const done = await pollUntil(async () => (await rx.external()) === 0, waitMs(n));
    const del = w.stop();
    if (done === null) return this.tell('delete', `the receiver still has ${await rx.external()} — did not finish`);
    this.record('delete', del);
    this.tell('delete', `${phaseText(del)}${await this.news()}`);
  }
}

/**
 * One session of `engine` at N flows; every figure goes to the tally (null if unfinished).
 * With `profileDir` (ctsyncd run with bench/cpu-profile.mjs), the hottest functions of the
 * sender and the receiver over the whole session are said at the end.
 */
export async function runSession(lab: Lab, engine: Daemon, n: number, phases: ReadonlySet<Phase>, tally: Tally, say: (s: string) => void, profileDir?: string): Promise<void> {
  const rec = new RunRecord(tally, sideOf(engine), defs(n, phases).map((d) => d.id));
  const pids: number[] = [];
  try {
    await lab.pair(engine, async (tx, rx) => {
      pids.push(tx.pid, rx.pid);
      const session = new Session(lab, n, tx, rx, rec, say);
      await session.start();
      if (!(await session.sync(phases.has('rss')))) return;
      if (phases.has('update')) await session.update();
      if (phases.has('bulk')) await session.bulk();
      if (phases.has('commit')) await session.commit();
      if (phases.has('delete')) await session.delete();
    });
  } catch (err) {
    say(`${engine} session at ${n} flows failed: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    rec.close();
  }
  if (profileDir && engine === 'ctsyncd' && pids.length === 2) {
    say(`${engine} ${n} sender profile: ${hotspotText(`${profileDir}/${pids[0]}.cpuprofile`)}`);
    say(`${engine} ${n} receiver profile: ${hotspotText(`${profileDir}/${pids[1]}.cpuprofile`)}`);
  }
}
