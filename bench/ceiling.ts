/**
 * Scenario 2 of issue 7: each engine's ceiling. A generator faster than both engines (the
 * addon's batched create in the sender's namespace, paced to an offered rate) makes flows for
 * a few seconds; the engine keeps up when the receiver's external cache holds them all within
 * LAG_S of the generator's last create and the sender's event socket never overran. The rate
 * steps up until the engine falls behind; the ceiling is the highest rate it kept up with.
 */
import type { Conntrack } from '../src/engine/model/conntrack.js';
import type { KernelTable } from '../src/engine/kernel/index.js';
import type { Daemon } from '../test/integration/interop/node.js';
import { benchFlows } from './flows.js';
import { type Lab, pollUntil } from './lab.js';
import { type MetricDef, RunRecord, type Tally } from './metrics.js';
import { settle, sideOf, warmUp } from './sync.js';

export interface CeilingPlan {
  /** offered rates, events per second, lowest first */
  rates: number[];
  /** how long each step offers its rate */
  seconds: number;
  /** at most this many flows per step (the kernel table holds 262,144 per namespace) */
  maxFlows: number;
}

/** How far behind the generator the receiver may finish and still count as keeping up. */
export const LAG_S = 0.25;
/** Below this share of the offered rate the generator, not the engine, is the limit. */
const GENERATOR_SHARE = 0.9;
/** Most flows per batched create: small enough to keep the pace smooth. */
const CHUNK = 5000;

const DEF: MetricDef = { id: 'ceiling', label: 'ceiling: highest rate the receiver keeps up with', unit: 'ev/s', ours: 'ctsyncd', theirs: 'conntrackd' };

export function defineCeilingMetric(tally: Tally): void {
  tally.define(DEF);
}

/** Create `flows` at `rate` per second; the times (performance.now() ms) of the first and last create. */
export async function paced(table: KernelTable, flows: readonly Conntrack[], rate: number): Promise<{ start: number; end: number }> {
  const start = performance.now();
  let done = 0;
  while (done < flows.length) {
    const due = Math.min(flows.length, Math.floor(((performance.now() - start) / 1000) * rate), done + CHUNK);
    if (due <= done) {
      await new Promise((r) => setTimeout(r, 1));
      continue;
    }
    const r = await table.createBatch(flows.slice(done, due), { liberal: true });
    if (r.some((e) => e !== 0)) throw new Error(`generator: ${r.filter((e) => e !== 0).length} creates failed`);
    done = due;
  }
  return { start, end: performance.now() };
}

interface Step {
  rate: number;
  achieved: number;
  /** seconds from the last create until the receiver had all; null: never */
  lag: number | null;
  overruns: number;
}

async function step(lab: Lab, engine: Daemon, rate: number, plan: CeilingPlan): Promise<Step> {
  const k = Math.min(plan.maxFlows, Math.round(rate * plan.seconds));
  const flows = benchFlows(0, k);
  return lab.pair(engine, async (tx, rx) => {
    await warmUp(lab, tx, rx);
    await settle([tx, rx]);
    const overruns0 = await tx.overruns();
    const gen = await paced(lab.tables[0], flows, rate);
    const full = await pollUntil(async () => (await rx.external()) === k, 20_000 + k / 2);
    return {
      rate,
      achieved: k / ((gen.end - gen.start) / 1000),
      lag: full === null ? null : Math.max(0, (full - gen.end) / 1000),
      overruns: (await tx.overruns()) - overruns0,
    };
  });
}

/** Offer one rate and say what happened. */
async function offer(lab: Lab, engine: Daemon, rate: number, plan: CeilingPlan, say: (s: string) => void): Promise<{ keptUp: boolean; generatorBound: boolean; achieved: number }> {
  const s = await step(lab, engine, rate, plan);
  const keptUp = s.lag !== null && s.lag <= LAG_S && s.overruns === 0;
  const generatorBound = s.achieved < GENERATOR_SHARE * rate;
  const what = s.lag === null ? 'never had all' : `had all ${s.lag.toFixed(2)} s after the last create`;
  const verdict = generatorBound ? 'the generator could not offer the rate' : keptUp ? 'keeps up' : 'falls behind';
  say(`${engine} ceiling step ${rate.toLocaleString('en-US')} ev/s: generated at ${Math.round(s.achieved).toLocaleString('en-US')}/s, receiver ${what}${s.overruns ? `, ${s.overruns} overruns` : ''} → ${verdict}`);
  return { keptUp, generatorBound, achieved: s.achieved };
}

/**
 * One ceiling search of `engine`: up the rates until it falls behind, then one step between
 * the last rate it kept up with and the first it did not. A generator that cannot offer a rate
 * ends the search at what it did offer.
 */
export async function runCeiling(lab: Lab, engine: Daemon, plan: CeilingPlan, tally: Tally, say: (s: string) => void): Promise<void> {
  const rec = new RunRecord(tally, sideOf(engine), [DEF.id]);
  let ceiling = 0;
  let behind: number | undefined;
  try {
    for (const rate of plan.rates) {
      const s = await offer(lab, engine, rate, plan, say);
      if (s.generatorBound) {
        if (s.keptUp) ceiling = Math.round(s.achieved);
        say(`${engine} ceiling: at least ${ceiling.toLocaleString('en-US')} ev/s (the generator's limit here)`);
        break;
      }
      if (!s.keptUp) {
        behind = rate;
        break;
      }
      ceiling = rate;
    }
    const mid = behind && ceiling ? Math.round(Math.sqrt(ceiling * behind) / 1000) * 1000 : 0;
    if (behind && mid > ceiling && mid < behind) {
      const s = await offer(lab, engine, mid, plan, say);
      if (s.keptUp && !s.generatorBound) ceiling = mid;
    }
    if (behind === undefined && ceiling === plan.rates.at(-1)) say(`${engine} ceiling: kept up with the highest step, at least ${ceiling.toLocaleString('en-US')} ev/s`);
    rec.set(DEF.id, ceiling);
  } catch (err) {
    say(`${engine} ceiling search failed: ${(err as Error).message.split('\n')[0]}`);
  } finally {
    rec.close();
  }
}
