import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/configd/apply.js';
import { COMMIT_LOCKED_MESSAGE, LOCK_FILE } from '../../src/configd/commit-lock.js';
import { NO_DIFFERENCES } from '../../src/configd/diff.js';
import { ConfigSession } from '../../src/configd/session.js';
import { CS, EXAMPLE_A, fakeKernel, fixture, HA, inputs } from './helpers.js';

const kernel = fakeKernel({ eth0: ['192.0.2.1/24'], eth1: ['198.51.100.1/24'] });
let dir: string;
let calls: string[];
let engineFails = false;

let watcherFails = false;

function session(): ConfigSession {
  const engine = (file: string): Engine => ({
    alive: async () => existsSync(file),
    start: async () => {
      calls.push(`start ${path.basename(file)}`);
      return !engineFails;
    },
    stop: async () => void calls.push('stop'),
  });
  return new ConfigSession({
    stateDir: path.join(dir, 'state'),
    paths: { conntrackdConf: path.join(dir, 'run', 'conntrackd.conf'), keepalivedConf: path.join(dir, 'ka', 'keepalived.conf') },
    engine,
    watcher: {
      ensure: async (target, restart) => {
        calls.push(target ? `watch ${target.group} ${path.basename(target.keepalivedConf)}${restart ? ' (restart)' : ''}` : 'no watch');
        if (watcherFails) throw new Error('cannot create /run/ctsync');
      },
    },
    log: (line) => calls.push(line),
    renderInputs: () => inputs(kernel),
  });
}

function setAll(s: ConfigSession, lines: string): void {
  for (const l of lines.trim().split('\n')) s.set(l.trim().split(' '));
}

/** Bytes of every file a commit may touch (undefined = absent). */
function snapshot(): Record<string, string | undefined> {
  const files = ['state/running.json', 'run/conntrackd.conf', 'ka/keepalived.conf'];
  return Object.fromEntries(files.map((f) => [f, existsSync(path.join(dir, f)) ? readFileSync(path.join(dir, f), 'utf8') : undefined]));
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ctsync-session-'));
  calls = [];
  engineFails = false;
  watcherFails = false;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('ConfigSession', () => {
  it('set + commit renders Example A, writes running, reloads the engine once', async () => {
    const s = session();
    setAll(s, EXAMPLE_A);
    expect(s.compare()).toContain('+     conntrack-sync {');
    const result = await s.commit();
    expect(result.changed).toBe(true);
    expect(readFileSync(path.join(dir, 'run', 'conntrackd.conf'), 'utf8')).toBe(fixture('example-a.conntrackd.conf'));
    expect(readFileSync(path.join(dir, 'ka', 'keepalived.conf'), 'utf8')).toContain('notify_master');
    expect(s.running()).toEqual(s.candidate());
    expect(s.compare()).toBe(NO_DIFFERENCES);
    expect(calls).toEqual(['start conntrackd.conf', 'watch syncgrp keepalived.conf (restart)']);
    expect((await s.commit()).changed).toBe(false);
    expect(calls).toHaveLength(2);
  });

  it('a commit failing verify changes no byte and leaves the engine alone', async () => {
    const s = session();
    setAll(s, EXAMPLE_A);
    await s.commit();
    const before = snapshot();
    s.set(`${CS} interface eth1 peer 198.51.100.2`.split(' '));
    await expect(s.commit()).rejects.toThrow('Cannot mix unicast and multicast mode!');
    s.set(`${CS} interface eth9`.split(' '));
    await expect(s.commit()).rejects.toThrow('Interface "eth9" does not exist!');
    expect(snapshot()).toEqual(before);
    expect(calls).toEqual(['start conntrackd.conf', 'watch syncgrp keepalived.conf (restart)']);
  });

  it('a rejected set changes neither candidate nor running', async () => {
    const s = session();
    setAll(s, EXAMPLE_A);
    const candidate = readFileSync(path.join(dir, 'state', 'candidate.json'), 'utf8');
    expect(() => s.set(`${CS} interface eth0 port 0`.split(' '))).toThrow('Port number must be in range 1 to 65535');
    expect(readFileSync(path.join(dir, 'state', 'candidate.json'), 'utf8')).toBe(candidate);
  });

  it('dry-run renders without writing', async () => {
    const s = session();
    setAll(s, EXAMPLE_A);
    expect((await s.commit(true)).files.conntrackd).toBe(fixture('example-a.conntrackd.conf'));
    expect(snapshot()).toEqual({ 'state/running.json': undefined, 'run/conntrackd.conf': undefined, 'ka/keepalived.conf': undefined });
  });

  it('deleting the service removes conntrackd.conf, the notify lines, and stops the engine', async () => {
    const s = session();
    setAll(s, EXAMPLE_A);
    await s.commit();
    s.delete(['service', 'conntrack-sync']);
    await s.commit();
    expect(existsSync(path.join(dir, 'run', 'conntrackd.conf'))).toBe(false);
    const ka = readFileSync(path.join(dir, 'ka', 'keepalived.conf'), 'utf8');
    expect(ka).toContain('vrrp_sync_group syncgrp');
    expect(ka).not.toContain('notify_');
    expect(calls).toEqual(['start conntrackd.conf', 'watch syncgrp keepalived.conf (restart)', 'stop', 'no watch']);
    s.delete(['high-availability']);
    await s.commit();
    expect(existsSync(path.join(dir, 'ka', 'keepalived.conf'))).toBe(false);
  });

  it('a changed config restarts the engine; one that does not come up aborts the commit and the old one runs again', async () => {
    const s = session();
    setAll(s, EXAMPLE_A);
    await s.commit();
    s.set(`${CS} disable-syslog`.split(' '));
    await s.commit();
    // keepalived.conf is unchanged: the watcher runs on
    expect(calls).toEqual(['start conntrackd.conf', 'watch syncgrp keepalived.conf (restart)', 'stop', 'start conntrackd.conf', 'watch syncgrp keepalived.conf']);
    const before = snapshot();
    calls = [];
    engineFails = true;
    s.set(`${CS} startup-resync`.split(' '));
    await expect(s.commit()).rejects.toThrow(/^conntrack-sync engine did not start with the new configuration \(.*conntrackd\.conf\): commit aborted$/);
    expect(snapshot()).toEqual(before);
    expect(calls).toEqual(['stop', 'start conntrackd.conf', 'start conntrackd.conf']);
  });

  it('the watcher follows the failover sync-group; one that cannot run is a warning, not a failed commit', async () => {
    const s = session();
    setAll(s, EXAMPLE_A);
    watcherFails = true;
    await s.commit();
    expect(calls).toEqual(['start conntrackd.conf', 'watch syncgrp keepalived.conf (restart)', 'WARNING: vrrp-watch: cannot create /run/ctsync']);
    expect(s.running()).toEqual(s.candidate());
    watcherFails = false;
    calls = [];
    s.set(`${HA} group internal priority 150`.split(' '));
    await s.commit();
    expect(calls).toEqual(['watch syncgrp keepalived.conf (restart)']);
  });

  it('discard, save and load', async () => {
    const s = session();
    setAll(s, EXAMPLE_A);
    await s.commit();
    s.set(`${CS} disable-syslog`.split(' '));
    s.discard();
    expect(s.candidate()).toEqual(s.running());
    const saved = s.save(path.join(dir, 'saved.boot'));
    s.delete(['service']);
    s.load(saved);
    expect(s.candidate()).toEqual(s.running());
    expect(() => s.load(path.join(dir, 'missing'))).toThrow(/^Cannot read/);
  });

  it('show of a path, a leaf and an empty path', async () => {
    const s = session();
    setAll(s, EXAMPLE_A);
    expect(s.show(['service', 'conntrack-sync', 'interface'], false)).toBe('eth0 {\n}');
    expect(s.show(['service', 'conntrack-sync', 'mcast-group'], true)).toBe("set service conntrack-sync mcast-group '225.0.0.50'");
    expect(() => s.show(['service', 'conntrack-sync', 'listen-address'], false)).toThrow('Configuration under specified path is empty');
  });
});

describe('commit lock', () => {
  it('a live holder blocks with "Commit already in progress"; a dead one is taken over', async () => {
    const s = session();
    setAll(s, EXAMPLE_A);
    const sleeper = spawn('sleep', ['30']);
    try {
      writeFileSync(path.join(dir, 'state', LOCK_FILE), `${sleeper.pid}\n`);
      await expect(s.commit()).rejects.toThrow(COMMIT_LOCKED_MESSAGE);
      expect(() => s.set(`${CS} disable-syslog`.split(' '))).toThrow(COMMIT_LOCKED_MESSAGE);
      expect(snapshot()['state/running.json']).toBeUndefined();
    } finally {
      sleeper.kill('SIGKILL');
    }
    const dead = spawnSync('true').pid!;
    writeFileSync(path.join(dir, 'state', LOCK_FILE), `${dead}\n`);
    expect((await s.commit()).changed).toBe(true);
    expect(existsSync(path.join(dir, 'state', LOCK_FILE))).toBe(false);
  });
});
