/**
 * Differential check of the config parser against the real conntrackd 1.4.7: every bad
 * config of test/engine/config/bad-configs.ts is fed to `/usr/sbin/conntrackd -C <file> -s`,
 * whose [ERROR] line must be the sentence our parser throws.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/engine/config/parser.js';
import { hasProgram } from '../helpers/netns.js';
import { BAD_CONFIGS } from '../engine/config/bad-configs.js';

const have = hasProgram('/usr/sbin/conntrackd');
const dir = mkdtempSync(join(tmpdir(), 'ctsync-parity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!have)(`config errors equal conntrackd's${have ? '' : ' (skipped: /usr/sbin/conntrackd not installed)'}`, () => {
  it.each(BAD_CONFIGS.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const file = join(dir, 'c.conf');
    writeFileSync(file, c.text);
    const r = spawnSync('/usr/sbin/conntrackd', ['-C', file, '-s'], { encoding: 'utf8', timeout: 5000 });
    const theirs = r.stderr
      .split('\n')
      .find((l) => l.includes('[ERROR]'))
      ?.replace(/^.*\[ERROR\] /, '');
    expect(r.status).toBe(1);
    let ours = '';
    try {
      parseConfig(c.text, { interfaceExists: (n) => n === 'lo' });
    } catch (e) {
      ours = (e as Error).message;
    }
    // dlog() adds the newline; a message that ends in one (Priority) shows an empty line.
    expect(ours.replace(/\n$/, '')).toBe(theirs);
    expect(c.message).toBe(ours);
  });
});
