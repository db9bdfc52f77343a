/** The benchmark's tables and the README rewrite (bench/report.ts): pure, no lab. */
import { describe, expect, it } from 'vitest';
import type { Machine } from '../../bench/machine.js';
import { evaluate, type MetricDef } from '../../bench/metrics.js';
import { formatSide, formatValue, markdownTable, PERF_END, perfSection, replacePerfSection, type RunInfo, textTable } from '../../bench/report.js';

const def = (over: Partial<MetricDef> = {}): MetricDef => ({ id: 'm', label: 'sync 100k: sender CPU per event', unit: 'µs', ours: 'ctsyncd', theirs: 'conntrackd', ...over });
const results = [
  evaluate(def({ target: { ratioMax: 0.5 } }), [4, 5, 6], [10, 11, 12]),
  evaluate(def({ id: 'd', label: 'dump 100k: wall', unit: 's', ours: 'addon', theirs: 'conntrack -L' }), [0.2], [null]),
  evaluate(def({ id: 'b', label: 'bulk send (-B) of 100k', unit: 'ev/s', target: { ratioMin: 1 } }), [500_000, 600_000, 700_000], [1_000_000, 1_100_000, 1_200_000]),
];
const machine: Machine = { cpu: 'AMD EPYC', cores: 2, kernel: '6.18.44', memGiB: 24, loadStart: 0.2, loadEnd: 0.3 };
const info: RunInfo = { date: '2026-11-30T03:40:12.345Z', command: 'npm run bench', setup: 'FT-FW over UDP, 3 repeats, 10k/50k/100k flows', machine };

describe('figures as text', () => {
  it('rounds each unit to what its precision is worth', () => {
    expect([formatValue(1.234, 'µs'), formatValue(12.34, 'µs'), formatValue(123.4, 'µs')]).toEqual(['1.23', '12.3', '123']);
    expect([formatValue(0.12345, 's'), formatValue(2.345, 's'), formatValue(1234567.8, 'ev/s'), formatValue(12.34, 'MB')]).toEqual(['0.123', '2.35', '1,234,568', '12.3']);
  });

  it('prints the median with its range, unfinished runs, or a dash when nothing ran', () => {
    expect(formatSide(results[0].oursSide, 'µs')).toBe('5.00 (4.00–6.00)');
    expect(formatSide(results[1].theirsSide, 's')).toBe('did not finish');
    expect(formatSide({ runs: [] }, 's')).toBe('–');
    expect(formatSide(evaluate(def(), [1, null], []).oursSide, 'µs')).toBe('1.00 (1 of 2 did not finish)');
  });

  it('aligns the terminal table and names the programs when they are not the daemons', () => {
    const lines = textTable(results).split('\n');
    expect(lines[0]).toMatch(/^measure\s+ctsync\s+conntrack-tools\s+ratio\s+target\s+verdict$/);
    expect(lines).toHaveLength(5);
    expect(lines[2]).toContain('0.45×');
    expect(lines[2]).toContain('≤ 0.5×');
    expect(lines[2]).toMatch(/pass$/);
    expect(lines[3]).toContain('dump 100k: wall (addon vs conntrack -L), s');
    expect(lines[4]).toMatch(/miss: short by 45 %$/);
    // the ratio column ends at the same place on every line
    const end = (l: string, s: string) => l.indexOf(s) + s.length;
    expect(end(lines[2], '0.45×')).toBe(end(lines[4], '0.55×'));
  });

  it('renders a markdown table with a row per metric', () => {
    const md = markdownTable(results).split('\n');
    expect(md[1]).toBe('| --- | ---: | ---: | ---: | --- | --- |');
    expect(md[4]).toBe('| bulk send (-B) of 100k, ev/s | 600,000 (500,000–700,000) | 1,100,000 (1,000,000–1,200,000) | 0.55× | ≥ 1× | miss: short by 45 % |');
  });
});

describe('README performance section', () => {
  const readme = `# x\n\n## Performance\n\n<!-- perf:begin (written by bench/) -->\nNot measured yet.\n${PERF_END}\n\nHow it is measured.\n`;

  it('quotes the run, the machine and its load, the chart and the table', () => {
    const s = perfSection(info, results, 'bench/chart.svg');
    expect(s).toContain('Latest run: 2026-11-30 03:40 UTC, `npm run bench` (FT-FW over UDP, 3 repeats, 10k/50k/100k flows) on AMD EPYC, 2 cores, Linux 6.18.44, 24 GiB; load average 0.20 → 0.30 (quiet)');
    expect(s).toContain('![ratio ctsync ÷ conntrack-tools per measure](bench/chart.svg)');
    expect(s).toContain(markdownTable(results));
    expect(perfSection({ ...info, machine: { ...machine, loadStart: 3.1 } }, results, 'c.svg')).toContain('(taken under load: other work ran on the machine)');
  });

  it('replaces only what is between the markers, and again on the next run', () => {
    const once = replacePerfSection(readme, 'first\n');
    expect(once).toBe(`# x\n\n## Performance\n\n<!-- perf:begin (written by bench/) -->\nfirst\n${PERF_END}\n\nHow it is measured.\n`);
    expect(replacePerfSection(once, 'second')).toBe(once.replace('first', 'second'));
  });

  it('refuses a README without both markers on lines of their own', () => {
    expect(() => replacePerfSection('# x\n', 'y')).toThrow(/markers/);
    expect(() => replacePerfSection(`${PERF_END}\n<!-- perf:begin -->\n`, 'y')).toThrow(/markers/);
    expect(() => replacePerfSection(`<!-- perf:begin --> ${PERF_END}`, 'y')).toThrow(/markers/);
  });
});
