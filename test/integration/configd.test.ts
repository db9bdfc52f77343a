/**
 * configd end to end: the compiled `ctsync` CLI inside a network namespace with a veth pair
 * carrying IPv4 and IPv6 addresses (verify reads that kernel), then the real conntrackd 1.4.7
 * on the rendered file. Mirrors VyOS's T9166 smoketest (shared/spec/vyos.md §6.1).
 *
 * The rendered file has VyOS's fixed LockFile /var/lock/conntrack.lock and UNIX Path
 * /var/run/conntrackd.ctl; conntrackd runs on a copy whose only change is those two paths,
 * moved into the test's directory, in the foreground as a child of this test, always killed.
 * The ctsyncd part uses the rendered file as is: a commit starts the engine on it.
 *
 * Helper block: conntrackd configures each `Type` through nfnetlink_cthelper. A kernel
 * without CONFIG_NF_CT_NETLINK_HELPER answers EINVAL (unknown nfnetlink subsystem) and
 * conntrackd exits with "trying to configure cthelper `tns': Invalid argument". The test
 * asserts that exact failure and then runs conntrackd on the same bytes with the Helper
 * block emptied, to prove the rest of the file is accepted; on a kernel with cthelper the
 * unmodified file must start.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, hasProgram, Netns, netnsSupport, veth, waitFor } from '../helpers/netns.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'ctsync.js');
const CTSYNCD = path.join(ROOT, 'bin', 'ctsyncd.js');
const CONNTRACKD = '/usr/sbin/conntrackd';
const LOCK = '/var/lock/conntrack.lock';
const SOCKET = '/var/run/conntrackd.ctl';
const CS = ['service', 'conntrack-sync'];
const HA = ['high-availability', 'vrrp'];

/** The VRRP sync-group GROUP (ETH0 on eth0) that VyOS's verify requires, and the failover mechanism using it. */
function setVrrpGroup(ok: (...args: string[]) => unknown): void {
  ok('set', ...HA, 'group', 'ETH0', 'interface', 'eth0');
  ok('set', ...HA, 'group', 'ETH0', 'vrid', '22');
  ok('set', ...HA, 'group', 'ETH0', 'address', '192.0.2.200/24');
  ok('set', ...HA, 'sync-group', 'GROUP', 'member', 'ETH0');
  ok('set', ...CS, 'failover-mechanism', 'vrrp', 'sync-group', 'GROUP');
}

const ns = netnsSupport();
const ready = ns.ok && hasProgram('conntrackd');
const reason = ns.ok ? 'conntrackd is not installed' : ns.reason;

describe.skipIf(!ready)(`configd in a namespace with the real conntrackd${ready ? '' : ` (skipped: ${reason})`}`, () => {
  let a: Netns;
  let b: Netns;
  let dir: string;
  let env: string[];
  let conf: string;
  let keepalived: string;

  const ctsync = (...args: string[]): { status: number; stdout: string; stderr: string } =>
    a.try('env', [...env, process.execPath, BIN, ...args]);
  const ok = (...args: string[]): string => {
    const r = ctsync(...args);
    expect(r, `ctsync ${args.join(' ')}`).toMatchObject({ status: 0, stderr: '' });
    return r.stdout;
  };

  /** Start conntrackd on `file` (its lock and socket moved into `dir`); resolves to its `-s` output, or to its log when it exits instead. */
  async function runConntrackd(file: string): Promise<{ stats?: string; log: string }> {
    const lock = path.join(dir, 'conntrackd.lock');
    const socket = path.join(dir, 'conntrackd.ctl');
    const local = path.join(dir, 'conntrackd.local.conf');
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(`LockFile ${LOCK}\n`);
    expect(text).toContain(`Path ${SOCKET}\n`);
    writeFileSync(local, text.replace(`LockFile ${LOCK}\n`, `LockFile ${lock}\n`).replace(`Path ${SOCKET}\n`, `Path ${socket}\n`));
    let log = '';
    const child: ChildProcess = a.spawn(CONNTRACKD, ['-C', local]);
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    let exited = false;
    child.once('exit', () => (exited = true));
    try {
      const stats = await waitFor(() => {
        if (exited) return 'exited';
        const r = a.try(CONNTRACKD, ['-C', local, '-s']);
        return r.status === 0 ? r.stdout : '';
      }, 8000, 100);
      return stats && stats !== 'exited' ? { stats, log } : { log };
    } finally {
      child.kill('SIGTERM');
      await waitFor(() => exited, 3000);
      if (!exited) child.kill('SIGKILL');
      await waitFor(() => exited, 3000);
      // conntrackd leaves its socket behind when it fails to start.
      rmSync(lock, { force: true });
      rmSync(socket, { force: true });
    }
  }

  /** conntrackd answers `-s` on the rendered file (see the header about the Helper block). */
  async function expectConntrackdRuns(): Promise<void> {
    const full = await runConntrackd(conf);
    if (full.stats !== undefined) {
      expect(full.stats).toContain('cache internal:');
      return;
    }
    expect(full.log).toMatch(/\[ERROR\] trying to configure cthelper `(rpc|tns)': Invalid argument/);
    const text = readFileSync(conf, 'utf8');
    const noHelper = text.replace(/\nHelper \{\n[\s\S]*?\n\}\n\n# General settings/, '\nHelper {\n}\n\n# General settings');
    expect(noHelper).not.toBe(text);
    const copy = path.join(dir, 'conntrackd.no-helper.conf');
    writeFileSync(copy, noHelper);
    const stripped = await runConntrackd(copy);
    expect(stripped.stats, stripped.log).toContain('cache internal:');
  }

  beforeAll(() => {
    a = new Netns('cfa');
    b = new Netns('cfb');
    veth(a, 'eth0', b, 'eth0');
    a.addr('eth0', '192.0.2.1/24');
    a.addr('eth0', '2001:db8:9166::1/64');
    b.addr('eth0', '192.0.2.2/24');
    b.addr('eth0', '2001:db8:9166::2/64');
    dir = mkdtempSync(path.join(tmpdir(), 'ctsync-configd-'));
    // conntrackd is started by the test itself here: the commit writes files only.
    env = [`CTSYNC_STATE_DIR=${dir}/state`, `CTSYNC_RUN_DIR=${dir}/run`, `CTSYNC_KEEPALIVED_DIR=${dir}/ka`, 'CTSYNC_ENGINE_CMD=none'];
    conf = path.join(dir, 'run', 'conntrackd.conf');
    keepalived = path.join(dir, 'ka', 'keepalived.conf');
  }, 120_000);

  afterAll(async () => {
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('IPv4 unicast: set + commit renders the file, conntrackd runs on it', async () => {
    setVrrpGroup(ok);
    ok('set', ...CS, 'interface', 'eth0', 'peer', '192.0.2.2');
    ok('commit');
    const text = readFileSync(conf, 'utf8');
    expect(text).toContain('    UDP {\n        IPv4_Destination_Address 192.0.2.2\n        Port 3780\n        Interface eth0\n');
    expect(text).toContain(`    HashSize ${readFileSync('/sys/module/nf_conntrack/parameters/hashsize', 'utf8').trim()}\n`);
    expect(readFileSync(keepalived, 'utf8')).toContain(`notify_master "${BIN} vrrp-hook master GROUP"`);
    await expectConntrackdRuns();
  });

  it('a failing commit leaves every file byte-for-byte unchanged', () => {
    const files = [conf, keepalived, path.join(dir, 'state', 'running.json')];
    const before = files.map((f) => readFileSync(f));
    ok('set', ...CS, 'interface', 'eth9');
    expect(ctsync('commit')).toEqual({ status: 1, stdout: '', stderr: 'Interface "eth9" does not exist!\n' });
    ok('delete', ...CS, 'interface', 'eth9');
    ok('set', ...CS, 'listen-address', '192.0.2.99');
    expect(ctsync('commit').stderr).toBe('Specified listen-address 192.0.2.99 not assigned to any interface!\n');
    ok('discard');
    expect(files.map((f) => readFileSync(f))).toEqual(before);
  });

  it('IPv6 unicast: IPv6_address / IPv6_Destination_Address, conntrackd runs on it', async () => {
    ok('delete', ...CS, 'interface', 'eth0', 'peer');
    ok('set', ...CS, 'interface', 'eth0', 'peer', '2001:db8:9166::2');
    ok('set', ...CS, 'listen-address', '2001:db8:9166::1');
    ok('commit');
    const text = readFileSync(conf, 'utf8');
    expect(text).toContain('        IPv6_address 2001:db8:9166::1\n        IPv6_Destination_Address 2001:db8:9166::2\n');
    await expectConntrackdRuns();
  });

  it('IPv6 multicast: IPv6_address <group>, conntrackd runs on it', async () => {
    ok('delete', ...CS, 'interface', 'eth0', 'peer');
    ok('delete', ...CS, 'listen-address');
    ok('set', ...CS, 'mcast-group', 'ff12::9166');
    ok('commit');
    const text = readFileSync(conf, 'utf8');
    expect(text).toContain('    Multicast {\n        IPv6_address ff12::9166\n        Group 3780\n        Interface eth0\n');
    await expectConntrackdRuns();
  });

  it('delete cleans up: no conntrackd.conf, no notify lines', () => {
    ok('delete', ...CS);
    ok('commit');
    expect(existsSync(conf)).toBe(false);
    expect(readFileSync(keepalived, 'utf8')).not.toContain('notify_');
    ok('delete', 'high-availability');
    ok('commit');
    expect(existsSync(keepalived)).toBe(false);
  });
});

describe.skipIf(!ns.ok)(`configd starts, restarts and stops ctsyncd and its D-Bus watcher${ns.ok ? '' : ` (skipped: ${ns.reason})`}`, () => {
  let a: Netns;
  let b: Netns;
  let dir: string;
  let env: string[];
  let conf: string;

  const ctsync = (extra: string[], ...args: string[]) => a.try('env', [...env, ...extra, process.execPath, BIN, ...args]);
  const ok = (...args: string[]): void => {
    expect(ctsync([], ...args), `ctsync ${args.join(' ')}`).toMatchObject({ status: 0, stderr: '' });
  };
  const engineAnswers = (): boolean => a.try(process.execPath, [CTSYNCD, '-C', conf, '-s']).status === 0;
  /** The running `ctsync vrrp-watch`: its pid and argv after the program. */
  const watcher = (): { pid: number; args: string[] } | undefined => {
    const pid = Number(readFileSync(path.join(dir, 'lock', 'vrrp-watch.pid'), 'utf8'));
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return { pid, args: argv.slice(argv.indexOf(BIN) + 1, -1) };
    } catch {
      return undefined;
    }
  };
  // `ip netns pids` runs inside the namespace too: keep only the engine's processes.
  const enginePids = (): string[] =>
    a.run('ip', ['netns', 'pids', a.name]).split(/\s+/).filter((pid) => pid !== '' && isEngine(pid)).sort();
  const isEngine = (pid: string): boolean => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(CTSYNCD);
    } catch {
      return false; // exited between the listing and the read
    }
  };

  beforeAll(() => {
    a = new Netns('cfe');
    b = new Netns('cff');
    veth(a, 'eth0', b, 'eth0');
    a.addr('eth0', '192.0.2.1/24');
    b.addr('eth0', '192.0.2.2/24');
    dir = mkdtempSync(path.join(tmpdir(), 'ctsync-configd-engine-'));
    env = [`CTSYNC_STATE_DIR=${dir}/state`, `CTSYNC_RUN_DIR=${dir}/run`, `CTSYNC_KEEPALIVED_DIR=${dir}/ka`, `CTSYNC_LOCK_DIR=${dir}/lock`, `CTSYNC_TRACK_FILE=${dir}/ready`];
    conf = path.join(dir, 'run', 'conntrackd.conf');
    // An engine that refuses one particular config: StartupResync on (to test the rollback).
    writeFileSync(path.join(dir, 'picky-engine'), `#!/bin/sh\nfor a; do [ -f "$a" ] && grep -q 'StartupResync on' "$a" && exit 1; done\nexec ${process.execPath} ${CTSYNCD} "$@"\n`, { mode: 0o755 });
  });

  afterAll(async () => {
    if (existsSync(conf)) a.try(process.execPath, [CTSYNCD, '-C', conf, '-k']);
    await cleanup();
    rmSync(LOCK, { force: true });
    rmSync(SOCKET, { force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('the first commit starts ctsyncd on the rendered file', () => {
    expect(existsSync(LOCK), `${LOCK} is in use by another daemon`).toBe(false);
    setVrrpGroup(ok);
    ok('set', ...CS, 'interface', 'eth0', 'peer', '192.0.2.2');
    ok('commit');
    expect(engineAnswers()).toBe(true);
    expect(a.run(process.execPath, [CTSYNCD, '-C', conf, '-s', 'link'])).toMatch(/^UDP traffic device=eth0 status=RUNNING role=ACTIVE:/);
    expect(watcher()?.args).toEqual(['vrrp-watch', 'GROUP', '--keepalived-conf', path.join(dir, 'ka', 'keepalived.conf')]);
    expect(readFileSync(path.join(dir, 'ka', 'keepalived.conf'), 'utf8')).toContain(`track_file ctsync_ready {\n    file ${dir}/ready\n}`);
  });

  it('a changed config restarts it; an unchanged commit leaves it alone', () => {
    const before = enginePids();
    ok('set', ...CS, 'interface', 'eth0', 'port', '3781');
    ok('commit');
    expect(engineAnswers()).toBe(true);
    const after = enginePids();
    expect(after).not.toEqual(before);
    const watching = watcher();
    ok('set', 'high-availability', 'vrrp', 'group', 'ETH0', 'priority', '150');
    ok('commit');
    expect(enginePids()).toEqual(after);
    // keepalived.conf changed (its members might have): the watcher starts afresh
    expect(watcher()?.pid).not.toBe(watching?.pid);
    expect(watcher()?.args[1]).toBe('GROUP');
  });

  it('an engine that does not start on the new config aborts the commit: files and engine as before', () => {
    const files = [conf, path.join(dir, 'state', 'running.json')];
    const bytes = files.map((f) => readFileSync(f));
    ok('set', ...CS, 'startup-resync');
    const r = ctsync([`CTSYNC_ENGINE_CMD=${path.join(dir, 'picky-engine')}`], 'commit');
    expect(r).toEqual({ status: 1, stdout: '', stderr: `conntrack-sync engine did not start with the new configuration (${conf}): commit aborted\n` });
    expect(files.map((f) => readFileSync(f))).toEqual(bytes);
    expect(engineAnswers()).toBe(true);
    ok('discard');
  });

  it('deleting the service stops it and its watcher and removes its files', async () => {
    const watching = watcher()!;
    ok('delete', ...CS);
    ok('commit');
    expect(existsSync(path.join(dir, 'lock', 'vrrp-watch.pid'))).toBe(false);
    expect(await waitFor(() => !existsSync(`/proc/${watching.pid}`), 3000)).toBe(true);
    expect(existsSync(conf)).toBe(false);
    expect(existsSync(LOCK)).toBe(false);
    expect(a.try(process.execPath, [CTSYNCD, '-C', path.join(dir, 'none.conf'), '-s']).status).toBe(1);
  });
});
