/**
 * The README's chart, hand-written SVG (no dependency): one row per measure with a ratio, a bar
 * from parity (1×) to ctsync ÷ conntrack-tools on a log scale, coloured by its verdict, with
 * the target marked.
 */
import type { MetricResult, Verdict } from './metrics.js';
import { formatRatio, formatValue, metricName } from './report.js';

const PLOT_W = 330;
/** room right of the plot for the ratio text */
const RIGHT = 190;
/** average advance of a 12 px DejaVu Sans character, for sizing the label column */
const CHAR_W = 6.8;
const ROW_H = 22;
const TOP = 58;
/** ratios shown: 1/20 … 20 (beyond, the bar ends in an arrow at the edge) */
const MIN = 0.05;
const MAX = 20;
const TICKS = [0.1, 0.3, 1, 3, 10];
const COLOUR: Record<Verdict, string> = { pass: '#2e7d32', miss: '#c62828', 'n/a': '#9e9e9e', '': '#607d8b' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** x of a ratio on the log scale, clamped to the plot, for a plot starting at `plotX` */
export function xOf(ratio: number, plotX = 0): number {
  const r = Math.min(MAX, Math.max(MIN, ratio));
  return plotX + (PLOT_W * Math.log(r / MIN)) / Math.log(MAX / MIN);
}
const f1 = (x: number) => x.toFixed(1);

/** `0.53×`, and for a bound on ctsync's own figure also that figure: `0.53×; 11.3 µs (≤ 2 µs)` */
function ratioText(m: MetricResult): string {
  const own = m.target && 'oursMax' in m.target && m.oursSide.summary ? `; ${formatValue(m.oursSide.summary.median, m.unit)} ${m.unit} (≤ ${m.target.oursMax} ${m.unit})` : '';
  return `${formatRatio(m.ratio)}${own}`;
}

/** The chart of every metric with a ratio; `caption` lines go under it (the run, the machine). */
export function renderChart(results: readonly MetricResult[], caption: readonly string[]): string {
  const shown = results.filter((m) => m.ratio !== undefined);
  const labelW = Math.ceil(Math.max(200, ...shown.map((m) => [...metricName(m)].length * CHAR_W)));
  const plotX = labelW + 10;
  const W = plotX + PLOT_W + RIGHT;
  const x = (r: number) => xOf(r, plotX);
  const h = TOP + shown.length * ROW_H + 30 + 16 * caption.length;
  const one = x(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="DejaVu Sans, Verdana, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${h}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">ctsync ÷ conntrack-tools, same work, same run (log scale)</text>`,
    `<text x="10" y="38" fill="#555555">left of 1× ctsync uses less (time, CPU, memory); for rates (ev/s) right is better. | marks the target; green pass, red miss, grey no target</text>`,
  ];
  for (const t of TICKS) {
    const tx = f1(x(t));
    out.push(`<line x1="${tx}" y1="${TOP - 6}" x2="${tx}" y2="${TOP + shown.length * ROW_H}" stroke="${t === 1 ? '#333333' : '#dddddd'}"/>`);
    out.push(`<text x="${tx}" y="${TOP + shown.length * ROW_H + 14}" text-anchor="middle" fill="#555555">${t}×</text>`);
  }
  shown.forEach((m, i) => {
    const y = TOP + i * ROW_H;
    const ratio = m.ratio!;
    const end = x(ratio);
    const [from, to] = end < one ? [end, one] : [one, end];
    out.push(`<text x="${labelW}" y="${y + 15}" text-anchor="end">${esc(metricName(m))}</text>`);
    out.push(`<rect x="${f1(from)}" y="${y + 4}" width="${f1(Math.max(1, to - from))}" height="${ROW_H - 8}" fill="${COLOUR[m.verdict]}"/>`);
    if (ratio < MIN || ratio > MAX) {
      const tip = ratio < MIN ? x(MIN) : x(MAX);
      const d = ratio < MIN ? -6 : 6;
      out.push(`<path d="M${f1(tip)} ${y + 3} l${d} ${ROW_H / 2 - 3} l${-d} ${ROW_H / 2 - 3} z" fill="${COLOUR[m.verdict]}"/>`);
    }
    const target = m.target && 'ratioMax' in m.target ? m.target.ratioMax : m.target && 'ratioMin' in m.target ? m.target.ratioMin : undefined;
    if (target !== undefined) {
      const tx = f1(x(target));
      out.push(`<line x1="${tx}" y1="${y + 1}" x2="${tx}" y2="${y + ROW_H - 1}" stroke="#000000" stroke-width="2"/>`);
    }
    const labelX = Math.min(x(MAX), Math.max(end, one)) + 8;
    out.push(`<text x="${f1(labelX)}" y="${y + 15}">${esc(ratioText(m))}</text>`);
  });
  caption.forEach((line, i) => out.push(`<text x="10" y="${TOP + shown.length * ROW_H + 40 + 16 * i}" fill="#555555" font-size="11">${esc(line)}</text>`));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
