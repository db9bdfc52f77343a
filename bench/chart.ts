/**
 * The README's chart, hand-written SVG (no dependency): one row per measure with a ratio, a bar
 * from parity (1×) to ctsync ÷ conntrack-tools on a log scale, coloured by its verdict, with
 * the target marked.
 */
import type { MetricResult, Verdict } from './metrics.js';
import { formatRatio, metricName } from './report.js';

const W = 860;
const LABEL_W = 430;
const PLOT_X = LABEL_W + 10;
const PLOT_W = 330;
const ROW_H = 22;
const TOP = 58;
/** ratios shown: 1/20 … 20 (beyond, the bar ends in an arrow at the edge) */
const MIN = 0.05;
const MAX = 20;
const TICKS = [0.1, 0.3, 1, 3, 10];
const COLOUR: Record<Verdict, string> = { pass: '#2e7d32', miss: '#c62828', 'n/a': '#9e9e9e', '': '#607d8b' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** x of a ratio on the log scale, clamped to the plot */
export function xOf(ratio: number): number {
  const r = Math.min(MAX, Math.max(MIN, ratio));
  return PLOT_X + (PLOT_W * Math.log(r / MIN)) / Math.log(MAX / MIN);
}
const f1 = (x: number) => x.toFixed(1);

export function renderChart(results: readonly MetricResult[], caption: string): string {
  const shown = results.filter((m) => m.ratio !== undefined);
  const h = TOP + shown.length * ROW_H + 44;
  const one = xOf(1);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" font-family="DejaVu Sans, Verdana, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${h}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">ctsync ÷ conntrack-tools, same work, same run (log scale)</text>`,
    `<text x="10" y="38" fill="#555555">left of 1× ctsync uses less (time, CPU, memory); for rates (ev/s) right is better. | marks the target; green pass, red miss, grey no target</text>`,
  ];
  for (const t of TICKS) {
    const x = f1(xOf(t));
    out.push(`<line x1="${x}" y1="${TOP - 6}" x2="${x}" y2="${TOP + shown.length * ROW_H}" stroke="${t === 1 ? '#333333' : '#dddddd'}"/>`);
    out.push(`<text x="${x}" y="${TOP + shown.length * ROW_H + 14}" text-anchor="middle" fill="#555555">${t}×</text>`);
  }
  shown.forEach((m, i) => {
    const y = TOP + i * ROW_H;
    const ratio = m.ratio!;
    const x = xOf(ratio);
    const [from, to] = x < one ? [x, one] : [one, x];
    out.push(`<text x="${LABEL_W}" y="${y + 15}" text-anchor="end">${esc(metricName(m))}</text>`);
    out.push(`<rect x="${f1(from)}" y="${y + 4}" width="${f1(Math.max(1, to - from))}" height="${ROW_H - 8}" fill="${COLOUR[m.verdict]}"/>`);
    if (ratio < MIN || ratio > MAX) {
      const tip = ratio < MIN ? xOf(MIN) : xOf(MAX);
      const d = ratio < MIN ? -6 : 6;
      out.push(`<path d="M${f1(tip)} ${y + 3} l${d} ${ROW_H / 2 - 3} l${-d} ${ROW_H / 2 - 3} z" fill="${COLOUR[m.verdict]}"/>`);
    }
    const target = m.target && 'ratioMax' in m.target ? m.target.ratioMax : m.target && 'ratioMin' in m.target ? m.target.ratioMin : undefined;
    if (target !== undefined) {
      const tx = f1(xOf(target));
      out.push(`<line x1="${tx}" y1="${y + 1}" x2="${tx}" y2="${y + ROW_H - 1}" stroke="#000000" stroke-width="2"/>`);
    }
    const labelX = Math.min(xOf(MAX), Math.max(x, one)) + 8;
    out.push(`<text x="${f1(labelX)}" y="${y + 15}">${esc(formatRatio(ratio))}</text>`);
  });
  out.push(`<text x="10" y="${h - 10}" fill="#555555" font-size="11">${esc(caption)}</text>`, '</svg>');
  return `${out.join('\n')}\n`;
}
