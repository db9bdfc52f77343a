import { createServer, type Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isCtsyncError } from '../../src/common/errors.js';
import { engineEndpoints, REQUEST, unixEngineControl } from '../../src/vrrp-hooks/engine-control.js';

const dir = await mkdtemp(join(tmpdir(), 'ctsync-ctl-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('unixEngineControl (conntrackd.md §5.1)', () => {
  it('sends one native-endian int and returns the text up to the close', async () => {
    const path = join(dir, 'ctl');
    const got: Buffer[] = [];
    const server: Server = createServer((s) => {
      s.once('data', (b: Buffer) => {
        got.push(b);
        s.write('cache internal:\n');
        s.end('done\n');
      });
    });
    await new Promise<void>((r) => server.listen(path, r));
    expect(await unixEngineControl(path).request(REQUEST.ALL_COMMIT)).toBe('cache internal:\ndone\n');
    expect(got[0]).toEqual(Buffer.from(new Int32Array([46]).buffer));
    server.close();
  });

  it('rejects with ENGINE_NOT_RUNNING when nothing listens', async () => {
    const err = await unixEngineControl(join(dir, 'none')).request(REQUEST.STATS).catch((e: unknown) => e);
    expect(isCtsyncError(err, 'ENGINE_NOT_RUNNING')).toBe(true);
  });
});

describe('engineEndpoints', () => {
  it('reads UNIX Path and LockFile, ignoring comments; lock defaults to conntrackd’s', () => {
    const conf = 'General {\n\t# UNIX { Path /wrong }\n\tLockFile /var/lock/conntrack.lock\n\tUNIX {\n\t\tPath /var/run/conntrackd.ctl\n\t}\n}\n';
    expect(engineEndpoints(conf)).toEqual({ unixPath: '/var/run/conntrackd.ctl', lockFile: '/var/lock/conntrack.lock' });
    expect(engineEndpoints('General { UNIX { Path /x } }').lockFile).toBe('/var/lock/conntrackd.lock');
    expect(() => engineEndpoints('General { }')).toThrow(/UNIX/);
  });
});
