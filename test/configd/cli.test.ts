/**
 * The `ctsync` binary, spawned as the operator runs it (node bin/ctsync.js) on a temp state
 * dir. Verify reads the real kernel of this process's netns: the config uses `lo`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/configd/package-paths.js';

const BIN = path.join(PACKAGE_ROOT, 'bin', 'ctsync.js');
let dir: string;
let env: NodeJS.ProcessEnv;

function ctsync(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const CS = ['service', 'conntrack-sync'];
const SETUP = [
  [...CS, 'interface', 'lo'],
  [...CS, 'failover-mechanism', 'vrrp', 'sync-group', 'SG'],
  [...CS, 'accept-protocol', 'tcp'],
  ['high-availability', 'vrrp', 'group', 'G', 'interface', 'lo'],
  ['high-availability', 'vrrp', 'group', 'G', 'vrid', '9'],
  ['high-availability', 'vrrp', 'group', 'G', 'address', '127.0.0.9/8'],
  ['high-availability', 'vrrp', 'sync-group', 'SG', 'member', 'G'],
];

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ctsync-cli-'));
  env = {
    ...process.env,
    CTSYNC_STATE_DIR: path.join(dir, 'state'),
    CTSYNC_RUN_DIR: path.join(dir, 'run'),
    CTSYNC_KEEPALIVED_DIR: path.join(dir, 'ka'),
    CTSYNC_HASHSIZE: '4096',
    CTSYNC_CONNTRACK_MAX: '8192',
    CTSYNC_HOOK_BIN: '/opt/ctsync/bin/ctsync.js',
    // The commits here check files; the engine step has its own test (configd-engine).
    CTSYNC_ENGINE_CMD: 'none',
  };
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('ctsync CLI verbs', () => {
  it('set / show / show --commands / compare / commit --dry-run / commit', () => {
    for (const words of SETUP) expect(ctsync('set', ...words)).toMatchObject({ status: 0, stderr: '' });
    expect(ctsync('show', ...CS, 'interface').stdout).toBe('lo {\n}\n');
    expect(ctsync('show', '--commands').stdout).toContain("set service conntrack-sync accept-protocol 'tcp'\n");
    expect(ctsync('compare').stdout).toContain('+         interface lo {\n');
    const dry = ctsync('commit', '--dry-run');
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain('    Multicast {\n        IPv4_address 225.0.0.50\n        Group 3780\n        IPv4_interface 127.0.0.1\n        Interface lo\n');
    expect(dry.stdout).toContain('    HashSize 4096\n    HashLimit 16384\n');
    expect(existsSync(path.join(dir, 'run', 'conntrackd.conf'))).toBe(false);
    expect(ctsync('commit')).toMatchObject({ status: 0, stderr: '' });
    expect(readFileSync(path.join(dir, 'run', 'conntrackd.conf'), 'utf8')).toBe(dry.stdout.replace(/\n$/, ''));
    expect(readFileSync(path.join(dir, 'ka', 'keepalived.conf'), 'utf8')).toContain('notify_master "/opt/ctsync/bin/ctsync.js vrrp-hook master SG"');
    expect(ctsync('commit').stdout).toBe('No configuration changes to commit\n');
  });

  it('rejected set and commit: message on stderr, exit 1, nothing changed', () => {
    const files = ['state/running.json', 'run/conntrackd.conf', 'ka/keepalived.conf'].map((f) => path.join(dir, f));
    const before = files.map((f) => readFileSync(f, 'utf8'));
    expect(ctsync('set', ...CS, 'interface', 'lo', 'port', '70000')).toEqual({ status: 1, stdout: '', stderr: 'Port number must be in range 1 to 65535\n' });
    expect(ctsync('set', ...CS, 'mcast-group', '10.0.0.1').stderr).toBe('Error: 10.0.0.1 is not a valid IPv4 multicast address\n');
    expect(ctsync('set', ...CS, 'foo').stderr).toBe('Configuration path: [service conntrack-sync foo] is not valid\n');
    expect(ctsync('set', ...CS, 'interface', 'ctnosuch0')).toMatchObject({ status: 0 });
    expect(ctsync('commit')).toEqual({ status: 1, stdout: '', stderr: 'Interface "ctnosuch0" does not exist!\n' });
    expect(files.map((f) => readFileSync(f, 'utf8'))).toEqual(before);
    expect(ctsync('discard').status).toBe(0);
    expect(ctsync('compare').stdout).toBe('No changes between working and active configurations.\n');
  });

  it('save / load (curly and set lines), help, op-mode words, usage', () => {
    const saved = path.join(dir, 'saved.boot');
    expect(ctsync('save', saved).status).toBe(0);
    expect(readFileSync(saved, 'utf8')).toContain('service {\n    conntrack-sync {\n');
    expect(ctsync('delete', ...CS).status).toBe(0);
    expect(ctsync('load', saved).status).toBe(0);
    expect(ctsync('compare').stdout).toBe('No changes between working and active configurations.\n');
    const lines = path.join(dir, 'lines.txt');
    writeFileSync(lines, ctsync('show', '--commands').stdout.replace("'tcp'", "'udp'"));
    expect(ctsync('load', lines).status).toBe(0);
    expect(ctsync('compare').stdout).toContain('-         accept-protocol tcp\n+         accept-protocol udp\n');
    expect(ctsync('discard').status).toBe(0);
    expect(ctsync('help', ...CS, 'interface', 'lo', 'port').stdout).toBe(
      'service conntrack-sync interface lo port: Port number used by connection\nPossible completions:\n  <1-65535>                 Numeric IP port\n',
    );
    expect(ctsync('help', ...CS).stdout).toContain('  purge-timeout             Delay, in seconds, before synchronized entries are purged after a handover\n');
    // `show` + a word that is no config node goes to op-mode, never to the config show.
    const opmode = ctsync('show', 'no-such-thing');
    expect(opmode.status).toBe(1);
    expect(opmode.stderr).toMatch(/^Unknown command: show no-such-thing\nValid next words: --commands, high-availability, service, conntrack, conntrack-sync\n$/);
    expect(ctsync('frobnicate').stderr).toBe(
      'Unknown command: frobnicate\nValid next words: commit, compare, delete, discard, help, load, monitor, reset, restart, save, set, show, vrrp-hook, vrrp-watch\n',
    );
    expect(ctsync('--help').stdout).toContain('Usage: ctsync [--state-dir DIR] <command> [args…]');
    expect(ctsync('--state-dir', path.join(dir, 'other'), 'show').stdout).toBe('');
  });

  it('delete + commit removes conntrackd.conf and the notify lines', () => {
    expect(ctsync('delete', ...CS).status).toBe(0);
    expect(ctsync('commit').status).toBe(0);
    expect(existsSync(path.join(dir, 'run', 'conntrackd.conf'))).toBe(false);
    expect(readFileSync(path.join(dir, 'ka', 'keepalived.conf'), 'utf8')).not.toContain('notify_');
  });
});

describe('kill -9 during commit', () => {
  it('leaves running.json parseable and equal to the old or the new config (bounded loop)', async () => {
    for (const words of SETUP) ctsync('set', ...words);
    const running = (): string | undefined => {
      const f = path.join(dir, 'state', 'running.json');
      return existsSync(f) ? JSON.stringify(JSON.parse(readFileSync(f, 'utf8'))) : undefined;
    };
    const candidate = (): string => JSON.stringify(JSON.parse(readFileSync(path.join(dir, 'state', 'candidate.json'), 'utf8')));
    let killedMidway = 0;
    for (let i = 0; i < 12; i++) {
      expect(ctsync('set', ...CS, 'sync-queue-size', String(i + 2)).status).toBe(0);
      const old = running();
      const next = candidate();
      const child = spawn(process.execPath, [BIN, 'commit'], { env, stdio: 'ignore' });
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      // A commit takes ~175 ms here (node start-up included): sweep the kill across it.
      await new Promise((r) => setTimeout(r, 60 + i * 15));
      child.kill('SIGKILL');
      if ((await exited) === null) killedMidway++;
      const now = running();
      expect([old, next]).toContain(now);
      const conf = path.join(dir, 'run', 'conntrackd.conf');
      // The rendered file is whole too: header to the General block's closing brace.
      if (existsSync(conf)) expect(readFileSync(conf, 'utf8')).toMatch(/^### autogenerated[\s\S]*\n {12}TCP\n {8}\}\n {4}\}\n\}$/);
    }
    // Stale lock from a killed commit is taken over: the next commit goes through.
    expect(ctsync('commit').status).toBe(0);
    expect(running()).toBe(candidate());
    expect(killedMidway).toBeGreaterThan(0);
  }, 60_000);
});
