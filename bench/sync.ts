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

const phaseText = (p: { cpu: number[]; wall: number }) => `${p.wall.toFixed(2)} s, CPU sender ${p.cpu[0].toFixed(3)} s, receiver ${p.cpu[1].toFixed(3)} s`;
/** `; threads (s): sender main 1.20, V8 DefaultWorke 0.31, …` when a daemon has more than one busy thread */
function threadText(split: Array<Array<[string, number]>>): string {
  const busy = split.map((t) => t.filter(([, s]) => s >= 0.005));
  if (busy.every((t) => t.length <= 1)) return '';
  const one = (t: Array<[string, number]>) => t.map(([name, s]) => `${name} ${s.toFixed(2)}`).join(', ');
  return `; threads (s): sender ${one(busy[0])}; receiver ${one(busy[1])}`;
}
const perEventUs = (cpuS: number, n: number) => (cpuS / n) * 1e6;

/**
 * One session of `engine` at N flows; every figure goes to the tally (null if unfinished).
 * With `profileDir` (ctsyncd run with bench/cpu-profile.mjs), the hottest functions of the
 * sender and the receiver over the whole session are said at the end.
 */
export async function runSession(lab: Lab, engine: Daemon, n: number, phases: ReadonlySet<Phase>, tally: Tally, say: (s: string) => void, profileDir?: string): Promise<void> {
  const rec = new RunRecord(tally, sideOf(engine), defs(n, phases).map((d) => d.id));
  const [txTable, rxTable] = lab.tables;
  const pids: number[] = [];
  try {
    await lab.pair(engine, async (tx, rx) => {
      pids.push(tx.pid, rx.pid);
      await warmUp(lab, tx, rx);
      await settle([tx, rx]);
      // since the last look: netlink overruns (repaired by a resync) and sync messages the
      // receiver saw missing (lost on the link or in a full socket buffer, then resent)
      const troubles = async () => [(await tx.overruns()) + (await rx.overruns()), await rx.lost()];
      let seen = await troubles();
      const overrunText = async () => {
        const [before, now] = [seen, (seen = await troubles())];
        const overruns = now[0] - before[0];
        const lost = now[1] - before[1];
        return `${overruns ? `; ${overruns} netlink overruns, repaired by a resync` : ''}${lost ? `; ${lost} sync messages lost and resent` : ''}`;
      };

      // -- sync
      const rss0 = [tx.rss(), rx.rss()];
      let w = new CpuWindow([tx, rx]);
      await lab.inject(0, 0, n);
      if ((await pollUntil(async () => (await rx.external()) === n, waitMs(n))) === null) {
        return say(`${engine} sync ${n}: the receiver's external cache has ${await rx.external()} of ${n} — did not finish`);
      }
      const sync = w.stop();
      const rss1 = [tx.rss(), rx.rss()];
      const [sent, got] = [await tx.tuples('internal'), await rx.tuples('external')];
      if (sent.length !== n || got.join('\n') !== sent.join('\n')) {
        return say(`${engine} sync ${n}: sender internal ${sent.length}, receiver external ${got.length} flows, not the same tuples — did not finish`);
      }
      rec.set(`sync.tx.${n}`, perEventUs(sync.cpu[0], n));
      rec.set(`sync.rx.${n}`, perEventUs(sync.cpu[1], n));
      rec.set(`sync.full.${n}`, sync.wall);
      say(`${engine} sync ${n}: ${phaseText(sync)}${await overrunText()}${threadText(sync.threads)}`);
      if (phases.has('rss')) {
        rec.set(`rss.tx.${n}`, (((rss1[0] - rss0[0]) / n) * 100_000) / MB);
        rec.set(`rss.rx.${n}`, (((rss1[1] - rss0[1]) / n) * 100_000) / MB);
      }

      if (phases.has('update')) {
        await settle([tx, rx]);
        const counted = async () => (await rx.caches()).external?.updated ?? 0;
        const before = await counted();
        w = new CpuWindow([tx, rx]);
        const r = await txTable.updateBatch(benchFlows(0, n, MARK));
        if (r.some((e) => e !== 0)) throw new Error(`batched update: ${r.filter((e) => e !== 0).length} of ${n} failed`);
        // N updates counted: the CPU figure ends here. A resent message counts again, so the
        // flows are then checked in the cache until all carry the mark (dumps, 0.5 s apart).
        const done = await pollUntil(async () => (await counted()) >= before + n, waitMs(n));
        const upd = w.stop();
        const marked = async () => (await rx.ask(REQUEST.CT_DUMP_EXTERNAL)).split('\n').filter((l) => l.includes(` mark=${MARK} `)).length;
        let have = await marked();
        const late = have === n ? undefined : await pollUntil(async () => (have = await marked()) === n, 20_000, 500);
        if (done === null || late === null) {
          say(`${engine} update ${n}: the receiver has ${have} of ${n} flows marked (${(await counted()) - before} updates counted) — did not finish`);
        } else {
          const wall = late === undefined ? upd.wall : (late - w.t0) / 1000;
          rec.set(`update.tx.${n}`, perEventUs(upd.cpu[0], n));
          rec.set(`update.rx.${n}`, perEventUs(upd.cpu[1], n));
          rec.set(`update.time.${n}`, wall);
          const resent = late === undefined ? '' : `; ${(await counted()) - before} updates counted, all ${n} marked after ${wall.toFixed(2)} s`;
          say(`${engine} update ${n}: ${phaseText(upd)}${resent}${await overrunText()}`);
        }
      }

      if (phases.has('bulk')) {
        await overrunText();
        await rx.ask(REQUEST.CT_FLUSH_EXT_CACHE);
        if ((await pollUntil(async () => (await rx.external()) === 0, 10_000)) === null) throw new Error('-f external left flows in the external cache');
        await settle([tx, rx]);
        w = new CpuWindow([tx, rx]);
        await tx.ask(REQUEST.SEND_BULK);
        const done = await pollUntil(async () => (await rx.external()) === n, waitMs(n));
        const bulk = w.stop();
        if (done === null) say(`${engine} bulk ${n}: the receiver has ${await rx.external()} of ${n} — did not finish`);
        else {
          rec.set(`bulk.rate.${n}`, n / bulk.wall);
          say(`${engine} bulk ${n}: ${phaseText(bulk)}${await overrunText()}`);
        }
      }

      if (phases.has('commit')) {
        if ((await rxTable.count()) !== 0) throw new Error('the receiver kernel is not empty before the commit');
        await settle([tx, rx]);
        w = new CpuWindow([rx]);
        const reply = rx.ask(REQUEST.CT_COMMIT);
        const done = await pollUntil(async () => (await rxTable.count()) === n, waitMs(n));
        const commit = w.stop();
        await Promise.race([reply, new Promise((r) => setTimeout(r, waitMs(n)))]);
        if (done === null) say(`${engine} commit ${n}: the kernel has ${await rxTable.count()} of ${n} — did not finish`);
        else {
          rec.set(`commit.time.${n}`, commit.wall);
          rec.set(`commit.cpu.${n}`, commit.cpu[0]);
          say(`${engine} commit ${n}: ${commit.wall.toFixed(2)} s, CPU receiver ${commit.cpu[0].toFixed(3)} s${await overrunText()}`);
        }
      }

      if (phases.has('delete')) {
        await settle([tx, rx]);
        w = new CpuWindow([tx, rx]);
        await txTable.flush();
        const done = await pollUntil(async () => (await rx.external()) === 0, waitMs(n));
        const del = w.stop();
        if (done === null) say(`${engine} delete ${n}: the receiver still has ${await rx.external()} — did not finish`);
        else {
          rec.set(`delete.tx.${n}`, perEventUs(del.cpu[0], n));
          rec.set(`delete.rx.${n}`, perEventUs(del.cpu[1], n));
          rec.set(`delete.time.${n}`, del.wall);
          say(`${engine} delete ${n}: ${phaseText(del)}${await overrunText()}`);
        }
      }
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
