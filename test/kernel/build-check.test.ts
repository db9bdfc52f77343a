/**
 * The addon's install step (native/build.mjs) on a machine without libmnl-dev: one line that
 * names the package to install, exit 1, no compiler noise. The headers are hidden by an empty
 * tmpfs in a private mount namespace, so the real tree is never touched.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasProgram, skipNote } from '../helpers/netns.js';
import { ROOT } from '../helpers/programs.js';

const HEADERS = '/usr/include/libmnl';
const reason =
  process.getuid?.() !== 0 ? 'needs root (a private mount namespace)'
  : !hasProgram('unshare') ? 'missing unshare'
  : !existsSync(HEADERS) ? `${HEADERS} is not installed here`
  : '';

describe.skipIf(reason !== '')(`native/build.mjs without libmnl-dev${skipNote(reason)}`, () => {
  it('says which Debian package to install, in one line, and fails', () => {
    const script = `mount -t tmpfs none ${HEADERS} && exec '${process.execPath}' '${join(ROOT, 'native/build.mjs')}'`;
    const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`native: missing libmnl headers (${HEADERS}/libmnl.h) — install the Debian package libmnl-dev (apt-get install libmnl-dev)\n`);
  });
});
