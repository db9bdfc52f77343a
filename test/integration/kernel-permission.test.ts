/**
 * Without root / CAP_NET_ADMIN, opening the netlink kernel table fails with KERNEL_PERMISSION.
 * The check runs the compiled table in a child process that drops to an unprivileged user.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { addonAvailable } from '../../src/engine/kernel/addon.js';
import { hasProgram } from '../helpers/netns.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
// A direct child of the repository, so the compiled addon.js finds build/Release as it would in dist/.
const out = `${root}.perm-${process.pid}`;
const reason = process.getuid?.() !== 0 ? 'needs root to drop privileges' : !addonAvailable() ? 'the ctnetlink addon is not built' : !hasProgram('setpriv') ? 'setpriv missing' : '';

describe.skipIf(reason !== '')(`kernel table permission${reason ? ` (skipped: ${reason})` : ''}`, () => {
  beforeAll(() => {
    execFileSync(process.execPath, [
      `${root}node_modules/typescript/bin/tsc`, '--outDir', out, '--rootDir', `${root}src`, '--module', 'nodenext',
      '--target', 'es2023', '--skipLibCheck', '--types', 'node', `${root}src/engine/kernel/netlink-table.ts`,
    ]);
  }, 60_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test('an unprivileged user gets KERNEL_PERMISSION with a sentence that says so', () => {
    const script = `import(${JSON.stringify(`${out}/engine/kernel/netlink-table.js`)}).then((m) => {
      try { m.NetlinkKernelTable.open(); console.log('opened'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
    });`;
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, '-e', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const res = JSON.parse(r.stdout.trim());
    expect(res.code).toBe('KERNEL_PERMISSION');
    expect(res.message).toMatch(/needs root or CAP_NET_ADMIN/);
  });
});
