/**
 * Op-mode on the real kernel table: the compiled `ctsync` inside a firewall namespace that
 * forwards real TCP/UDP/ICMP traffic (IPv4 and IPv6) between two others through an nft
 * stateful ruleset, plus `conntrack -I` flows with NAT, marks and zones. Every table is
 * checked against conntrack(8)'s view of the same namespace; every --json against its schema.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, Netns, netnsSupport, waitFor } from '../helpers/netns.js';
import { CTSYNC } from '../helpers/programs.js';
import { schemaErrors } from '../opmode/schemas.js';
import { RESET_QUESTION } from '../../src/opmode/reset-conntrack.js';
import { SLOW_MS, tableCells, tempDir } from '../opmode/helpers.js';
import { RoutedFirewall } from './opmode-traffic.js';

/** `node bin/ctsync.js`, built by the global setup. */
const [NODE, BIN] = CTSYNC as [string, string];

const ns = netnsSupport();

/** The fw namespace's UDP timeout (the kernel's default is 30 s). */
const UDP_TIMEOUT = 600;

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

describe.skipIf(!ns.ok)(`op-mode on the kernel table${ns.ok ? '' : ` (skipped: ${ns.reason})`}`, () => {
  let net: RoutedFirewall;
  let fw: Netns;
  let empty: Netns;
  let stateDir: string;

  const ctsync = (where: Netns, args: string[], input?: string): Run => where.try(NODE, [BIN, '--state-dir', stateDir, ...args], input);
  const conntrack = (where: Netns, args: string[]): string => where.run('conntrack', args);
  /** The entries conntrack(8) lists, keyed by kernel id. */
  const kernelIds = (family: 'ipv4' | 'ipv6'): Map<number, string> => {
    const lines = conntrack(fw, ['-L', '-f', family, '-o', 'id']).trim().split('\n').filter(Boolean);
    // The conntrack id is the last `id=` (ICMP flows have their own `id=` first).
    return new Map(lines.map((l) => [Number([...l.matchAll(/\bid=(\d+)/g)].at(-1)![1]), l]));
  };

  beforeAll(async () => {
    stateDir = tempDir('kernel');
    net = new RoutedFirewall(stateDir);
    fw = net.fw;
    empty = new Netns('ope');
    // Per-flow packet and byte counters (VyOS: `system conntrack flow-accounting`).
    fw.sh('sysctl -qw net.netfilter.nf_conntrack_acct=1');
    // Long UDP and ICMP timeouts: the real flows must outlive the tests that read them.
    fw.sh(`sysctl -qw net.netfilter.nf_conntrack_udp_timeout=${UDP_TIMEOUT} net.netfilter.nf_conntrack_icmp_timeout=600 net.netfilter.nf_conntrack_icmpv6_timeout=600`);
    await net.start();
    // Flows with NAT, a mark and a zone, as conntrackd would inject them.
    conntrack(fw, ['-I', '-p', 'tcp', '-s', '10.9.1.50', '-d', '10.9.2.60', '--sport', '40000', '--dport', '443', '--state', 'ESTABLISHED', '-t', '600', '-u', 'SEEN_REPLY,ASSURED', '--dst-nat', '192.168.7.7:8443', '-m', '42']);
    conntrack(fw, ['-I', '-p', 'udp', '-s', '10.9.1.51', '-d', '10.9.2.61', '--sport', '5000', '--dport', '53', '-t', '600', '--src-nat', '198.51.100.9', '--zone', '7']);
    conntrack(fw, ['-I', '-p', 'tcp', '-s', '2001:db8:1::77', '-d', '2001:db8:2::88', '--sport', '1234', '--dport', '22', '--state', 'TIME_WAIT', '-t', '600', '-m', '3']);
  }, 60_000);

  afterAll(cleanup);

  /** Column slices of the legacy layout: printf `%-10s %-22s %-22s %-16s %s`. */
  const legacyRow = (line: string): string[] => [line.slice(0, 10), line.slice(11, 33), line.slice(34, 56), line.slice(57, 73), line.slice(74)].map((s) => s.trim());

  it('show conntrack table ipv4: the legend, the header, one row per kernel entry', () => {
    const r = ctsync(fw, ['show', 'conntrack', 'table', 'ipv4']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 5)).toEqual([
      'TCP state codes: SS - SYN SENT, SR - SYN RECEIVED, ES - ESTABLISHED,',
      '                 FW - FIN WAIT, CW - CLOSE WAIT, LA - LAST ACK,',
      '                 TW - TIME WAIT, CL - CLOSE, LI - LISTEN',
      '',
      'CONN ID    Source                 Destination            Protocol         TIMEOUT',
    ]);
    const ids = kernelIds('ipv4');
    const rows = lines.slice(5).map(legacyRow);
    expect(rows.map((r) => Number(r[0])).sort()).toEqual([...ids.keys()].sort());
    const row = (src: string, dst: string, proto: string): string[] | undefined =>
      rows.find((r) => r[1].startsWith(src) && r[2] === dst && r[3].startsWith(proto));
    expect(row('10.9.1.2:', '10.9.2.2:8080', 'tcp')?.[3]).toBe('tcp [6] ES');
    expect(row('10.9.1.2:', '10.9.2.2:8080', 'udp')?.[3]).toBe('udp [17]');
    expect(row('10.9.1.2:', '10.9.2.2:21', 'tcp')?.[3]).toBe('tcp [6] ES');
    expect(rows.find((r) => r[3] === 'icmp [1]' && r[1] === '10.9.1.2' && r[2] === '10.9.2.2')).toBeDefined();
    expect(row('10.9.1.50:40000', '10.9.2.60:443', 'tcp')?.[3]).toBe('tcp [6] ES');
    for (const r of rows) {
      expect(Number(r[4])).toBeGreaterThan(0);
      // Each row is the same flow conntrack(8) lists under that id.
      const l = ids.get(Number(r[0]))!;
      expect(l).toContain(`src=${r[1].split(':')[0]} dst=${r[2].split(':')[0]}`);
    }
  });

  it('… ipv6: IPv6 bracketed with ports, ICMPv6 without', () => {
    const r = ctsync(fw, ['show', 'conntrack', 'table', 'ipv6']);
    const rows = r.stdout.trimEnd().split('\n').slice(5).map(legacyRow);
    expect(rows.map((r) => Number(r[0])).sort()).toEqual([...kernelIds('ipv6').keys()].sort());
    expect(rows.find((r) => r[1].startsWith('[2001:db8:1::2]:') && r[2] === '[2001:db8:2::2]:8080')?.[3]).toBe('tcp [6] ES');
    expect(rows.find((r) => r[1] === '[2001:db8:1::77]:1234')?.[3]).toBe('tcp [6] TW');
    expect(rows.find((r) => r[3] === 'icmpv6 [58]' && r[1] === '2001:db8:1::2')).toBeDefined();
  });

  const DETAIL_HEADER = [
    'Original src', 'Original dst', 'Original packets', 'Original bytes', 'Reply src', 'Reply dst',
    'Reply packets', 'Reply bytes', 'Protocol', 'State', 'Timeout', 'Mark', 'Zone',
  ];

  /**
   * The detail row of a `conntrack -L -o id` line: both directions (addresses, ports, counters),
   * protocol, state, timeout, mark and zone. ICMP's type/code/id are not ports: not shown.
   */
  function detailRow(line: string): string[] {
    const words = line.trim().split(/\s+/);
    const dirs: Record<string, string>[] = [];
    const flow: Record<string, string> = { mark: '0', zone: '0' };
    // mark=, zone=, use= and the conntrack id= come after both directions.
    let after = false;
    for (const word of words) {
      const [key, value] = word.split('=') as [string, string | undefined];
      if (value === undefined) continue;
      if (key === 'mark') after = true;
      if (after) flow[key] = value;
      else if (key === 'src') dirs.push({ src: value });
      else dirs.at(-1)![key] = value;
    }
    const ep = (d: Record<string, string>, addr: 'src' | 'dst', port: 'sport' | 'dport'): string =>
      d[port] === undefined ? d[addr]! : d[addr]!.includes(':') ? `[${d[addr]}]:${d[port]}` : `${d[addr]}:${d[port]}`;
    const [o, r] = dirs as [Record<string, string>, Record<string, string>];
    const state = /^[A-Z_]+$/.test(words[3]!) ? words[3]! : '';
    return [
      ep(o, 'src', 'sport'), ep(o, 'dst', 'dport'), o.packets ?? '0', o.bytes ?? '0',
      ep(r, 'src', 'sport'), ep(r, 'dst', 'dport'), r.packets ?? '0', r.bytes ?? '0',
      words[0]!, state, words[2]!, flow.mark!, flow.zone!,
    ];
  }

  it('… detail, ipv4 and ipv6: every kernel entry with both directions, counters, state, mark and zone (VyOS 2026 columns)', () => {
    for (const family of ['ipv4', 'ipv6'] as const) {
      const r = ctsync(fw, ['show', 'conntrack', 'table', family, 'detail']);
      expect(r).toMatchObject({ status: 0, stderr: '' });
      expect(r.stdout.split('\n')[1]).toMatch(/^-+( {2}-+){12}$/);
      const { header, rows } = tableCells(r.stdout);
      expect(header).toEqual(DETAIL_HEADER);
      const json = ctsync(fw, ['show', 'conntrack', 'table', family, 'detail', '--json']);
      expect(json).toMatchObject({ status: 0, stderr: '' });
      const entries = JSON.parse(json.stdout) as { id: number; family: string }[];
      expect(schemaErrors('conntrack-table', entries)).toEqual([]);
      expect(entries.every((e) => e.family === family)).toBe(true);
      const ids = kernelIds(family);
      expect(entries.map((e) => e.id).sort()).toEqual([...ids.keys()].sort());
      // Rows and entries come in kernel id order; each row is what conntrack(8) lists under
      // that id. Timeouts tick down between the reads (seconds under load): compared apart.
      const expected = entries.map((e) => detailRow(ids.get(e.id)!));
      const noTimeout = (row: string[]): string[] => row.map((c, i) => (i === 10 ? '' : c));
      expect(rows.map(noTimeout)).toEqual(expected.map(noTimeout));
      rows.forEach((row, i) => expect(Number(row[10]) - Number(expected[i]![10])).toSatisfy((d: number) => d >= 0 && d <= 60));
    }
    const v4 = tableCells(ctsync(fw, ['show', 'conntrack', 'table', 'ipv4', 'detail']).stdout).rows;
    const row = (src: string, dst?: string, proto?: string): string[] | undefined =>
      v4.find((r) => r[0]!.startsWith(src) && (!dst || r[1] === dst) && (!proto || r[8] === proto));
    expect(row('10.9.1.50:40000')).toEqual(['10.9.1.50:40000', '10.9.2.60:443', '0', '0', '192.168.7.7:8443', '10.9.1.50:40000', '0', '0', 'tcp', 'ESTABLISHED', expect.stringMatching(/^\d+$/), '42', '0']);
    expect(row('10.9.1.51:5000')).toEqual(['10.9.1.51:5000', '10.9.2.61:53', '0', '0', '10.9.2.61:53', '198.51.100.9:5000', '0', '0', 'udp', '', expect.stringMatching(/^\d+$/), '0', '7']);
    // Real traffic is counted (flow accounting on): the TCP handshake and greeting both ways.
    const tcp = row('10.9.1.2:', '10.9.2.2:8080', 'tcp')!;
    expect(Number(tcp[2])).toBeGreaterThanOrEqual(3);
    expect(Number(tcp[6])).toBeGreaterThanOrEqual(2);
    const v4json = JSON.parse(ctsync(fw, ['show', 'conntrack', 'table', 'ipv4', '--json']).stdout) as { original: { src: string; dport?: number }; protocol: string }[];
    expect(v4json.find((e) => e.original.src === '10.9.1.50')).toMatchObject({ mark: 42, dnat: { address: '192.168.7.7', port: 8443 }, snat: null, reply: { src: '192.168.7.7' } });
    expect(v4json.find((e) => e.original.src === '10.9.1.51')).toMatchObject({ zone: 7, snat: { address: '198.51.100.9' }, dnat: null, reply: { dst: '198.51.100.9' } });
    expect(v4json.find((e) => e.original.dport === 21)).toMatchObject({ protocol: 'tcp', state: 'ESTABLISHED', helper: 'ftp' });
  }, SLOW_MS);

  it('… filters by source, destination and protocol', () => {
    const json = (...words: string[]): { original: { src: string; dst: string; sport?: number; dport?: number }; protocol: string }[] =>
      JSON.parse(ctsync(fw, ['show', 'conntrack', 'table', ...words, '--json']).stdout);
    expect(json('ipv4', 'protocol', 'icmp').map((e) => e.protocol)).toEqual(['icmp']);
    expect(json('ipv4', 'destination', '10.9.2.2:8080').map((e) => e.protocol).sort()).toEqual(['tcp', 'udp']);
    expect(json('ipv4', 'destination', '10.9.2.2:8080', 'protocol', 'tcp')).toHaveLength(1);
    expect(json('ipv4', 'source', '10.9.1.51')).toEqual([expect.objectContaining({ original: expect.objectContaining({ dst: '10.9.2.61', dport: 53 }) })]);
    expect(json('ipv6', 'source', '[2001:db8:1::77]:1234')).toHaveLength(1);
    const text = ctsync(fw, ['show', 'conntrack', 'table', 'ipv4', 'source', '10.9.1.50']).stdout.trimEnd().split('\n');
    expect(text).toHaveLength(6);
    expect(ctsync(fw, ['show', 'conntrack', 'table', 'ipv4', 'source', '10.9.1.300'])).toEqual({ status: 1, stdout: '', stderr: 'Invalid ipv4 address: 10.9.1.300\n' });
  }, SLOW_MS);

  it('… an empty table says so; --json is []', () => {
    expect(ctsync(empty, ['show', 'conntrack', 'table', 'ipv4'])).toEqual({ status: 0, stdout: 'Entries not found\n', stderr: '' });
    expect(JSON.parse(ctsync(empty, ['show', 'conntrack', 'table', 'ipv6', '--json']).stdout)).toEqual([]);
  });

  it('show conntrack statistics: the per-CPU counters conntrack -S reports for this namespace', () => {
    const r = ctsync(fw, ['show', 'conntrack', 'statistics', '--json']);
    expect(r.status).toBe(0);
    const rows = JSON.parse(r.stdout) as Record<string, number>[];
    expect(schemaErrors('conntrack-statistics', rows)).toEqual([]);
    const expected = conntrack(fw, ['-S']).trim().split('\n').map((l) => Object.fromEntries(l.trim().split(/\s+/).map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)])));
    expect(rows).toEqual(expected);
    expect(rows.reduce((n, r) => n + r.insert!, 0)).toBeGreaterThan(0);
    const text = tableCells(ctsync(fw, ['show', 'conntrack', 'statistics']).stdout);
    expect(text.header).toEqual(['CPU', 'Found', 'Invalid', 'Insert', 'Insert fail', 'Drop', 'Early drop', 'Errors', 'Search restart', 'Clash resolve', 'Chain too long']);
    const columns = ['cpu', 'found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart', 'clash_resolve', 'chaintoolong'];
    expect(text.rows).toEqual(expected.map((cpu) => columns.map((c) => String(cpu[c]))));
    // Another namespace has its own counters.
    expect(JSON.parse(ctsync(empty, ['show', 'conntrack', 'statistics', '--json']).stdout).every((r: { insert: number }) => r.insert === 0)).toBe(true);
  }, SLOW_MS);

  it('monitor conntrack table: the lines conntrack -E prints for the same events, until SIGINT', async () => {
    const mon = fw.spawn(NODE, [BIN, '--state-dir', stateDir, 'monitor', 'conntrack', 'table']);
    const monJson = fw.spawn(NODE, [BIN, '--state-dir', stateDir, 'monitor', 'conntrack', 'table', '--json']);
    const ref = fw.spawn('conntrack', ['-E']);
    const outputs = new Map<ChildProcess, string>([[mon, ''], [monJson, ''], [ref, '']]);
    for (const child of outputs.keys()) child.stdout!.on('data', (d: Buffer) => outputs.set(child, outputs.get(child)! + d.toString()));
    // All three are listening once each has seen a probe entry.
    let probe = 0;
    const seen = await waitFor(() => {
      conntrack(fw, ['-I', '-p', 'udp', '-s', '10.9.9.9', '-d', '10.9.9.10', '--sport', String(10000 + probe++), '--dport', '9', '-t', '5']);
      return [...outputs.values()].every((o) => o.includes('10.9.9.9'));
    }, 10_000, 200);
    expect(seen).toBe(true);
    const mark = outputs.get(ref)!.length;
    const markMon = outputs.get(mon)!.length;
    conntrack(fw, ['-I', '-p', 'tcp', '-s', '10.9.3.1', '-d', '10.9.3.2', '--sport', '1000', '--dport', '80', '--state', 'SYN_SENT', '-t', '120', '-m', '5']);
    conntrack(fw, ['-U', '-p', 'tcp', '-s', '10.9.3.1', '-d', '10.9.3.2', '--sport', '1000', '--dport', '80', '-m', '9']);
    conntrack(fw, ['-I', '-p', 'udp', '-s', '10.9.3.1', '-d', '10.9.3.2', '--sport', '5000', '--dport', '53', '-t', '30', '--zone', '4']);
    conntrack(fw, ['-D', '-p', 'udp', '-s', '10.9.3.1']);
    await net.udp();
    const count = (o: string): number => (o.match(/\n/g) ?? []).length;
    const done = await waitFor(() => {
      const ref1 = outputs.get(ref)!.slice(mark);
      return ref1.includes(` [UPDATE] udp      17 ${UDP_TIMEOUT} src=10.9.1.2`) && count(outputs.get(mon)!.slice(markMon)) >= count(ref1);
    }, 10_000);
    expect(done).toBe(true);
    const exits = [mon, monJson].map((c) => new Promise<number | null>((resolve) => c.once('exit', (code) => resolve(code))));
    for (const c of outputs.keys()) c.kill('SIGINT');
    expect(await Promise.all(exits)).toEqual([0, 0]);
    // conntrack -E may add `progname=` (a racy /proc lookup of the requesting process); not reproduced.
    const lines = (o: string): string[] =>
      o.split('\n').filter((l) => l.includes('10.9.3.') || l.includes('10.9.1.2 dst=10.9.2.2')).map((l) => l.replace(/ progname=\S+$/, ''));
    const ours = lines(outputs.get(mon)!.slice(markMon));
    expect(ours.length).toBeGreaterThanOrEqual(5);
    expect(ours).toEqual(lines(outputs.get(ref)!.slice(mark)));
    expect(ours.some((l) => l.startsWith('    [NEW] tcp      6 120 SYN_SENT src=10.9.3.1') && l.includes(' mark=5 [USERSPACE] portid='))).toBe(true);
    expect(ours.some((l) => /^\[DESTROY\] udp      17 \d+ src=10\.9\.3\.1 /.test(l) && l.includes('zone=4'))).toBe(true);
    // Real traffic is the kernel's own event: no userspace origin.
    expect(ours.some((l) => l.startsWith(`    [NEW] udp      17 ${UDP_TIMEOUT} src=10.9.1.2 `) && /dport=8080 \[UNREPLIED\]/.test(l) && !l.includes('USERSPACE'))).toBe(true);
    const events = outputs.get(monJson)!.trim().split('\n').map((l) => JSON.parse(l) as { event: string });
    for (const ev of events) expect(schemaErrors('monitor-event', ev)).toEqual([]);
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['new', 'update', 'destroy']));
  }, 30_000);

  it('monitor … | head -1: a reader that goes away ends the monitor quietly', async () => {
    const sh = fw.spawn('sh', ['-c', `${NODE} ${BIN} --state-dir ${stateDir} monitor conntrack table | head -1`]);
    let out = '';
    let err = '';
    sh.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    sh.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => sh.once('exit', resolve));
    let port = 20000;
    // Events until the first line has reached head and the monitor has seen EPIPE and ended:
    // the shell waits for both ends of the pipe (bounded).
    const ended = await waitFor(async () => {
      conntrack(fw, ['-I', '-p', 'udp', '-s', '10.9.5.1', '-d', '10.9.5.2', '--sport', String(port++), '--dport', '9', '-t', '5']);
      return sh.exitCode !== null;
    }, 10_000, 200);
    expect(ended).toBe(true);
    expect(await exited).toBe(0);
    // One event line: a probe's NEW, or the DESTROY of one the monitor test left to expire.
    expect(out).toMatch(/^ *\[(NEW|DESTROY)\] udp {6}17 .*\n$/);
    expect(err).toBe('');
  });

  it('permission: without CAP_NET_ADMIN one clear line, exit 1, no stack', () => {
    const r = spawnSync('ip', ['netns', 'exec', fw.name, 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', NODE, BIN, '--state-dir', stateDir, 'show', 'conntrack', 'table', 'ipv4'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^opening the kernel conntrack table: the kernel table needs root or CAP_NET_ADMIN \(EPERM\)\n$/);
  });

  it('reset conntrack: asks first (no → exit 1, nothing flushed); --yes flushes entries and expectations', () => {
    // What outlives this test: the probes of the monitor tests (5 s timeouts) expire meanwhile.
    const lasting = (): number[] =>
      [...kernelIds('ipv4'), ...kernelIds('ipv6')].filter(([, line]) => Number(line.trim().split(/\s+/)[2]) > 60).map(([id]) => id);
    const expectations = (): string[] => conntrack(fw, ['-L', 'expect']).split('\n').filter((l) => l.includes(' proto='));
    const before = lasting();
    expect(before.length).toBeGreaterThanOrEqual(8);
    // The FTP control session's PORT: the ftp helper's expectation of the data connection.
    expect(expectations()).toEqual([expect.stringMatching(/ proto=6 src=10\.9\.2\.2 dst=10\.9\.1\.2 sport=0 dport=50000 .* helper=ftp$/)]);
    const declined = ctsync(fw, ['reset', 'conntrack'], 'n\n');
    expect(declined).toEqual({ status: 1, stdout: `${RESET_QUESTION} [y/N] `, stderr: 'Aborted: no connections were cleared\n' });
    expect(lasting()).toEqual(expect.arrayContaining(before));
    expect(expectations()).toHaveLength(1);
    const r = ctsync(fw, ['reset', 'conntrack', '--yes', '--json']);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const result = JSON.parse(r.stdout) as { flushed: number };
    expect(schemaErrors('reset-conntrack', result)).toEqual([]);
    expect(result.flushed).toBeGreaterThanOrEqual(before.length);
    expect(expectations()).toEqual([]);
    // Only flows the still-open TCP sockets re-create may come back; the injected ones are gone.
    expect(conntrack(fw, ['-L', '-s', '10.9.1.50'])).toBe('');
    expect(conntrack(fw, ['-L', '-f', 'ipv6', '-s', '2001:db8:1::77'])).toBe('');
    conntrack(fw, ['-I', '-p', 'udp', '-s', '10.9.4.1', '-d', '10.9.4.2', '--sport', '1', '--dport', '2', '-t', '60']);
    expect(ctsync(fw, ['reset', 'conntrack'], 'yes\n')).toEqual({ status: 0, stdout: `${RESET_QUESTION} [y/N] `, stderr: '' });
    expect(conntrack(fw, ['-L', '-s', '10.9.4.1'])).toBe('');
  });
});
