/**
 * The one table formatter of op-mode. Two layouts:
 * - `simpleTable`: python-tabulate's `simple` format as VyOS op-mode prints it (header row, a
 *   row of dashes per column, two spaces between columns, everything left-aligned as VyOS
 *   passes `numalign="left"`). Trailing blanks of a line are dropped.
 * - `fixedTable`: the legacy Vyatta printf layout (`%-Ns ` per column, shared/spec/vyos.md
 *   §4.3), where a column is at least N wide and a longer value pushes the rest right.
 */
export type Cell = string | number;

const text = (c: Cell): string => String(c);

export function simpleTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const widths = headers.map((h, i) => rows.reduce((w, r) => Math.max(w, text(r[i] ?? '').length), h.length));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [
    line(headers),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((r) => line(headers.map((_, i) => text(r[i] ?? '')))),
  ].join('\n');
}

export interface FixedColumn {
  header: string;
  /** printf minimum width; the last column has none. */
  width: number;
}

export function fixedTable(columns: readonly FixedColumn[], rows: readonly (readonly Cell[])[]): string {
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : `${c.padEnd(columns[i]!.width)} `)).join('').trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map((r) => line(columns.map((_, i) => text(r[i] ?? ''))))].join('\n');
}
