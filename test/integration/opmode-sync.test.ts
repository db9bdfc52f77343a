/**
 * The conntrack-sync op-mode against a real engine pair, once with ctsyncd and once with
 * conntrackd 1.4.7 (both FT-FW over UDP on a veth link between two namespaces, both with
 * ExpectationSync, both serving the same control protocol). fw1 is a routed firewall: real
 * TCP, UDP, ICMP and FTP traffic crosses it (the ftp helper makes a real expectation), and
 * `conntrack -I` adds flows with NAT, marks and zones; all of it reaches fw1's internal and
 * fw2's external caches. The compiled `ctsync` shows, resets and restarts them; a real VRRP
 * hook transition drives `show conntrack-sync status`. --json needs ctsyncd's structured
 * requests: validated against the schemas with ctsyncd, refused with conntrackd.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, hasProgram, Netns, netnsSupport, veth, waitFor } from '../helpers/netns.js';
import { CS, SLOW_MS, SYNC_CONFIG, configuredStateDir, conntrackdConf, tableCells, tempDir } from '../opmode/helpers.js';
import { CTSYNC, CTSYNCD } from '../helpers/programs.js';
import { schemaErrors } from '../opmode/schemas.js';
import { CLIENT, FTP_DATA_PORT, RoutedFirewall, SERVER } from './opmode-traffic.js';

const CONNTRACKD = '/usr/sbin/conntrackd';

interface Engine {
  name: 'ctsyncd' | 'conntrackd';
  /** argv of the engine, for `-C conf` (daemon) and `-C conf -s` (client). */
  argv: string[];
}

const ENGINES: Engine[] = [
  { name: 'ctsyncd', argv: CTSYNCD },
  { name: 'conntrackd', argv: [CONNTRACKD] },
];

const ns = netnsSupport();
const ready = ns.ok && hasProgram('conntrackd') && hasProgram('conntrack') && hasProgram('nft') && hasProgram('python3');
const reason = !ns.ok ? ns.reason : 'needs conntrackd, conntrack, nft and python3';

/** Flows injected on fw1 beside the real traffic: plain, NAT, mark, zone, ICMP, IPv6. */
const INJECTED = [
  ['-p', 'tcp', '-s', '10.50.0.1', '-d', '10.60.0.1', '--sport', '1000', '--dport', '80', '--state', 'ESTABLISHED', '-u', 'SEEN_REPLY,ASSURED'],
  ['-p', 'udp', '-s', '10.50.0.2', '-d', '10.60.0.2', '--sport', '5000', '--dport', '53'],
  ['-p', 'icmp', '-s', '10.50.0.3', '-d', '10.60.0.3', '--icmp-type', '8', '--icmp-code', '0', '--icmp-id', '9'],
  ['-p', 'tcp', '-s', '2001:db8:50::1', '-d', '2001:db8:60::1', '--sport', '1001', '--dport', '443', '--state', 'ESTABLISHED', '-u', 'SEEN_REPLY,ASSURED'],
  ['-p', 'tcp', '-s', '10.50.0.4', '-d', '10.60.0.4', '--sport', '40000', '--dport', '443', '--state', 'ESTABLISHED', '-u', 'SEEN_REPLY,ASSURED', '--dst-nat', '192.168.7.7:8443', '-m', '42'],
  ['-p', 'udp', '-s', '10.50.0.5', '-d', '10.60.0.5', '--sport', '5001', '--dport', '53', '--src-nat', '198.51.100.9', '--zone', '7'],
];

/** The cache row of the ftp helper's expectation: the server's data connection to the client. */
const EXPECT_ROW = [SERVER.v4, `${CLIENT.v4}:${FTP_DATA_PORT}`, 'tcp'];

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

describe.skipIf(!ready).each(ENGINES)(`op-mode against a $name pair${ready ? '' : ` (skipped: ${reason})`}`, (eng) => {
  let fw1: Netns;
  let fw2: Netns;
  let dir: string;
  let conf1: string;
  let conf2: string;
  let stateDir: string;
  let stateNoExpect: string;
  /** `expect-sync all`: status shows it expanded. */
  let stateAll: string;
  let stateFile: string;
  /** fw1's kernel flows as cache rows (Source, Destination, Protocol), sorted. */
  let flowRows: string[][];

  const env = (conf: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ...process.env,
    CTSYNC_ENGINE_CONF: conf,
    CTSYNC_FAILOVER_STATE_FILE: stateFile,
    CTSYNC_SYSLOG_SOCKET: path.join(dir, 'no-syslog'),
    ...extra,
  });
  const ctsync = (conf: string, args: string[], opts: { state?: string; env?: NodeJS.ProcessEnv; prefix?: string[] } = {}): Run => {
    const argv = [...(opts.prefix ?? []), ...CTSYNC, '--state-dir', opts.state ?? stateDir, ...args];
    const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', env: env(conf, opts.env), timeout: 30_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  /** The engine's own client (`-C conf <request>`): the reference text. */
  const engine = (conf: string, ...args: string[]): string => spawnSync(eng.argv[0]!, [...eng.argv.slice(1), '-C', conf, ...args], { encoding: 'utf8' }).stdout;
  const lines = (text: string): string[] => text.split('\n').filter((l) => l.trim() !== '');
  const sorted = (r: string[][]): string[][] => [...r].sort((a, b) => a.join().localeCompare(b.join()));
  /** A cache table's rows, checked for VyOS's header and dashes. */
  const cacheRows = (r: Run): string[][] => {
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout.split('\n')[1]).toMatch(/^-+ {2}-+ {2}-+$/);
    const { header, rows } = tableCells(r.stdout);
    expect(header).toEqual(['Source', 'Destination', 'Protocol']);
    return sorted(rows);
  };
  /** A counter of a `-s` block; NaN when the block is missing (a poll then simply waits). */
  const counter = (stats: string, block: string, name: string): number => {
    const at = stats.indexOf(`${block}:`);
    const m = at < 0 ? null : new RegExp(`${name}:\\s+(\\d+)`).exec(stats.slice(at));
    return m ? Number(m[1]) : Number.NaN;
  };
  const pidsOf = (n: Netns): string[] => spawnSync('ip', ['netns', 'pids', n.name], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean);

  /** fw1's kernel table as cache rows: the original direction, without the sync link's own flows. */
  function kernelRows(): string[][] {
    const endpoint = (line: string, addr: string, port: string): string => {
      const a = new RegExp(`\\b${addr}=(\\S+)`).exec(line)![1]!;
      const p = new RegExp(`\\b${port}=(\\d+)`).exec(line)?.[1];
      return p === undefined ? a : a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`;
    };
    const table = fw1.run('conntrack', ['-L']).split('\n').filter((l) => /^\w+\s+\d+ /.test(l) && !l.includes('10.200.0.'));
    return sorted(table.map((l) => [endpoint(l, 'src', 'sport'), endpoint(l, 'dst', 'dport'), l.split(/\s+/)[0]!]));
  }

  beforeAll(async () => {
    dir = tempDir(`pair-${eng.name}`);
    chmodSync(dir, 0o755);
    stateFile = path.join(dir, 'failover-state');
    stateDir = await configuredStateDir([...SYNC_CONFIG, `${CS} expect-sync ftp`]);
    stateNoExpect = await configuredStateDir(SYNC_CONFIG);
    stateAll = await configuredStateDir([...SYNC_CONFIG, `${CS} expect-sync all`]);
    for (const d of [stateDir, stateNoExpect]) chmodSync(d, 0o755);
    const net = new RoutedFirewall(dir, new Netns('sy1'));
    fw1 = net.fw;
    fw2 = new Netns('sy2');
    // Real UDP and ICMP flows must outlive the tests (the kernel's defaults are 30 s).
    fw1.sh('sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600 net.netfilter.nf_conntrack_icmp_timeout=600 net.netfilter.nf_conntrack_icmpv6_timeout=600');
    veth(fw1, 'sync0', fw2, 'sync0');
    fw1.addr('sync0', '10.200.0.1/24');
    fw2.addr('sync0', '10.200.0.2/24');
    conf1 = conntrackdConf({ dir, node: 'fw1', local: '10.200.0.1', peer: '10.200.0.2', device: 'sync0', expectationSync: true });
    conf2 = conntrackdConf({ dir, node: 'fw2', local: '10.200.0.2', peer: '10.200.0.1', device: 'sync0', expectationSync: true });
    fw1.spawn(eng.argv[0]!, [...eng.argv.slice(1), '-C', conf1]);
    fw2.spawn(eng.argv[0]!, [...eng.argv.slice(1), '-C', conf2]);
    for (const conf of [conf1, conf2]) {
      expect(await waitFor(() => spawnSync(eng.argv[0]!, [...eng.argv.slice(1), '-C', conf, '-s']).status === 0, 10_000)).toBe(true);
    }
    await net.start();
    for (const args of INJECTED) fw1.run('conntrack', ['-I', ...args, '-t', '600']);
    flowRows = kernelRows();
    // 6 injected, and the traffic: TCP and ICMP per family, UDP, the FTP control connection.
    expect(flowRows).toHaveLength(INJECTED.length + 6);
    const replicated = await waitFor(() => lines(engine(conf2, '-e')).length === flowRows.length && lines(engine(conf2, '-e', 'expect')).length === 1, 15_000, 100);
    expect(replicated).toBe(true);
  }, 90_000);

  afterAll(cleanup);

  it('show conntrack-sync statistics: VyOS headers around the engine -s, and -s expect with the expectation counted', () => {
    const r = ctsync(conf1, ['show', 'conntrack-sync', 'statistics']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    // The link counters move with every FT-FW alive message: compare with numbers (and the
    // printf padding before them) masked.
    const mask = (t: string): string => t.replace(/ *\d+/g, 'N');
    const expected = `\nMain Table Statistics:\n\n${engine(conf1, '-s')}\n\nExpect Table Statistics:\n\n${engine(conf1, '-s', 'expect')}\n`;
    expect(mask(r.stdout)).toBe(mask(expected));
    const [main, exp] = r.stdout.split('\nExpect Table Statistics:\n') as [string, string];
    expect(main.startsWith(`\nMain Table Statistics:\n\ncache internal:\ncurrent active connections:\t${String(flowRows.length).padStart(12)}\n`)).toBe(true);
    expect(main).toContain('UDP traffic (active device=sync0):\n');
    expect(counter(exp, 'cache internal', 'current active connections')).toBe(1);
    expect(counter(exp, 'cache internal', 'connections created')).toBeGreaterThanOrEqual(1);
    const peer = ctsync(conf2, ['show', 'conntrack-sync', 'statistics']).stdout.split('\nExpect Table Statistics:\n');
    expect(counter(peer[0]!, 'cache external', 'current active connections')).toBe(flowRows.length);
    expect(counter(peer[1]!, 'cache external', 'current active connections')).toBe(1);
    const plain = ctsync(conf2, ['show', 'conntrack-sync', 'statistics'], { state: stateNoExpect });
    expect(plain.stdout).not.toContain('Expect Table Statistics');
  }, SLOW_MS);

  it('show conntrack-sync cache: every flow of fw1 (traffic, NAT, mark, zone) and the expectation, in each cache', () => {
    const internal = ctsync(conf1, ['show', 'conntrack-sync', 'cache', 'internal']);
    expect(cacheRows(internal)).toEqual(flowRows);
    expect(flowRows.some(([src, dst, proto]) => src!.startsWith(`${CLIENT.v4}:`) && dst === `${SERVER.v4}:21` && proto === 'tcp')).toBe(true);
    expect(flowRows).toEqual(expect.arrayContaining([
      ['10.50.0.4:40000', '10.60.0.4:443', 'tcp'],
      ['10.50.0.5:5001', '10.60.0.5:53', 'udp'],
      [CLIENT.v4, SERVER.v4, 'icmp'],
      [CLIENT.v6, SERVER.v6, 'icmpv6'],
      [`[${CLIENT.v6}]:${flowRows.find((r) => r[1] === `[${SERVER.v6}]:8080`)?.[0]?.split(']:')[1]}`, `[${SERVER.v6}]:8080`, 'tcp'],
    ]));
    expect(ctsync(conf1, ['show', 'conntrack-sync', 'cache', 'internal', 'main']).stdout).toBe(internal.stdout);
    expect(cacheRows(ctsync(conf2, ['show', 'conntrack-sync', 'cache', 'external']))).toEqual(flowRows);
    expect(cacheRows(ctsync(conf2, ['show', 'conntrack-sync', 'cache', 'internal']))).toEqual([]);
    expect(cacheRows(ctsync(conf1, ['show', 'conntrack-sync', 'cache', 'internal', 'expect']))).toEqual([EXPECT_ROW]);
    expect(cacheRows(ctsync(conf2, ['show', 'conntrack-sync', 'cache', 'external', 'expect']))).toEqual([EXPECT_ROW]);
    expect(ctsync(conf1, ['show', 'conntrack-sync', 'cache', 'external', 'expect']).stdout).toBe('Source  Destination  Protocol\n------  -----------  --------\n');
  }, SLOW_MS);

  it.runIf(eng.name === 'conntrackd')('--json of engine data needs ctsyncd: conntrackd answers no structured request', () => {
    expect(ctsync(conf1, ['show', 'conntrack-sync', 'statistics', '--json'])).toEqual({
      status: 1, stdout: '', stderr: 'Machine-readable conntrack-sync data is not available: the engine answers no structured requests\n',
    });
  });

  it.runIf(eng.name === 'ctsyncd')('--json: statistics, flows with their NAT, mark, zone and helper, and the expectation, valid against their schemas', () => {
    const json = (conf: string, ...words: string[]): unknown => {
      const r = ctsync(conf, ['show', 'conntrack-sync', ...words, '--json']);
      expect(r).toMatchObject({ status: 0, stderr: '' });
      return JSON.parse(r.stdout);
    };
    const stats = json(conf1, 'statistics');
    expect(schemaErrors('sync-statistics', stats)).toEqual([]);
    expect(stats).toMatchObject({ main: { mode: 'FTFW', internal: { stats: { active: flowRows.length } }, links: [{ device: 'sync0' }] } });
    // The ftp helper's expectation: in fw1's internal expectation cache and fw2's external one,
    // the same counts as the `-s expect` text.
    const expectText = engine(conf1, '-s', 'expect');
    expect(stats).toMatchObject({ expect: { internal: { kind: 'cache', stats: { active: 1, created_ok: counter(expectText, 'cache internal', 'connections created') } } } });
    const peerStats = json(conf2, 'statistics');
    expect(schemaErrors('sync-statistics', peerStats)).toEqual([]);
    expect(peerStats).toMatchObject({ expect: { external: { kind: 'cache', stats: { active: 1 } } } });
    const noExpect = ctsync(conf1, ['show', 'conntrack-sync', 'statistics', '--json'], { state: stateNoExpect });
    expect(JSON.parse(noExpect.stdout)).not.toHaveProperty('expect');
    type Entry = { family: string; protocol: string; original: { src: string; dst: string; sport?: number; dport?: number }; reply: unknown };
    const internal = json(conf1, 'cache', 'internal') as Entry[];
    expect(schemaErrors('sync-cache', internal)).toEqual([]);
    const external = json(conf2, 'cache', 'external', 'main') as Entry[];
    expect(schemaErrors('sync-cache', external)).toEqual([]);
    const ep = (family: string, addr: string, port?: number): string => (port === undefined ? addr : family === 'ipv6' ? `[${addr}]:${port}` : `${addr}:${port}`);
    for (const entries of [internal, external]) {
      // The same flows as the text tables: fw1's kernel table.
      expect(sorted(entries.map(({ family, protocol, original: o }) => [ep(family, o.src, o.sport), ep(family, o.dst, o.dport), protocol]))).toEqual(flowRows);
      const flow = (src: string, dport?: number): Entry | undefined => entries.find((e) => e.original.src === src && (dport === undefined || e.original.dport === dport));
      expect(flow('10.50.0.4')).toMatchObject({ mark: 42, dnat: { address: '192.168.7.7', port: 8443 }, snat: null, zone: 0 });
      expect(flow('10.50.0.5')).toMatchObject({ zone: 7, snat: { address: '198.51.100.9' }, dnat: null });
      expect(flow(CLIENT.v4, 21)).toMatchObject({ protocol: 'tcp', state: 'ESTABLISHED', helper: 'ftp' });
    }
    expect(internal.every((e) => e.reply !== null)).toBe(true);
    // Objects rebuilt from the wire carry no reply tuple; their NAT says what the kernel will make of them.
    expect(external.every((e) => e.reply === null)).toBe(true);
    const ftp = internal.find((e) => e.original.dport === 21)!.original;
    for (const [conf, cache] of [[conf1, 'internal'], [conf2, 'external']] as const) {
      const exp = json(conf, 'cache', cache, 'expect');
      expect(schemaErrors('sync-expect-cache', exp)).toEqual([]);
      expect(exp).toEqual([expect.objectContaining({
        family: 'ipv4', protocol: 'tcp', helper: 'ftp',
        expected: { src: SERVER.v4, dst: CLIENT.v4, sport: 0, dport: FTP_DATA_PORT },
        mask: { src: '255.255.255.255', dst: '255.255.255.255', sport: 0, dport: 65535 },
        master: { src: CLIENT.v4, dst: SERVER.v4, sport: (ftp as { sport: number }).sport, dport: 21 },
      })]);
    }
    expect(json(conf1, 'cache', 'external', 'expect')).toEqual([]);
  }, SLOW_MS);

  it('reset conntrack-sync external-cache: no output; flushed, then refilled by the resync it requests', async () => {
    const created = (): number => counter(engine(conf2, '-s'), 'cache external', 'connections created');
    const refilled = async (before: number): Promise<boolean> =>
      // Every object was created again: the flush emptied the cache and fw1 resent its flows.
      (await waitFor(() => created() >= before + flowRows.length, 10_000)) && lines(engine(conf2, '-e')).length === flowRows.length;
    const before = created();
    expect(before).toBeGreaterThanOrEqual(flowRows.length);
    expect(ctsync(conf2, ['reset', 'conntrack-sync', 'external-cache'], { state: stateNoExpect })).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(await refilled(before)).toBe(true);
    const again = created();
    const r = ctsync(conf2, ['reset', 'conntrack-sync', 'external-cache', '--json'], { state: stateNoExpect });
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const result = JSON.parse(r.stdout);
    expect(schemaErrors('sync-action', result)).toEqual([]);
    expect(result).toEqual({ command: 'reset conntrack-sync external-cache', steps: ['flush-external-cache', 'request-resync'] });
    expect(await refilled(again)).toBe(true);
  }, SLOW_MS);

  it('reset conntrack-sync internal-cache: flushed, resynced from the kernel, bulk-sent to the peer', async () => {
    const created = counter(engine(conf1, '-s'), 'cache internal', 'connections created');
    const peer = (name: string): number => counter(engine(conf2, '-s'), 'cache external', name);
    const peerCreated = peer('connections created');
    const peerDestroyed = peer('connections destroyed');
    expect([created, peerCreated, peerDestroyed].every(Number.isInteger)).toBe(true);
    const r = ctsync(conf1, ['reset', 'conntrack-sync', 'internal-cache']);
    expect(r).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(await waitFor(() => counter(engine(conf1, '-s'), 'cache internal', 'connections created') >= created + flowRows.length, 10_000)).toBe(true);
    expect(lines(engine(conf1, '-i'))).toHaveLength(flowRows.length);
    // The peer saw the flush (destroy messages), then the bulk send (the same objects again).
    expect(await waitFor(() => peer('connections created') >= peerCreated + flowRows.length, 10_000)).toBe(true);
    expect(peer('connections destroyed')).toBeGreaterThanOrEqual(peerDestroyed + flowRows.length);
    expect(lines(engine(conf2, '-e'))).toHaveLength(flowRows.length);
  });

  it('restart conntrack-sync: no output (--json: its steps); a new engine with the same config, resync and bulk send', async () => {
    const restart = async (json: string[]): Promise<Run> => {
      const before = pidsOf(fw1);
      expect(before).toHaveLength(1);
      const r = ctsync(conf1, ['restart', 'conntrack-sync', ...json], { env: { CTSYNC_ENGINE_CMD: `ip netns exec ${fw1.name} ${eng.argv.join(' ')}` } });
      const after = pidsOf(fw1);
      expect(after).toHaveLength(1);
      expect(after[0]).not.toBe(before[0]);
      expect(engine(conf1, '-s', 'runtime')).toMatch(/^daemon uptime: 0 min\n/);
      // The new engine read the kernel table at start-up: the same flows are in its cache.
      expect(await waitFor(() => lines(engine(conf1, '-i')).length === flowRows.length, 10_000)).toBe(true);
      return r;
    };
    expect(await restart([])).toEqual({ status: 0, stdout: '', stderr: '' });
    const r = await restart(['--json']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const result = JSON.parse(r.stdout);
    expect(schemaErrors('sync-action', result)).toEqual([]);
    expect(result).toEqual({ command: 'restart conntrack-sync', steps: ['kill', 'start', 'request-resync', 'send-bulk'] });
  }, 2 * SLOW_MS);

  it.runIf(eng.name === 'ctsyncd')('show conntrack-sync status: the config, then the transitions a real VRRP hook made on fw2', () => {
    const status = (state = stateDir): Run => ctsync(conf2, ['show', 'conntrack-sync', 'status'], { state });
    // VyOS's layout: a leading newline; the state file's line keeps its newline (a blank line).
    const text = (last: string, expectation: string): string =>
      `\nsync-interface        : eth0\nfailover-mechanism    : vrrp [sync-group SG1]\nlast state transition : ${last}\nExpectationSync       : ${expectation}\n`;
    expect(status()).toEqual({ status: 0, stdout: text('no transition yet!', 'ftp'), stderr: '' });
    expect(status(stateNoExpect).stdout).toBe(text('no transition yet!', 'disabled'));
    expect(status(stateAll).stdout).toBe(text('no transition yet!', 'ftp, sip, h323, nfs, sqlnet'));
    // keepalived's notify line, run as keepalived runs it: a program in fw2's namespace.
    const hook = (state: string): Run => {
      const r = spawnSync('ip', ['netns', 'exec', fw2.name, ...CTSYNC, 'vrrp-hook', state, 'SG1'], {
        encoding: 'utf8', timeout: 30_000, env: env(conf2, { CTSYNC_LOCK_DIR: path.join(dir, 'run'), CTSYNC_GUARD: 'off' }),
      });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    for (const state of ['master', 'backup'] as const) {
      expect(hook(state)).toMatchObject({ status: 0, stderr: '' });
      const line = readFileSync(stateFile, 'utf8').trimEnd();
      expect(line).toMatch(new RegExp(`^${state.toUpperCase()} at \\w{3} \\d{2} \\w{3} \\d{4} \\d{2}:\\d{2}:\\d{2} [AP]M \\S+$`));
      expect(status()).toEqual({ status: 0, stdout: text(`${line}\n`, 'ftp'), stderr: '' });
      const json = JSON.parse(ctsync(conf2, ['show', 'conntrack-sync', 'status', '--json']).stdout);
      expect(schemaErrors('sync-status', json)).toEqual([]);
      expect(json).toEqual({ sync_interface: 'eth0', failover_mechanism: 'vrrp', sync_group: 'SG1', last_transition: line, sync_protocols: ['ftp'] });
    }
    // The master transition committed fw2's external cache: fw1's flows are in fw2's kernel.
    expect(fw2.run('conntrack', ['-L', '-s', '10.50.0.4'])).toContain('dport=443');
  }, 2 * SLOW_MS);

  it('errors: engine not running, socket permission denied: one line each, exit 1, no stack', () => {
    const down = path.join(dir, 'down.conf');
    const gone = path.join(dir, 'gone.ctl');
    writeFileSync(down, `General {\n\tLockFile ${path.join(dir, 'gone.lock')}\n\tUNIX {\n\t\tPath ${gone}\n\t}\n}\n`);
    expect(ctsync(down, ['show', 'conntrack-sync', 'cache', 'internal', 'expect', '--json'])).toEqual({
      status: 1, stdout: '', stderr: `conntrack-sync engine is not running (no answer on ${gone})\n`,
    });
    expect(ctsync(down, ['restart', 'conntrack-sync'], { env: { CTSYNC_ENGINE_CMD: 'false' } })).toEqual({
      status: 1, stdout: '', stderr: `Failed to start the conntrack-sync engine (false -C ${down} -d)\n`,
    });
    chmodSync(conf1, 0o644);
    const nobody = ctsync(conf1, ['show', 'conntrack-sync', 'statistics'], { prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] });
    expect(nobody).toEqual({
      status: 1, stdout: '', stderr: `Permission denied on the conntrack-sync control socket ${path.join(dir, 'fw1.ctl')}: run as root\n`,
    });
  });
});
