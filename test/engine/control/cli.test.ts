import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../../../src/engine/cli.js';
import { ControlServer, type ControlHandler } from '../../../src/engine/control/server.js';
import { REQUEST, encodeRequest } from '../../../src/engine/control/requests.js';
import { requestText } from '../../../src/engine/control/client.js';
import { ctime, formatLogLine } from '../../../src/engine/log.js';
import { acquireLock, releaseLock } from '../../../src/engine/lockfile.js';

const dir = mkdtempSync(join(tmpdir(), 'ctsync-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const code = (...args: string[]) => {
  const i = parseCommandLine(['ctsyncd', ...args]);
  return i.kind === 'request' ? i.code : i;
};

describe('command line (codes observed from conntrackd 1.4.7)', () => {
  it.each([
    ['-s', 21], ['-s r', 30], ['-s c', 29], ['-s n', 28], ['-s multicast', 31], ['-s l', 31], ['-s ex', 37], ['-s ct', 21],
    ['-s q', 36], ['-s p', 35], ['-s rs', 32], ['-sfoo', 21], ['-i', 16], ['-i ex', 40], ['-i -x', 24], ['-e -x', 25],
    ['-e expect -x', 48], ['-c', 46], ['-c ct', 18], ['-c e', 42], ['-f', 45], ['-f i', 33], ['-f external', 34], ['-F', 43],
    ['-F ct', 0], ['-F e', 38], ['-R', 44], ['-R ct', 1], ['-R expect', 39], ['-B', 22], ['-n', 23], ['-t', 26], ['-k', 20], ['-i ct -s', 21],
  ] as const)('%s → %d', (args, expected) => {
    expect(code(...args.split(' '))).toBe(expected);
  });

  it('errors and exits like conntrackd', () => {
    expect(code('-s', 'foo')).toMatchObject({ kind: 'exit', status: 1, stderr: ["unknown parameter `foo' for option `-s'"] });
    expect(code('-f', 'foo')).toMatchObject({ kind: 'exit', status: 1, stderr: ["unknown parameter `foo' for option `-f'"] });
    expect(code('-c', 'foo')).toMatchObject({ kind: 'exit', status: 0, stderr: ['Unknown option: foo'] });
    expect(code('-z')).toMatchObject({ kind: 'exit', status: 0, stderr: ['Unknown option: -z'] });
    expect(code('-x', '-i')).toMatchObject({ kind: 'exit', status: 1, stderr: ['Invalid parameters'] });
    expect(code('-s', '-d')).toMatchObject({ kind: 'exit', status: 1, stderr: ['Invalid parameters'] });
    expect(code('-d', '-s')).toMatchObject({ kind: 'exit', status: 1, stderr: ['Invalid parameters'] });
    const h = code('-h');
    expect(h).toMatchObject({ kind: 'exit', status: 0 });
    expect((h as { stdout: string }).stdout).toContain('Usage: ctsyncd [commands] [options]\n\nGeneral commands:\n  -d, run in daemon mode\n');
    expect(code('-v')).toMatchObject({ kind: 'exit', status: 0, stdout: expect.stringContaining('Licensed under GPLv2.') });
  });

  it('daemon intents and the default config file', () => {
    expect(parseCommandLine(['ctsyncd'])).toEqual({ kind: 'daemon', configFile: '/etc/conntrackd/conntrackd.conf', daemonize: false });
    expect(parseCommandLine(['ctsyncd', '-C', '/x.conf', '-d'])).toEqual({ kind: 'daemon', configFile: '/x.conf', daemonize: true });
    expect(parseCommandLine(['ctsyncd', '-s', 'multicast'])).toMatchObject({ kind: 'request', code: 31, warnings: ["use `link' instead of `multicast' as parameter."] });
  });
});

describe('log and lock', () => {
  it('formats conntrackd log lines', () => {
    const d = new Date(2026, 10, 2, 3, 4, 5);
    expect(ctime(d)).toBe('Mon Nov  2 03:04:05 2026');
    expect(formatLogLine('ERROR', 'boom', d, 42)).toBe('[Mon Nov  2 03:04:05 2026] (pid=42) [ERROR] boom\n');
  });

  it('refuses a second lock with conntrackd sentence', () => {
    const path = join(dir, 'x.lock');
    acquireLock(path);
    expect(() => acquireLock(path)).toThrow(`lockfile \`${path}' exists, perhaps conntrackd already running?`);
    releaseLock(path);
    expect(existsSync(path)).toBe(false);
  });
});

describe('ControlServer', () => {
  const runtime = { localReadFailed: 0, localUnknownRequest: 0 };
  const handler = {
    stats: async function* () {
      yield 'a';
      yield 'b\n';
    },
    json: (w: string) => `{"which":"${w}"}\n`,
  } as unknown as ControlHandler;

  it('streams chunks, answers JSON codes, counts unknown codes and short reads', async () => {
    const path = join(dir, 's.ctl');
    const server = new ControlServer({ path, handler, onKill: () => undefined, runtime });
    await server.listen();
    expect(await requestText(path, REQUEST.STATS)).toBe('ab\n');
    expect(await requestText(path, REQUEST.JSON_STATS)).toBe('{"which":"stats"}\n');
    expect(await requestText(path, 999)).toBe('');
    expect(await requestText(path, REQUEST.DEBUG_INFO)).toBe('');
    expect(runtime.localUnknownRequest).toBe(2);
    await new Promise<void>((resolve) => {
      const s = connect({ path }, () => s.end(encodeRequest(1).subarray(0, 2)));
      s.on('close', () => resolve());
      s.resume();
    });
    expect(runtime.localReadFailed).toBe(1);
    await server.close();
    expect(existsSync(path)).toBe(false);
    await expect(requestText(path, REQUEST.STATS)).rejects.toThrow("can't connect: is conntrackd running? appropriate permissions?");
  });
});
