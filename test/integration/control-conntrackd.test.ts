/**
 * The control protocol against the real conntrackd 1.4.7:
 * (a) conntrackd as the client of our ControlServer: it prints our text unchanged and our
 *     handler sees the request code its options stand for;
 * (b) ctsyncd's client against a real conntrackd daemon (NOTRACK over UDP on lo, in a
 *     namespace): same output and exit status as `conntrackd -C conf <cmd>`;
 * (c) nothing listening: same message and exit status;
 * (d) one real expectation in both daemons' caches: the same dump lines, plain and XML.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/engine/cli.js';
import { ControlServer, type ControlHandler } from '../../src/engine/control/server.js';
import { REQUEST } from '../../src/engine/control/requests.js';
import { cleanup, hasProgram, Netns, netnsSupport, veth, waitFor } from '../helpers/netns.js';
import { CTSYNCD } from '../helpers/programs.js';
import { conntrackdConf } from '../opmode/helpers.js';
import { CLIENT, FTP_DATA_PORT, RoutedFirewall, SERVER } from './opmode-traffic.js';

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

/**
 * (d) One real expectation (the kernel ftp helper's, from an FTP PORT command through a routed
 * firewall) in both daemons' caches at once: on the firewall, conntrackd and ctsyncd read the
 * same kernel table (internal caches); each syncs it to the other program on the peer
 * (external caches, port 3780 for conntrackd → ctsyncd, 3781 for ctsyncd → conntrackd).
 */
describe.skipIf(!have || !ns.ok || !hasProgram('nft') || !hasProgram('python3'))(
  `(d) expectation dumps of conntrackd and ctsyncd for the same expectation${ns.ok ? '' : ` (skipped: ${ns.reason})`}`,
  () => {
    type Node = { conf: string; argv: string[] };
    let fwTheirs: Node;
    let fwOurs: Node;
    let peerTheirs: Node;
    let peerOurs: Node;
    let fw: Netns;
    let peer: Netns;
    const ask = (n: Node, where: Netns, args: string[]): string =>
      spawnSync('ip', ['netns', 'exec', where.name, ...n.argv, '-C', n.conf, ...args], { encoding: 'utf8', timeout: 10_000 }).stdout;

    beforeAll(async () => {
      const net = new RoutedFirewall(dir, new Netns('xf'));
      fw = net.fw;
      peer = new Netns('xp');
      veth(fw, 'sync0', peer, 'sync0');
      fw.addr('sync0', '10.200.0.1/24');
      peer.addr('sync0', '10.200.0.2/24');
      const conf = (node: string, local: string, remote: string, port: number): string =>
        conntrackdConf({ dir, node, local, peer: remote, device: 'sync0', expectationSync: true, port });
      fwTheirs = { conf: conf('xfw-ctd', '10.200.0.1', '10.200.0.2', 3780), argv: [CONNTRACKD] };
      peerOurs = { conf: conf('xpeer-ours', '10.200.0.2', '10.200.0.1', 3780), argv: CTSYNCD };
      fwOurs = { conf: conf('xfw-ours', '10.200.0.1', '10.200.0.2', 3781), argv: CTSYNCD };
      peerTheirs = { conf: conf('xpeer-ctd', '10.200.0.2', '10.200.0.1', 3781), argv: [CONNTRACKD] };
      for (const [n, where] of [[fwTheirs, fw], [fwOurs, fw], [peerTheirs, peer], [peerOurs, peer]] as const) {
        where.spawn(n.argv[0]!, [...n.argv.slice(1), '-C', n.conf]);
        expect(await waitFor(() => ask(n, where, ['-s', 'cache']).includes('cache:internal'), 10_000, 100)).toBe(true);
      }
      await net.endpoint(net.server, ['servers', '8080'], 'ready');
      await net.endpoint(net.client, ['ftp-client', SERVER.v4, String(FTP_DATA_PORT)], 'announced');
      const one = (n: Node, where: Netns, which: '-i' | '-e'): boolean => ask(n, where, [which, 'expect']).split('\n').filter(Boolean).length === 1;
      expect(await waitFor(() => one(fwTheirs, fw, '-i') && one(fwOurs, fw, '-i') && one(peerTheirs, peer, '-e') && one(peerOurs, peer, '-e'), 15_000, 100)).toBe(true);
    }, 90_000);

    /** The kernel's view of the expectation: its master's source port is the client's ephemeral one. */
    const masterPort = (): string => /master-src=\S+ master-dst=\S+ sport=(\d+)/.exec(fw.run('conntrack', ['-L', 'expect']))![1]!;
    /** The only field of a dump that differs between two daemons asked a moment apart. */
    const age = (text: string): string => text.replace(/ \[active since \d+s\]$/gm, ' [active since Ns]');

    it('-i expect -x and -e expect -x: the same XML, byte for byte', () => {
      const xml =
        `<flow><layer3 protonum="2" protoname="ipv4"><expected><src>${SERVER.v4}</src><dst>${CLIENT.v4}</dst></expected>` +
        '<mask><src>255.255.255.255</src><dst>255.255.255.255</dst></mask>' +
        `<master><src>${CLIENT.v4}</src><dst>${SERVER.v4}</dst></master></layer3>` +
        `<layer4 protonum="6" protoname="tcp"><expected><sport>0</sport><dport>${FTP_DATA_PORT}</dport></expected>` +
        `<mask><sport>0</sport><dport>65535</dport></mask><master><sport>${masterPort()}</sport><dport>21</dport></master></layer4>` +
        '<meta><helper-name>ftp</helper-name><class>0</class></meta></flow>\n';
      expect(ask(fwTheirs, fw, ['-i', 'expect', '-x'])).toBe(xml);
      expect(ask(fwOurs, fw, ['-i', 'expect', '-x'])).toBe(xml);
      // Rebuilt from the wire: conntrackd's message in ctsyncd's cache, ctsyncd's in conntrackd's.
      expect(ask(peerTheirs, peer, ['-e', 'expect', '-x'])).toBe(xml);
      expect(ask(peerOurs, peer, ['-e', 'expect', '-x'])).toBe(xml);
    });

    it('-i expect and -e expect: the same line but for the age', () => {
      const internal = age(ask(fwTheirs, fw, ['-i', 'expect']));
      expect(internal).toMatch(new RegExp(`^proto=6 src=${SERVER.v4} dst=${CLIENT.v4} sport=0 dport=${FTP_DATA_PORT} .* helper=ftp \\[active since Ns\\]\n$`));
      expect(age(ask(fwOurs, fw, ['-i', 'expect']))).toBe(internal);
      expect(age(ask(peerTheirs, peer, ['-e', 'expect']))).toBe(internal);
      expect(age(ask(peerOurs, peer, ['-e', 'expect']))).toBe(internal);
    });
  },
);
