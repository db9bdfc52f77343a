import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { failoverStateFile, formatDate, formatFailoverLine, readFailoverLine, writeFailoverState } from '../../src/vrrp-hooks/state-file.js';

const dir = await mkdtemp(join(tmpdir(), 'ctsync-state-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('fail-over state file', () => {
  it('formats the date as VyOS en_US `date` does', () => {
    // vyos.md §5.2: `MASTER at Fri 24 Dec 2021 10:34:36 AM EET` (Intl names EET GMT+2)
    const d = new Date(Date.UTC(2021, 11, 24, 8, 34, 36));
    expect(formatDate(d, 'Europe/Helsinki')).toBe('Fri 24 Dec 2021 10:34:36 AM GMT+2');
    expect(formatFailoverLine('MASTER', new Date(Date.UTC(2021, 0, 4, 15, 4, 5)), 'UTC')).toBe('MASTER at Mon 04 Jan 2021 03:04:05 PM UTC');
  });

  it('writes atomically, replaces the previous line, and reads it back', async () => {
    const path = join(dir, 'sub', 'state');
    await writeFailoverState(path, 'BACKUP', new Date(0));
    const line = await writeFailoverState(path, 'MASTER');
    expect(await readFile(path, 'utf8')).toBe(`${line}\n`);
    expect(line).toMatch(/^MASTER at \w{3} \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [AP]M \S+$/);
    expect(await readFailoverLine(path)).toBe(`${line}\n`);
    expect(await readdir(join(dir, 'sub'))).toEqual(['state']); // no temp file left
  });

  it('reads the first line as Python readline() does; a missing file as no transition yet', async () => {
    expect(await readFailoverLine(join(dir, 'nope'))).toBeUndefined();
    const path = join(dir, 'foreign');
    await writeFile(path, 'hello\nworld\n');
    expect(await readFailoverLine(path)).toBe('hello\n');
    await writeFile(path, 'no newline');
    expect(await readFailoverLine(path)).toBe('no newline');
    await writeFile(path, '');
    expect(await readFailoverLine(path)).toBe('');
  });

  it('takes its path from CTSYNC_FAILOVER_STATE_FILE', () => {
    expect(failoverStateFile({})).toBe('/var/run/vyatta-conntrackd-failover-state');
    expect(failoverStateFile({ CTSYNC_FAILOVER_STATE_FILE: '/tmp/x' })).toBe('/tmp/x');
  });
});
