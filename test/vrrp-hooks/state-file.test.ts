import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { failoverStateFile, formatDate, formatFailoverLine, parseFailoverLine, readFailoverState, writeFailoverState } from '../../src/vrrp-hooks/state-file.js';

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
    expect((await readFailoverState(path))?.state).toBe('MASTER');
    expect(await readdir(join(dir, 'sub'))).toEqual(['state']); // no temp file left
  });

  it('reads a missing file as no transition yet, and foreign text as none', async () => {
    expect(await readFailoverState(join(dir, 'nope'))).toBeUndefined();
    expect(parseFailoverLine('hello')).toBeUndefined();
    expect(parseFailoverLine('FAULT at Sat 01 Jan 2022 01:00:00 AM UTC\n')).toEqual({ state: 'FAULT', at: 'Sat 01 Jan 2022 01:00:00 AM UTC' });
  });

  it('takes its path from CTSYNC_FAILOVER_STATE_FILE', () => {
    expect(failoverStateFile({})).toBe('/var/run/vyatta-conntrackd-failover-state');
    expect(failoverStateFile({ CTSYNC_FAILOVER_STATE_FILE: '/tmp/x' })).toBe('/tmp/x');
  });
});
