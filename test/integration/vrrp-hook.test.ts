/**
 * `ctsync vrrp-hook` against each engine, the real conntrackd 1.4.7 and ctsyncd (the control
 * protocol is conntrackd's, shared/spec/conntrackd.md §5): two namespaces with FTFW over UDP
 * on a veth pair; the hook runs as keepalived runs it, as a program inside fw2's namespace.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, Netns, skipNote, skipReason, veth, waitFor } from '../helpers/netns.js';
import { STALE_LOCK_WARNING } from '../../src/engine/service.js';
import { CTSYNC, DAEMON_ARGV, DAEMONS } from '../helpers/programs.js';
import { SyslogSink } from '../helpers/syslog-sink.js';

const reason = skipReason(['conntrackd', 'conntrack', 'nft', 'logger', 'python3']);

// HashSize above conntrackd's 8192-bucket commit step: with a one-step commit conntrackd 1.4.7
// never clears its commit client and refuses every later flush ("commit still in progress").
function conntrackdConf(dir: string, node: string, self: string, peer: string): string {
  return `Sync {
\tMode FTFW {
\t\tPurgeTimeout 60
\t}
\tUDP {
\t\tIPv4_address ${self}
\t\tIPv4_Destination_Address ${peer}
\t\tPort 3780
\t\tInterface sync0
\t\tChecksum on
\t}
}
General {
\tSystemd off
\tHashSize 32768
\tHashLimit 65536
\tLogFile ${dir}/${node}.log
\tSyslog off
\tLockFile ${dir}/${node}.lock
\tUNIX {
\t\tPath ${dir}/${node}.ctl
\t}
\tFilter From Userspace {
\t\tAddress Ignore {
\t\t\tIPv4_address 127.0.0.1
\t\t\tIPv4_address 10.210.0.0/24
\t\t}
\t}
}
`;
}

describe.skipIf(reason !== '').each(DAEMONS)(`vrrp-hook with a real %s${skipNote(reason)}`, (daemon) => {
  let dir: string;
  let fw1: Netns;
  let fw2: Netns;
  let syslog: SyslogSink;
  const conf = (n: string) => join(dir, `${n}.conf`);

  const engineCmd = DAEMON_ARGV[daemon];
  const ctd = (n: Netns, node: string, ...args: string[]) => n.try(engineCmd[0]!, [...engineCmd.slice(1), '-C', conf(node), ...args]);
  const alive = (n: Netns, node: string) => ctd(n, node, '-s').status === 0;
  const start = async (n: Netns, node: string) => {
    n.run(engineCmd[0]!, [...engineCmd.slice(1), '-C', conf(node), '-d']);
    expect(await waitFor(() => alive(n, node), 5000)).toBe(true);
  };
  const hook = (env: Record<string, string>, ...args: string[]) =>
    fw2.try('env', [
      `CTSYNC_ENGINE_CONF=${conf('fw2')}`,
      `CTSYNC_FAILOVER_STATE_FILE=${join(dir, 'failover-state')}`,
      `CTSYNC_LOCK_DIR=${join(dir, 'run')}`,
      `CTSYNC_SYSLOG_SOCKET=${join(dir, 'log.sock')}`,
      `CTSYNC_ENGINE_CMD=${engineCmd.join(' ')}`,
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      ...CTSYNC,
      'vrrp-hook',
      ...args,
    ]);
  const log = async (node: string) => (await readFile(join(dir, `${node}.log`), 'utf8').catch(() => '')).split('\n');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctsync-vrrp-hook-'));
    // A syslog socket of our own: the hook's lines are checked as a syslog daemon gets them.
    syslog = await SyslogSink.open(join(dir, 'log.sock'));
    fw1 = new Netns('hk1');
    fw2 = new Netns('hk2');
    veth(fw1, 'sync0', fw2, 'sync0');
    fw1.addr('sync0', '10.210.0.1/24');
    fw2.addr('sync0', '10.210.0.2/24');
    await writeFile(conf('fw1'), conntrackdConf(dir, 'fw1', '10.210.0.1', '10.210.0.2'));
    await writeFile(conf('fw2'), conntrackdConf(dir, 'fw2', '10.210.0.2', '10.210.0.1'));
    await start(fw1, 'fw1');
    await start(fw2, 'fw2');
  });

  afterAll(async () => {
    syslog?.close();
    await cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('master: commits the replicated flow into the kernel, then flushes, resyncs and sends a bulk', async () => {
    fw1.run('conntrack', ['-I', '-p', 'tcp', '-s', '192.0.2.10', '-d', '198.51.100.20', '--sport', '40000', '--dport', '80',
      '--state', 'ESTABLISHED', '-u', 'ASSURED', '-t', '300']);
    // replicated into fw2's external cache, not in fw2's kernel yet
    expect(await waitFor(() => ctd(fw2, 'fw2', '-e').stdout.includes('sport=40000'), 5000)).toBe(true);
    expect(fw2.try('conntrack', ['-L', '-p', 'tcp', '--sport', '40000']).stdout).toBe('');

    const r = hook({}, 'master', 'G1');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fw2.run('conntrack', ['-L', '-p', 'tcp', '--sport', '40000'])).toMatch(/ESTABLISHED src=192\.0\.2\.10 dst=198\.51\.100\.20 sport=40000 dport=80/);

    const lines = await log('fw2');
    const at = (text: string) => lines.findIndex((l) => l.includes(text));
    const order = ['committing all external caches', 'Committed 1 new entries', 'flushing caches', 'resync with master conntrack table', 'sending bulk update'].map(at);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);

    expect(await readFile(join(dir, 'failover-state'), 'utf8')).toMatch(/^MASTER at \w{3} \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [AP]M \S+\n$/);
    expect(fw2.run('nft', ['list', 'tables'])).not.toContain('ctsync_guard');
    expect(await waitFor(() => syslog.texts().some((l) => /conntrack-tools: \S+ transitioning to MASTER state for VRRP sync-group \[G1\]/.test(l)), 2000)).toBe(true);
    expect(syslog.texts().find((l) => l.includes('transitioning to MASTER'))).toMatch(/^<29>/); // daemon.notice
  });

  it('the same transition reported again (notify after D-Bus) is a no-op', async () => {
    const before = (await log('fw2')).filter((l) => l.includes('committing all external caches')).length;
    expect(hook({}, 'master', 'G1').status).toBe(0);
    expect((await log('fw2')).filter((l) => l.includes('committing all external caches')).length).toBe(before);
  });

  it('backup with the engine dead: removes the stale lock, starts it, purges timers and asks for a resync', async () => {
    // the daemon: the process in fw2 running on fw2's config (ctsyncd's -d child drops the -d)
    const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const pids = spawnSync('ip', ['netns', 'pids', fw2.name], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean).map(Number)
      .filter((p) => cmdline(p).includes(conf('fw2')));
    expect(pids).toHaveLength(1);
    process.kill(pids[0]!, 'SIGKILL'); // a crash: lock file and socket stay behind
    await waitFor(() => !alive(fw2, 'fw2'), 2000);
    expect(existsSync(join(dir, 'fw2.lock'))).toBe(true);
    syslog.lines.length = 0;

    const r = hook({}, 'backup', 'G1');
    expect(r.status).toBe(0);
    expect(alive(fw2, 'fw2')).toBe(true);
    const lines = await log('fw2');
    const tail = lines.slice(lines.findLastIndex((l) => l.includes('initialization completed')));
    expect(tail.some((l) => l.includes('flushing conntrack table in 60 secs'))).toBe(true);
    expect(tail.some((l) => l.includes('resync requested'))).toBe(true);
    await waitFor(() => syslog.texts().some((l) => l.includes('transitioning to BACKUP')), 2000);
    const warned = STALE_LOCK_WARNING.map((w) => syslog.texts().findIndex((l) => l.endsWith(`conntrack-tools: ${w}`)));
    expect(warned.every((i) => i >= 0)).toBe(true);
    expect(await readFile(join(dir, 'failover-state'), 'utf8')).toMatch(/^BACKUP at /);
  });

  it('engine down and not startable: refused with exit 1; master and fault refuse without starting it', async () => {
    ctd(fw2, 'fw2', '-k');
    await waitFor(() => !alive(fw2, 'fw2'), 2000);
    await rm(join(dir, 'run'), { recursive: true }); // forget the BACKUP just done: not a duplicate
    const b = hook({ CTSYNC_ENGINE_CMD: '/bin/false' }, 'backup', 'G1');
    expect([b.status, b.stdout]).toEqual([1, 'ERROR: cannot launch conntrackd\n']);
    for (const state of ['master', 'fault']) {
      const r = hook({}, state, 'G1');
      expect([r.status, r.stdout]).toEqual([1, 'conntrackd service not running\n']);
    }
    expect(alive(fw2, 'fw2')).toBe(false);
    expect(await readFile(join(dir, 'failover-state'), 'utf8')).toMatch(/^BACKUP at /);
  });

  it('an unknown state writes UNKNOWN and prints the usage', async () => {
    const r = hook({}, 'stop', 'G1');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^Usage: ctsync vrrp-hook \{master\|backup\|fault\} <sync-group>/);
    expect(await readFile(join(dir, 'failover-state'), 'utf8')).toMatch(/^UNKNOWN at /);
  });
});
