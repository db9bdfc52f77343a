/**
 * The benchmark's results as text: the terminal table, the README's performance section
 * (rewritten between its markers) and the words both share.
 */
import type { Machine } from './machine.js';
import { describeMachine } from './machine.js';
import { type MetricResult, type Side, targetText, type Unit } from './metrics.js';

export const PERF_BEGIN = '<!-- perf:begin';
export const PERF_END = '<!-- perf:end -->';

/** What a run was, for the report's heading line. */
export interface RunInfo {
  /** ISO date of the start */
  date: string;
  /** the command as typed, e.g. `npm run bench -- --quick` */
  command: string;
  /** `FT-FW over UDP, 3 repeats, 10k/50k/100k flows` */
  setup: string;
  machine: Machine;
}

export function formatValue(v: number, unit: Unit): string {
  switch (unit) {
    case 'µs':
      return v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0);
    case 's':
      return v.toFixed(v < 1 ? 3 : 2);
    case 'ev/s':
      return Math.round(v).toLocaleString('en-US');
    case 'MB':
      return v.toFixed(1);
  }
}

/** `1.23 (1.10–1.40)`, `1.23 (1.10–1.40; 1 of 3 did not finish)`, `did not finish`, or `–`. */
export function formatSide(side: Side, unit: Unit): string {
  const s = side.summary;
  if (!s) return side.runs.length ? 'did not finish' : '–';
  const range = s.n > 1 ? `${formatValue(s.min, unit)}–${formatValue(s.max, unit)}` : '';
  const failed = s.failed ? `${s.failed} of ${s.n + s.failed} did not finish` : '';
  const note = [range, failed].filter(Boolean).join('; ');
  return note ? `${formatValue(s.median, unit)} (${note})` : formatValue(s.median, unit);
}

export function formatRatio(r: number | undefined): string {
  if (r === undefined) return '–';
  return `${r.toFixed(r < 0.1 ? 3 : r < 10 ? 2 : 1)}×`;
}

/** The metric's name with its unit, and the two programs when they are not the daemons. */
export function metricName(m: MetricResult): string {
  const who = m.ours === 'ctsyncd' && m.theirs === 'conntrackd' ? '' : ` (${m.ours} vs ${m.theirs})`;
  return `${m.label}${who}, ${m.unit}`;
}

export function verdictText(m: MetricResult): string {
  if (!m.verdict) return m.note;
  return m.note ? `${m.verdict}: ${m.note}` : m.verdict;
}

function rows(results: readonly MetricResult[]): string[][] {
  return results.map((m) => [metricName(m), formatSide(m.oursSide, m.unit), formatSide(m.theirsSide, m.unit), formatRatio(m.ratio), targetText(m.target, m.unit), verdictText(m)]);
}

const HEAD = ['measure', 'ctsync', 'conntrack-tools', 'ratio', 'target', 'verdict'];

/** Aligned columns for the terminal. */
export function textTable(results: readonly MetricResult[]): string {
  const all = [HEAD, ...rows(results)];
  const width = HEAD.map((_, c) => Math.max(...all.map((r) => [...r[c]].length)));
  const line = (r: string[]) =>
    r
      .map((cell, c) => (c === 0 || c === r.length - 1 ? cell.padEnd(width[c]) : cell.padStart(width[c])))
      .join('  ')
      .trimEnd();
  return [line(HEAD), width.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

export function markdownTable(results: readonly MetricResult[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = [`| ${HEAD.join(' | ')} |`, '| --- | ---: | ---: | ---: | --- | --- |'];
  for (const r of rows(results)) out.push(`| ${r.map(esc).join(' | ')} |`);
  return out.join('\n');
}

/** A run in two lines: when and what, then where (`on …`). */
export function runLines(info: RunInfo): [string, string] {
  return [`${info.date.slice(0, 16).replace('T', ' ')} UTC, \`${info.command}\` (${info.setup})`, `on ${describeMachine(info.machine)}`];
}

/** The heading line of a run: when, what, where. */
export function runLine(info: RunInfo): string {
  return runLines(info).join(' ');
}

/** The generated part of the README's performance section (between the markers). */
export function perfSection(info: RunInfo, results: readonly MetricResult[], chart: string): string {
  return [
    `Latest run: ${runLine(info)}.`,
    'Each figure is the median of the runs with their range (min–max); the ratio is ctsync ÷ conntrack-tools',
    '(conntrackd 1.4.7 and conntrack 1.4.7 from Debian), so below 1 means less, above 1 more.',
    '',
    `![ratio ctsync ÷ conntrack-tools per measure](${chart})`,
    '',
    markdownTable(results),
  ].join('\n');
}

/** The README with its performance section's generated part replaced; throws without markers. */
export function replacePerfSection(readme: string, section: string): string {
  const begin = readme.indexOf(PERF_BEGIN);
  const end = readme.indexOf(PERF_END);
  // the begin marker's line stays as it is (it names the tool that writes the section)
  const afterBegin = readme.indexOf('\n', begin) + 1;
  if (begin < 0 || afterBegin === 0 || end < afterBegin) throw new Error(`README has no ${PERF_BEGIN} … ${PERF_END} markers on lines of their own`);
  return `${readme.slice(0, afterBegin)}${section.trimEnd()}\n${readme.slice(end)}`;
}
