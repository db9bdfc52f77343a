/** The README's chart (bench/chart.ts): hand-written SVG, pure. */
import { describe, expect, it } from 'vitest';
import { renderChart, xOf } from '../../bench/chart.js';
import { evaluate, type MetricDef } from '../../bench/metrics.js';

const def = (id: string, over: Partial<MetricDef> = {}): MetricDef => ({ id, label: `metric ${id}`, unit: 's', ours: 'ctsyncd', theirs: 'conntrackd', ...over });

describe('ratio chart', () => {
  const results = [
    evaluate(def('pass', { target: { ratioMax: 0.5 } }), [1], [4]),
    evaluate(def('miss', { target: { ratioMax: 0.3 } }), [2], [1]),
    evaluate(def('none', { label: 'a <b> & "c"' }), [1], [1]),
    evaluate(def('unfinished'), [1], [null]),
    evaluate(def('huge'), [1000], [1]),
  ];
  const svg = renderChart(results, ['run of 2026-11-30', 'on AMD EPYC']);

  it('is one SVG document with a row per metric that has a ratio', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const bars = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="\d+" fill="(#\w+)"\/>/g)].map((m) => m[1]);
    expect(bars).toEqual(['#2e7d32', '#c62828', '#607d8b', '#607d8b']);
    expect(svg).not.toContain('metric unfinished');
    expect(svg).toContain('>run of 2026-11-30</text>');
    expect(svg).toContain('>on AMD EPYC</text>');
  });

  it('escapes labels, marks targets, and draws an arrow for a ratio off the scale', () => {
    expect(svg).toContain('a &lt;b&gt; &amp; &quot;c&quot;, s');
    expect(svg.match(/stroke="#000000" stroke-width="2"/g)).toHaveLength(2);
    expect(svg).toMatch(/<path d="M[\d.]+ [\d.]+ l6 /);
    expect(svg).toContain('1000.0×');
  });

  it('places ratios on a log scale around parity', () => {
    expect(xOf(2) - xOf(1)).toBeCloseTo(xOf(1) - xOf(0.5));
    expect(xOf(1000)).toBe(xOf(20));
    expect(xOf(0)).toBe(xOf(0.05));
    expect(xOf(1, 100) - xOf(1)).toBe(100);
  });

  it("sizes the label column to the longest label and quotes ctsync's own figure against an absolute bound", () => {
    const long = evaluate(def('x', { label: 'L'.repeat(100), unit: 'µs', target: { oursMax: 2 } }), [3], [6]);
    const wide = renderChart([long], ['c']);
    expect(Number(/width="(\d+)"/.exec(wide)?.[1])).toBeGreaterThan(100 * 6);
    expect(wide).toContain('>0.50×; 3.00 µs (≤ 2 µs)</text>');
  });
});
