/**
 * The conntrack-sync op-mode against a real engine pair, once with ctsyncd and once with
 * conntrackd 1.4.7 (both FT-FW over UDP on a veth link between two namespaces, both serving the
 * same control protocol). Flows injected in fw1's kernel table reach fw1's internal and fw2's
 * external cache; the compiled `ctsync` shows, resets and restarts them. --json needs ctsyncd's
 * structured requests: validated against the schemas with ctsyncd, refused with conntrackd.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, hasProgram, Netns, netnsSupport, veth, waitFor } from '../helpers/netns.js';
import { CS, configuredStateDir, conntrackdConf, tempDir } from '../opmode/helpers.js';
import { CTSYNC, CTSYNCD } from '../helpers/programs.js';
import { schemaErrors } from '../opmode/schemas.js';

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
const ready = ns.ok && hasProgram('conntrackd') && hasProgram('conntrack');
const reason = !ns.ok ? ns.reason : 'needs conntrackd and conntrack';

/** A valid conntrack-sync config (VyOS verify needs the VRRP sync-group). */
const CONFIG = [
  `${CS} interface eth0`,
  `${CS} failover-mechanism vrrp sync-group SG1`,
  'high-availability vrrp group internal interface eth1',
  'high-availability vrrp group internal vrid 10',
  'high-availability vrrp group internal address 198.51.100.100/24',
  'high-availability vrrp sync-group SG1 member internal',
];

/** The flows injected on fw1, and the cache rows they must give (Source, Destination, Protocol). */
const FLOWS = [
  { args: ['-p', 'tcp', '-s', '10.50.0.1', '-d', '10.60.0.1', '--sport', '1000', '--dport', '80', '--state', 'ESTABLISHED', '-u', 'SEEN_REPLY,ASSURED'], row: ['10.50.0.1:1000', '10.60.0.1:80', 'tcp'] },
  { args: ['-p', 'udp', '-s', '10.50.0.2', '-d', '10.60.0.2', '--sport', '5000', '--dport', '53'], row: ['10.50.0.2:5000', '10.60.0.2:53', 'udp'] },
  { args: ['-p', 'icmp', '-s', '10.50.0.3', '-d', '10.60.0.3', '--icmp-type', '8', '--icmp-code', '0', '--icmp-id', '9'], row: ['10.50.0.3', '10.60.0.3', 'icmp'] },
  { args: ['-p', 'tcp', '-s', '2001:db8:50::1', '-d', '2001:db8:60::1', '--sport', '1001', '--dport', '443', '--state', 'ESTABLISHED', '-u', 'SEEN_REPLY,ASSURED'], row: ['[2001:db8:50::1]:1001', '[2001:db8:60::1]:443', 'tcp'] },
];

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
  let stateFile: string;

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
  /** Cache rows as cells, without the header and dashes. */
  const rows = (text: string): string[][] => lines(text).slice(2).map((l) => l.split(/\s{2,}/));
  const sorted = (r: string[][]): string[][] => [...r].sort((a, b) => a.join().localeCompare(b.join()));
  /** A counter of a `-s` block; NaN when the block is missing (a poll then simply waits). */
  const counter = (stats: string, block: string, name: string): number => {
    const at = stats.indexOf(`${block}:`);
    const m = at < 0 ? null : new RegExp(`${name}:\\s+(\\d+)`).exec(stats.slice(at));
    return m ? Number(m[1]) : Number.NaN;
  };
  const pidsOf = (n: Netns): string[] => spawnSync('ip', ['netns', 'pids', n.name], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean);

  beforeAll(async () => {
    dir = tempDir(`pair-${eng.name}`);
    chmodSync(dir, 0o755);
    stateFile = path.join(dir, 'failover-state');
    stateDir = await configuredStateDir([...CONFIG, `${CS} expect-sync ftp`]);
    stateNoExpect = await configuredStateDir(CONFIG);
    for (const d of [stateDir, stateNoExpect]) chmodSync(d, 0o755);
    fw1 = new Netns('sy1');
    fw2 = new Netns('sy2');
    veth(fw1, 'sync0', fw2, 'sync0');
    fw1.addr('sync0', '10.200.0.1/24');
    fw2.addr('sync0', '10.200.0.2/24');
    conf1 = conntrackdConf({ dir, node: 'fw1', local: '10.200.0.1', peer: '10.200.0.2', device: 'sync0', expectationSync: true });
    conf2 = conntrackdConf({ dir, node: 'fw2', local: '10.200.0.2', peer: '10.200.0.1', device: 'sync0' });
    fw1.spawn(eng.argv[0]!, [...eng.argv.slice(1), '-C', conf1]);
    fw2.spawn(eng.argv[0]!, [...eng.argv.slice(1), '-C', conf2]);
    for (const conf of [conf1, conf2]) {
      expect(await waitFor(() => spawnSync(eng.argv[0]!, [...eng.argv.slice(1), '-C', conf, '-s']).status === 0, 10_000)).toBe(true);
    }
    for (const f of FLOWS) fw1.run('conntrack', ['-I', ...f.args, '-t', '600']);
    expect(await waitFor(() => lines(engine(conf2, '-e')).length === FLOWS.length, 10_000)).toBe(true);
  }, 60_000);

  afterAll(cleanup);

  it('show conntrack-sync statistics: VyOS headers around the engine -s (and -s expect with expect-sync)', () => {
    const r = ctsync(conf1, ['show', 'conntrack-sync', 'statistics']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    // The link counters move with every FT-FW alive message: compare with numbers (and the
    // printf padding before them) masked.
    const mask = (t: string): string => t.replace(/ *\d+/g, 'N');
    const expected = `\nMain Table Statistics:\n\n${engine(conf1, '-s')}\n\nExpect Table Statistics:\n\n${engine(conf1, '-s', 'expect')}\n`;
    expect(mask(r.stdout)).toBe(mask(expected));
    expect(r.stdout).toMatch(/^\nMain Table Statistics:\n\ncache internal:\ncurrent active connections:\t {11}4\n/);
    expect(r.stdout).toContain('UDP traffic (active device=sync0):\n');
    const plain = ctsync(conf2, ['show', 'conntrack-sync', 'statistics'], { state: stateNoExpect });
    expect(plain.stdout).not.toContain('Expect Table Statistics');
    expect(counter(plain.stdout, 'cache external', 'current active connections')).toBe(FLOWS.length);
  });

  it('show conntrack-sync cache: Source / Destination / Protocol of each cache', () => {
    const internal = ctsync(conf1, ['show', 'conntrack-sync', 'cache', 'internal']);
    expect(internal.status).toBe(0);
    expect(lines(internal.stdout)[0]!.split(/\s{2,}/)).toEqual(['Source', 'Destination', 'Protocol']);
    expect(lines(internal.stdout)[1]).toMatch(/^-+ {2}-+ {2}-+$/);
    expect(sorted(rows(internal.stdout))).toEqual(sorted(FLOWS.map((f) => f.row)));
    expect(ctsync(conf1, ['show', 'conntrack-sync', 'cache', 'internal', 'main']).stdout).toBe(internal.stdout);
    const external = ctsync(conf2, ['show', 'conntrack-sync', 'cache', 'external']);
    expect(sorted(rows(external.stdout))).toEqual(sorted(FLOWS.map((f) => f.row)));
    expect(rows(ctsync(conf2, ['show', 'conntrack-sync', 'cache', 'internal']).stdout)).toEqual([]);
    expect(ctsync(conf1, ['show', 'conntrack-sync', 'cache', 'external', 'expect']).stdout).toBe('Source  Destination  Protocol\n------  -----------  --------\n');
  });

  it.runIf(eng.name === 'conntrackd')('--json of engine data needs ctsyncd: conntrackd answers no structured request', () => {
    expect(ctsync(conf1, ['show', 'conntrack-sync', 'statistics', '--json'])).toEqual({
      status: 1, stdout: '', stderr: 'Machine-readable conntrack-sync data is not available: the engine answers no structured requests\n',
    });
  });

  it.runIf(eng.name === 'ctsyncd')('--json: statistics and caches from the structured requests, valid against their schemas', () => {
    const json = (conf: string, ...words: string[]): unknown => {
      const r = ctsync(conf, ['show', 'conntrack-sync', ...words, '--json']);
      expect(r).toMatchObject({ status: 0, stderr: '' });
      return JSON.parse(r.stdout);
    };
    const stats = json(conf1, 'statistics') as { main: { mode: string; internal: { stats: { active: number } }; links: { device: string }[] } };
    expect(schemaErrors('sync-statistics', stats)).toEqual([]);
    expect(stats.main).toMatchObject({ mode: 'FTFW', internal: { stats: { active: FLOWS.length } }, links: [{ device: 'sync0' }] });
    const internal = json(conf1, 'cache', 'internal') as { original: { src: string }; reply: unknown; id: unknown }[];
    expect(schemaErrors('sync-cache', internal)).toEqual([]);
    expect(internal.map((e) => e.original.src).sort()).toEqual(['10.50.0.1', '10.50.0.2', '10.50.0.3', '2001:db8:50::1']);
    expect(internal.every((e) => e.reply !== null)).toBe(true);
    const external = json(conf2, 'cache', 'external', 'main') as { original: { src: string }; reply: unknown }[];
    expect(schemaErrors('sync-cache', external)).toEqual([]);
    expect(external.map((e) => e.original.src).sort()).toEqual(['10.50.0.1', '10.50.0.2', '10.50.0.3', '2001:db8:50::1']);
    // Objects rebuilt from the wire carry no reply tuple.
    expect(external.every((e) => e.reply === null)).toBe(true);
    for (const [conf, cache] of [[conf1, 'internal'], [conf2, 'external']] as const) {
      const exp = json(conf, 'cache', cache, 'expect');
      expect(schemaErrors('sync-expect-cache', exp)).toEqual([]);
    }
  });

  it('reset conntrack-sync external-cache: flushed, then refilled by the resync it requests', async () => {
    const before = counter(engine(conf2, '-s'), 'cache external', 'connections created');
    expect(before).toBeGreaterThanOrEqual(FLOWS.length);
    const r = ctsync(conf2, ['reset', 'conntrack-sync', 'external-cache', '--json'], { state: stateNoExpect });
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const result = JSON.parse(r.stdout);
    expect(result).toEqual({ command: 'reset conntrack-sync external-cache', steps: ['flush-external-cache', 'request-resync'] });
    expect(schemaErrors('sync-action', result)).toEqual([]);
    // Every object was created again: the flush emptied the cache and fw1 resent its flows.
    expect(await waitFor(() => counter(engine(conf2, '-s'), 'cache external', 'connections created') >= before + FLOWS.length, 10_000)).toBe(true);
    expect(lines(engine(conf2, '-e'))).toHaveLength(FLOWS.length);
  });

  it('reset conntrack-sync internal-cache: flushed, resynced from the kernel, bulk-sent to the peer', async () => {
    const created = counter(engine(conf1, '-s'), 'cache internal', 'connections created');
    const peer = (name: string): number => counter(engine(conf2, '-s'), 'cache external', name);
    const peerCreated = peer('connections created');
    const peerDestroyed = peer('connections destroyed');
    expect([created, peerCreated, peerDestroyed].every(Number.isInteger)).toBe(true);
    const r = ctsync(conf1, ['reset', 'conntrack-sync', 'internal-cache']);
    expect(r).toEqual({ status: 0, stdout: '', stderr: '' });
    expect(await waitFor(() => counter(engine(conf1, '-s'), 'cache internal', 'connections created') >= created + FLOWS.length, 10_000)).toBe(true);
    expect(lines(engine(conf1, '-i'))).toHaveLength(FLOWS.length);
    // The peer saw the flush (destroy messages), then the bulk send (the same objects again).
    expect(await waitFor(() => peer('connections created') >= peerCreated + FLOWS.length, 10_000)).toBe(true);
    expect(peer('connections destroyed')).toBeGreaterThanOrEqual(peerDestroyed + FLOWS.length);
    expect(lines(engine(conf2, '-e'))).toHaveLength(FLOWS.length);
  });

  it('restart conntrack-sync: a new engine with the same config, resync and bulk send', async () => {
    const before = pidsOf(fw1);
    expect(before).toHaveLength(1);
    const r = ctsync(conf1, ['restart', 'conntrack-sync', '--json'], { env: { CTSYNC_ENGINE_CMD: `ip netns exec ${fw1.name} ${eng.argv.join(' ')}` } });
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toEqual({ command: 'restart conntrack-sync', steps: ['kill', 'start', 'request-resync', 'send-bulk'] });
    const after = pidsOf(fw1);
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before[0]);
    expect(engine(conf1, '-s', 'runtime')).toMatch(/^daemon uptime: 0 min\n/);
    // The new engine read the kernel table at start-up: the same flows are in its cache.
    expect(await waitFor(() => lines(engine(conf1, '-i')).length === FLOWS.length, 10_000)).toBe(true);
  }, 30_000);

  it('show conntrack-sync status: config and the failover state file', () => {
    const none = ctsync(conf1, ['show', 'conntrack-sync', 'status']);
    expect(none).toEqual({
      status: 0,
      stdout: 'sync-interface        : eth0\nfailover-mechanism    : vrrp [sync-group SG1]\nlast state transition : no transition yet!\nExpectationSync       : ftp\n',
      stderr: '',
    });
    writeFileSync(stateFile, 'BACKUP at Sun 22 Nov 2026 02:00:00 AM UTC\n');
    const json = JSON.parse(ctsync(conf1, ['show', 'conntrack-sync', 'status', '--json'], { state: stateNoExpect }).stdout);
    expect(json).toEqual({ sync_interface: 'eth0', failover_mechanism: 'vrrp', sync_group: 'SG1', last_transition: 'BACKUP at Sun 22 Nov 2026 02:00:00 AM UTC', sync_protocols: [] });
    expect(schemaErrors('sync-status', json)).toEqual([]);
  });

  it('errors: engine not running, socket permission denied: one line each, exit 1', () => {
    const down = path.join(dir, 'down.conf');
    writeFileSync(down, `General {\n\tUNIX {\n\t\tPath ${path.join(dir, 'gone.ctl')}\n\t}\n}\n`);
    expect(ctsync(down, ['show', 'conntrack-sync', 'cache', 'internal'])).toEqual({
      status: 1, stdout: '', stderr: `conntrack-sync engine is not running (no answer on ${path.join(dir, 'gone.ctl')})\n`,
    });
    chmodSync(conf1, 0o644);
    const nobody = ctsync(conf1, ['show', 'conntrack-sync', 'statistics'], { prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] });
    expect(nobody).toEqual({
      status: 1, stdout: '', stderr: `Permission denied on the conntrack-sync control socket ${path.join(dir, 'fw1.ctl')}: run as root\n`,
    });
  });
});
