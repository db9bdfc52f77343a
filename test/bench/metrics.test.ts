/** The benchmark's statistics and verdicts (bench/stats.ts, bench/metrics.ts): pure, no lab. */
import { describe, expect, it } from 'vitest';
import { countLabel, evaluate, type MetricDef, RunRecord, Tally } from '../../bench/metrics.js';
import { median, summarize } from '../../bench/stats.js';

const def = (over: Partial<MetricDef> = {}): MetricDef => ({ id: 'm', label: 'm', unit: 'µs', ours: 'ctsyncd', theirs: 'conntrackd', ...over });

describe('median and summary of repeated runs', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });

  it('summarizes finished runs and counts the unfinished apart', () => {
    expect(summarize([5, null, 1, 3])).toEqual({ median: 3, min: 1, max: 5, n: 3, failed: 1 });
    expect(summarize([null, null])).toBeUndefined();
    expect(summarize([])).toBeUndefined();
  });
});

describe('ratio and target verdicts', () => {
  it('passes a ratio at or under its bound and says by how much one misses', () => {
    const pass = evaluate(def({ target: { ratioMax: 0.5 } }), [1, 2, 3], [4, 4, 5]);
    expect(pass.ratio).toBe(0.5);
    expect(pass.verdict).toBe('pass');
    const miss = evaluate(def({ target: { ratioMax: 0.5 } }), [3, 3, 3], [4, 4, 4]);
    expect(miss).toMatchObject({ ratio: 0.75, verdict: 'miss', note: 'over by 50 %' });
  });

  it('reads a lower bound for rates (higher is better)', () => {
    expect(evaluate(def({ unit: 'ev/s', target: { ratioMin: 1 } }), [120], [100]).verdict).toBe('pass');
    expect(evaluate(def({ unit: 'ev/s', target: { ratioMin: 1 } }), [80], [100])).toMatchObject({ verdict: 'miss', note: 'short by 20 %' });
  });

  it('checks an absolute bound on ctsync alone, without a comparison side', () => {
    expect(evaluate(def({ target: { oursMax: 2 } }), [1.5, 1.9, 2.5], []).verdict).toBe('pass');
    expect(evaluate(def({ target: { oursMax: 2 } }), [3, 3, 3], [])).toMatchObject({ verdict: 'miss', note: 'over by 50 %' });
  });

  it('never passes a run of ours that did not finish, however fast the others were', () => {
    const r = evaluate(def({ target: { ratioMax: 0.5 } }), [0.1, null, 0.1], [10, 10, 10]);
    expect(r.verdict).toBe('miss');
    expect(r.note).toBe('ctsyncd: 1 of 3 runs did not finish');
    expect(evaluate(def({ target: { ratioMax: 0.5 } }), [null], [1])).toMatchObject({ verdict: 'miss', note: 'ctsyncd: did not finish', ratio: undefined });
  });

  it('has no verdict when conntrack-tools did not finish, and none without a target', () => {
    expect(evaluate(def({ target: { ratioMax: 0.5 } }), [1], [null])).toMatchObject({ verdict: 'n/a', note: 'conntrackd: did not finish' });
    expect(evaluate(def(), [1], [2])).toMatchObject({ verdict: '', ratio: 0.5, note: '' });
  });
});

describe('tally of runs', () => {
  it('keeps metrics in definition order, drops the ones without runs, and knows the last run', () => {
    const t = new Tally();
    t.define(def({ id: 'b' }));
    t.define(def({ id: 'a' }));
    t.define(def({ id: 'unused' }));
    t.add('a', 'ours', 1);
    t.add('b', 'theirs', 2);
    t.add('b', 'theirs', 3);
    expect(t.results().map((m) => m.id)).toEqual(['b', 'a']);
    expect(t.last('b', 'theirs')).toBe(3);
    expect(t.last('b', 'ours')).toBeUndefined();
    expect(t.last('nope', 'ours')).toBeUndefined();
    expect(() => t.add('nope', 'ours', 1)).toThrow(/not defined/);
  });

  it('gives every metric of a run one value, null for what the run did not reach', () => {
    const t = new Tally();
    for (const id of ['x', 'y']) t.define(def({ id }));
    const rec = new RunRecord(t, 'ours', ['x', 'y']);
    rec.set('x', 7);
    expect(() => rec.set('z', 1)).toThrow(/not part of this run/);
    rec.close();
    const [x, y] = t.results();
    expect(x.oursSide.runs).toEqual([7]);
    expect(y.oursSide.runs).toEqual([null]);
  });

  it('labels flow counts short', () => {
    expect([countLabel(100_000), countLabel(2500), countLabel(500)]).toEqual(['100k', '2,500', '500']);
  });
});
