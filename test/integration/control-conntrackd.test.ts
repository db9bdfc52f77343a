/**
 * The control protocol against the real conntrackd 1.4.7:
 * (a) conntrackd as the client of our ControlServer: it prints our text unchanged and our
 *     handler sees the request code its options stand for;
 * (b) ctsyncd's client against a real conntrackd daemon (NOTRACK over UDP on lo, in a
 *     namespace): same output and exit status as `conntrackd -C conf <cmd>`;
 * (c) nothing listening: same message and exit status.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/engine/cli.js';
import { ControlServer, type ControlHandler } from '../../src/engine/control/server.js';
import { REQUEST } from '../../src/engine/control/requests.js';
import { cleanup, hasProgram, Netns, netnsSupport, waitFor } from '../helpers/netns.js';

const CONNTRACKD = '/usr/sbin/conntrackd';
const have = hasProgram(CONNTRACKD);
const dir = mkdtempSync(join(tmpdir(), 'ctsync-ctl-'));
afterAll(async () => {
  await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

function writeConf(name: string, body: string): string {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, `General {\n\tLockFile ${dir}/${name}.lock\n\tUNIX { Path ${dir}/${name}.ctl }\n}\n${body}`);
  return file;
}

/**
 * Run the real conntrackd client (asynchronously: our server answers from this process);
 * stderr without the log prefix (time and pid differ).
 */
function theirs(conf: string, args: string[], ns?: Netns): Promise<{ status: number; stdout: string; stderr: string }> {
  const [cmd, argv] = ns ? ['ip', ['netns', 'exec', ns.name, CONNTRACKD, '-C', conf, ...args]] : [CONNTRACKD, ['-C', conf, ...args]];
  return new Promise((resolve) => {
    execFile(cmd, argv, { encoding: 'utf8', timeout: 10000 }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ status, stdout, stderr: stripLog(stderr) });
    });
  });
}

async function ours(conf: string, args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const status = await main(['ctsyncd', '-C', conf, ...args], {
    stdout: (t) => (stdout += t.toString()),
    stderr: (l) => (stderr += l),
  });
  return { status, stdout, stderr: stripLog(stderr) };
}

const stripLog = (s: string): string => s.replace(/^\[[^\]]*\] \(pid=\d+\) /gm, '');

const CASES: Array<[string[], number]> = [
  [['-s'], REQUEST.STATS],
  [['-s', 'network'], REQUEST.STATS_NETWORK],
  [['-s', 'r'], REQUEST.STATS_RUNTIME],
  [['-s', 'c'], REQUEST.STATS_CACHE],
  [['-s', 'link'], REQUEST.STATS_LINK],
  [['-s', 'rsqueue'], REQUEST.STATS_RSQUEUE],
  [['-s', 'queue'], REQUEST.STATS_QUEUE],
  [['-s', 'process'], REQUEST.STATS_PROCESS],
  [['-s', 'expect'], REQUEST.EXP_STATS],
  [['-i'], REQUEST.CT_DUMP_INTERNAL],
  [['-e'], REQUEST.CT_DUMP_EXTERNAL],
  [['-i', '-x'], REQUEST.CT_DUMP_INT_XML],
  [['-e', 'expect', '-x'], REQUEST.EXP_DUMP_EXT_XML],
  [['-i', 'expect'], REQUEST.EXP_DUMP_INTERNAL],
  [['-c'], REQUEST.ALL_COMMIT],
  [['-c', 'ct'], REQUEST.CT_COMMIT],
  [['-f'], REQUEST.ALL_FLUSH_CACHE],
  [['-f', 'internal'], REQUEST.CT_FLUSH_INT_CACHE],
  [['-f', 'e'], REQUEST.CT_FLUSH_EXT_CACHE],
  [['-F'], REQUEST.ALL_FLUSH_MASTER],
  [['-F', 'ct'], REQUEST.CT_FLUSH_MASTER],
  [['-R', 'expect'], REQUEST.EXP_RESYNC_MASTER],
  [['-n'], REQUEST.REQUEST_DUMP],
  [['-B'], REQUEST.SEND_BULK],
  [['-t'], REQUEST.RESET_TIMERS],
];

describe.skipIf(!have)(`(a) conntrackd's client against our ControlServer${have ? '' : ' (skipped: no conntrackd)'}`, () => {
  const seen: number[] = [];
  let server: ControlServer;
  let conf: string;
  let killed = 0;
  const answer = (code: number) => (): string => {
    seen.push(code);
    return `reply to ${code}\n\tcounter:${'7'.padStart(12)}\n`;
  };
  beforeAll(async () => {
    conf = writeConf('srv', '');
    // Each handler method records the code that reached it, by family and argument.
    const handler: ControlHandler = {
      stats: (w) => answer(({ general: 21, expect: 37, network: 28, cache: 29, runtime: 30, link: 31, rsqueue: 32, queue: 36, process: 35 } as const)[w])(),
      dump: (c, what, fmt) => answer(({ 'internal ct text': 16, 'external ct text': 17, 'internal ct xml': 24, 'external ct xml': 25, 'internal expect text': 40, 'external expect text': 41, 'internal expect xml': 47, 'external expect xml': 48 } as Record<string, number>)[`${c} ${what} ${fmt}`]!)(),
      commit: async (what) => {
        await new Promise((r) => setTimeout(r, 50)); // the socket stays open until done
        return answer(({ ct: 18, expect: 42, all: 46 } as const)[what])();
      },
      flushCache: (w) => answer(({ internal: 33, external: 34, all: 45 } as const)[w])(),
      flushMaster: (w) => answer(({ ct: 0, expect: 38, all: 43 } as const)[w])(),
      resyncMaster: (w) => answer(({ ct: 1, expect: 39, all: 44 } as const)[w])(),
      sendBulk: answer(22),
      requestDump: answer(23),
      resetTimers: answer(26),
      json: () => '{}\n',
    };
    server = new ControlServer({ path: `${dir}/srv.ctl`, handler, onKill: () => killed++ });
    await server.listen();
  });
  afterAll(() => server?.close());

  it('creates the socket with mode 0600', () => {
    expect(statSync(`${dir}/srv.ctl`).mode & 0o777).toBe(0o600);
  });

  it.each(CASES.map(([a, c]) => [a.join(' '), a, c] as const))('conntrackd %s', async (_n, args, code) => {
    seen.length = 0;
    const r = await theirs(conf, args);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`reply to ${code}\n\tcounter:${'7'.padStart(12)}\n`);
    expect(seen).toEqual([code]);
  });

  it('conntrackd -k reaches onKill', async () => {
    const r = await theirs(conf, ['-k']);
    expect(r.status).toBe(0);
    expect(killed).toBe(1);
  });

  it('ctsyncd client gets the same replies', async () => {
    for (const [args, code] of CASES.slice(0, 6)) {
      const r = await ours(conf, args);
      expect(r).toEqual(await theirs(conf, args));
      expect(r.stdout).toContain(`reply to ${code}`);
    }
  });
});

const ns = netnsSupport();
describe.skipIf(!have || !ns.ok)(`(b) ctsyncd's client against a real conntrackd${ns.ok ? '' : ` (skipped: ${ns.reason})`}`, () => {
  let conf: string;
  let netns: Netns;
  beforeAll(async () => {
    netns = new Netns('ctl');
    conf = writeConf(
      'real',
      'Sync {\n\tMode NOTRACK { }\n\tUDP {\n\t\tIPv4_address 127.0.0.1\n\t\tIPv4_Destination_Address 127.0.0.1\n\t\tPort 3799\n\t\tInterface lo\n\t}\n}\n',
    );
    netns.spawn(CONNTRACKD, ['-C', conf]);
    expect(await waitFor(() => existsSync(`${dir}/real.ctl`), 5000)).toBe(true);
  });

  const ARGS = [['-s'], ['-s', 'network'], ['-s', 'cache'], ['-s', 'runtime'], ['-s', 'link'], ['-s', 'queue'], ['-s', 'process'], ['-s', 'rsqueue'], ['-s', 'expect'], ['-i'], ['-e'], ['-i', '-x'], ['-e', 'expect'], ['-f'], ['-B'], ['-n'], ['-c'], ['-s', 'multicast'], ['-s', 'bogus'], ['-f', 'bogus'], ['-x']];
  it.each(ARGS.map((a) => [a.join(' '), a] as const))('ctsyncd %s ≡ conntrackd %s', async (_n, args) => {
    const expected = await theirs(conf, args, netns);
    const got = await ours(conf, args);
    expect(got.status).toBe(expected.status);
    expect(got.stderr).toBe(expected.stderr);
    // Usage texts name the program: compare replies only where the daemon answered.
    if (!expected.stdout.includes('Usage:')) expect(got.stdout).toBe(expected.stdout);
    if (args.join(' ') === '-s') expect(expected.stdout).toContain('UDP traffic (active device=lo)');
  });

  it('ctsyncd -k stops the real daemon', async () => {
    const r = await ours(conf, ['-k']);
    expect(r.status).toBe(0);
    expect(await waitFor(() => !existsSync(`${dir}/real.ctl`), 5000)).toBe(true);
  });
});

describe.skipIf(!have)('(c) nothing listening', () => {
  it('prints the same sentence and exits 1', async () => {
    const conf = writeConf('none', '');
    const expected = await theirs(conf, ['-s']);
    const got = await ours(conf, ['-s']);
    expect(expected.status).toBe(1);
    expect(got).toEqual(expected);
    expect(got.stderr).toBe("[ERROR] can't connect: is conntrackd running? appropriate permissions?\n");
  });

  it('a missing config file: same sentence and status', async () => {
    const expected = await theirs(join(dir, 'absent.conf'), ['-s']);
    const got = await ours(join(dir, 'absent.conf'), ['-s']);
    expect(got.status).toBe(expected.status);
    expect(got.stderr.trim()).toBe(expected.stderr.trim());
  });
});
