/**
 * What the benchmark reports: each metric compares ctsync's side (ctsyncd, or the ctnetlink
 * addon) with conntrack-tools' side (conntrackd 1.4.7, or the conntrack(8) tool) on the same
 * work in the same run, as the ratio ctsync / conntrack-tools of the medians, against the
 * targets of issues 3 and 7.
 */
import { summarize, type Runs, type Summary } from './stats.js';

export type Unit = 'µs' | 's' | 'ev/s' | 'MB';

/** A bound on the ratio (ctsync / conntrack-tools) or on ctsync's own median. */
export type Target = { ratioMax: number } | { ratioMin: number } | { oursMax: number };

export interface MetricDef {
  id: string;
  label: string;
  unit: Unit;
  /** what ran on each side, e.g. 'ctsyncd' / 'conntrackd', 'addon' / 'conntrack -L' */
  ours: string;
  theirs: string;
  target?: Target;
}

export interface Side {
  runs: Array<number | null>;
  summary?: Summary;
}

/** pass/miss against the target; n/a when the comparison side has no finished run; '' without a target */
export type Verdict = 'pass' | 'miss' | 'n/a' | '';

export interface MetricResult extends MetricDef {
  oursSide: Side;
  theirsSide: Side;
  /** ctsync's median / conntrack-tools' median */
  ratio?: number;
  verdict: Verdict;
  /** why a verdict is what it is: unfinished runs, by how much a target is missed */
  note: string;
}

/** The target as the tables print it: `≤ 0.5×`, `≥ 1×`, `≤ 2 µs`. */
export function targetText(t: Target | undefined, unit: Unit): string {
  if (!t) return '';
  if ('ratioMax' in t) return `≤ ${t.ratioMax}×`;
  if ('ratioMin' in t) return `≥ ${t.ratioMin}×`;
  return `≤ ${t.oursMax} ${unit}`;
}

const pct = (x: number) => `${Math.round(x * 100)} %`;

function unfinished(s: Side, who: string): string {
  const failed = s.runs.length - (s.summary?.n ?? 0);
  if (failed === 0) return '';
  return s.summary ? `${who}: ${failed} of ${s.runs.length} runs did not finish` : `${who}: did not finish`;
}

/** Summaries, ratio and verdict of one metric from its runs on both sides. */
export function evaluate(def: MetricDef, ours: Runs, theirs: Runs): MetricResult {
  const oursSide: Side = { runs: [...ours], summary: summarize(ours) };
  const theirsSide: Side = { runs: [...theirs], summary: summarize(theirs) };
  const o = oursSide.summary;
  const t = theirsSide.summary;
  const ratio = o && t && t.median !== 0 ? o.median / t.median : undefined;
  const notes = [unfinished(oursSide, def.ours), unfinished(theirsSide, def.theirs)].filter(Boolean);
  const result = (verdict: Verdict, why = ''): MetricResult => ({ ...def, oursSide, theirsSide, ratio, verdict, note: [...notes, why].filter(Boolean).join('; ') });
  const target = def.target;
  if (!target) return result('');
  // A run of ours that did not finish is a miss, however fast the others were.
  if (!o || o.failed > 0) return result('miss');
  if ('oursMax' in target) {
    return o.median <= target.oursMax ? result('pass') : result('miss', `over by ${pct(o.median / target.oursMax - 1)}`);
  }
  if (ratio === undefined) return result('n/a');
  if ('ratioMax' in target) {
    return ratio <= target.ratioMax ? result('pass') : result('miss', `over by ${pct(ratio / target.ratioMax - 1)}`);
  }
  return ratio >= target.ratioMin ? result('pass') : result('miss', `short by ${pct(1 - ratio / target.ratioMin)}`);
}

/** Which side a run belongs to. */
export type SideName = 'ours' | 'theirs';

/** Collects the runs of every metric, in the order the metrics were defined. */
export class Tally {
  private readonly metrics = new Map<string, { def: MetricDef; ours: Array<number | null>; theirs: Array<number | null> }>();

  define(def: MetricDef): void {
    if (!this.metrics.has(def.id)) this.metrics.set(def.id, { def, ours: [], theirs: [] });
  }

  add(id: string, side: SideName, value: number | null): void {
    const m = this.metrics.get(id);
    if (!m) throw new Error(`bench: metric ${id} was not defined`);
    m[side].push(value);
  }

  /** The latest run of a metric on one side; undefined when the metric was not defined or has none. */
  last(id: string, side: SideName): number | null | undefined {
    return this.metrics.get(id)?.[side].at(-1);
  }

  results(): MetricResult[] {
    return [...this.metrics.values()].filter((m) => m.ours.length + m.theirs.length > 0).map((m) => evaluate(m.def, m.ours, m.theirs));
  }
}

/** 100000 → `100k`, 2500 → `2,500`: flow counts in metric labels. */
export function countLabel(n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : n.toLocaleString('en-US');
}

/**
 * The runs of one engine in one scenario: every metric it defines gets exactly one value per
 * run, null unless the run set it (a run that stopped early did not finish what it skipped).
 */
export class RunRecord {
  private readonly values = new Map<string, number | null>();

  constructor(
    private readonly tally: Tally,
    readonly side: SideName,
    private readonly ids: readonly string[],
  ) {}

  set(id: string, value: number | null): void {
    if (!this.ids.includes(id)) throw new Error(`bench: metric ${id} is not part of this run`);
    this.values.set(id, value);
  }

  /** Hand every metric's value (or null) to the tally; call once, in a finally. */
  close(): void {
    for (const id of this.ids) this.tally.add(id, this.side, this.values.get(id) ?? null);
  }
}
