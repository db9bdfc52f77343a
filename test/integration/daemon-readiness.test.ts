/**
 * The daemon's readiness for keepalived (`track_file`, src/engine/daemon/track-file.ts): two
 * ctsyncd processes on memory kernel tables, FT-FW over UDP on lo. B starts with
 * StartupResync: its track file reads the demotion until A has answered and the resync has
 * settled, then 0. A commit on B (what a master transition does) keeps it at 0; with
 * CTSYNC_TRACK_FILE=off no file is written. No privileges needed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/netns.js';
import { CTSYNCD } from '../helpers/programs.js';

const PORT = 3791;
const dir = mkdtempSync(join(tmpdir(), 'ctsync-ready-'));

function writeConf(name: string, local: string, peer: string, extra = ''): string {
  const file = join(dir, `${name}.conf`);
  writeFileSync(
    file,
    `Sync {\n\tMode FTFW {\n${extra}\t}\n\tUDP {\n\t\tIPv4_address ${local}\n\t\tIPv4_Destination_Address ${peer}\n\t\tPort ${PORT}\n\t\tInterface lo\n\t}\n}\n` +
      `General {\n\tLockFile ${dir}/${name}.lock\n\tLogFile ${dir}/${name}.log\n\tSyslog off\n\tUNIX {\n\t\tPath ${dir}/${name}.ctl\n\t}\n}\n`,
  );
  return file;
}

function ctsyncd(conf: string, args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stderr: string } {
  const r = spawnSync(CTSYNCD[0]!, [...CTSYNCD.slice(1), '-C', conf, ...args], {
    encoding: 'utf8',
    timeout: 15_000,
    env: { ...process.env, CTSYNCD_KERNEL: 'memory', ...env },
  });
  return { status: r.status, stderr: r.stderr };
}

const read = (file: string): string | undefined => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);

describe('ctsyncd writes keepalived readiness to its track file', () => {
  const a = writeConf('a', '127.0.0.1', '127.0.0.2');
  const b = writeConf('b', '127.0.0.2', '127.0.0.1', '\t\tStartupResync on\n');
  const aTrack = join(dir, 'a-ready');
  const bTrack = join(dir, 'b-ready');

  beforeAll(() => {
    expect(ctsyncd(a, ['-d'], { CTSYNC_TRACK_FILE: 'off' })).toMatchObject({ status: 0 });
  });

  afterAll(() => {
    for (const conf of [a, b]) ctsyncd(conf, ['-k']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('demoted until the startup resync has settled, then 0; a commit (master) keeps 0', async () => {
    expect(ctsyncd(b, ['-d'], { CTSYNC_TRACK_FILE: bTrack })).toMatchObject({ status: 0 });
    expect(read(bTrack)).toBe('-253\n');
    expect(await waitFor(() => read(bTrack) === '0\n', 10_000, 100)).toBe(true);
    expect(ctsyncd(b, ['-c'])).toMatchObject({ status: 0 });
    expect(read(bTrack)).toBe('0\n');
  }, 20_000);

  it('CTSYNC_TRACK_FILE=off writes nothing', () => {
    expect(read(aTrack)).toBeUndefined();
  });
});
