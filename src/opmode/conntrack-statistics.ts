/**
 * `show conntrack statistics` (shared/spec/vyos.md §4.3): the kernel's per-CPU conntrack
 * counters. VyOS asks `conntrack --stats` (ctnetlink CTA_STATS_*); the addon does not expose
 * that request, so they are read from /proc/net/stat/nf_conntrack, which holds the same per-CPU
 * counters of the reader's network namespace (net->ct.stat), one hex row per possible CPU.
 * Columns as VyOS prints them; its two unnamed trailing columns are named here.
 */
import { readFile } from 'node:fs/promises';
import { CtsyncError } from '../common/errors.js';
import type { OpmodeOptions, Output } from './context.js';
import { simpleTable } from './table.js';

/** One CPU's counters, named as `conntrack -S` prints them. */
export interface CpuStatistics {
  cpu: number;
  found: number;
  invalid: number;
  insert: number;
  insert_failed: number;
  drop: number;
  early_drop: number;
  error: number;
  search_restart: number;
  clash_resolve: number;
  chaintoolong: number;
}

export const PROC_CONNTRACK_STAT = '/proc/net/stat/nf_conntrack';

/** /proc column → `conntrack -S` name (the kernel's ct_cpu_seq_show vs. ctnetlink names). */
const PROC_COLUMNS: Record<Exclude<keyof CpuStatistics, 'cpu'>, string> = {
  found: 'found',
  invalid: 'invalid',
  insert: 'insert',
  insert_failed: 'insert_failed',
  drop: 'drop',
  early_drop: 'early_drop',
  error: 'icmp_error',
  search_restart: 'search_restart',
  clash_resolve: 'clashres',
  chaintoolong: 'chainlength',
};

export function parseProcStat(text: string): CpuStatistics[] {
  const [head, ...lines] = text.trim().split('\n');
  const names = (head ?? '').trim().split(/\s+/);
  return lines.map((line, cpu) => {
    const values = line.trim().split(/\s+/).map((h) => Number.parseInt(h, 16));
    const at = (name: string): number => {
      const i = names.indexOf(name);
      // Older kernels lack the newest columns (clashres, chainlength): 0, as conntrack -S.
      return i < 0 ? 0 : (values[i] ?? 0);
    };
    const stats = { cpu } as CpuStatistics;
    for (const [key, column] of Object.entries(PROC_COLUMNS)) stats[key as keyof typeof PROC_COLUMNS] = at(column);
    return stats;
  });
}

const HEADERS = ['CPU', 'Found', 'Invalid', 'Insert', 'Insert fail', 'Drop', 'Early drop', 'Errors', 'Search restart', 'Clash resolve', 'Chain too long'];

export function formatStatistics(rows: readonly CpuStatistics[]): string {
  return simpleTable(
    HEADERS,
    rows.map((r) => [r.cpu, r.found, r.invalid, r.insert, r.insert_failed, r.drop, r.early_drop, r.error, r.search_restart, r.clash_resolve, r.chaintoolong]),
  );
}

export async function showConntrackStatistics(opts: OpmodeOptions, file = PROC_CONNTRACK_STAT): Promise<Output> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES') throw new CtsyncError('OPMODE_PERMISSION', `Permission denied reading ${file}`);
    throw new CtsyncError('OPMODE_UNAVAILABLE', `Conntrack statistics are not available (${file}: ${code}); is nf_conntrack loaded?`);
  }
  const rows = parseProcStat(text);
  return opts.json ? rows : formatStatistics(rows);
}
