/**
 * The fail-over state file: one line `<STATE> at <date>` that `show conntrack-sync status`
 * prints as the last state transition (shared/spec/vyos.md §5.2). Written atomically
 * (temp file + rename) so a reader never sees a half-written line.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export const DEFAULT_FAILOVER_STATE_FILE = '/var/run/vyatta-conntrackd-failover-state';

/** UNKNOWN is what VyOS writes for a state word it does not know (§5.2 "Any other state"). */
export type FailoverState = 'MASTER' | 'BACKUP' | 'FAULT' | 'UNKNOWN';

export function failoverStateFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.CTSYNC_FAILOVER_STATE_FILE || DEFAULT_FAILOVER_STATE_FILE;
}

/**
 * `date` in VyOS's en_US locale, e.g. `Fri 24 Dec 2021 10:34:36 AM EET`
 * (`%a %d %b %Y %I:%M:%S %p %Z`). Zones without an English abbreviation print as Intl names
 * them (`GMT+2`).
 */
export function formatDate(d: Date, timeZone?: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    day: '2-digit',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hour12: true,
    timeZoneName: 'short',
  }).formatToParts(d);
  const p = (t: Intl.DateTimeFormatPartTypes): string => parts.find((x) => x.type === t)?.value ?? '';
  return `${p('weekday')} ${p('day')} ${p('month')} ${p('year')} ${p('hour')}:${p('minute')}:${p('second')} ${p('dayPeriod')} ${p('timeZoneName')}`;
}

export function formatFailoverLine(state: FailoverState, d: Date, timeZone?: string): string {
  return `${state} at ${formatDate(d, timeZone)}`;
}

export async function writeFailoverState(path: string, state: FailoverState, d = new Date()): Promise<string> {
  const line = formatFailoverLine(state, d);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${line}\n`, { mode: 0o644 });
  await rename(tmp, path);
  return line;
}

/**
 * The file's first line as VyOS's op-mode reads it (Python's readline(): with its newline, ''
 * for an empty file), or undefined when no hook has run yet (no file). VyOS shows it verbatim.
 */
export async function readFailoverLine(path: string): Promise<string | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    const end = text.indexOf('\n');
    return end < 0 ? text : text.slice(0, end + 1);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
