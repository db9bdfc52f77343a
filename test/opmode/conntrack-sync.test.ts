/**
 * The conntrack-sync op-mode against a real ControlServer (src/engine/control/server.ts) with
 * a scripted handler: what each command asks the engine, and what it prints from the answers.
 * The same commands against a real conntrackd pair: test/integration/opmode-sync.test.ts.
 */
import { fileURLToPath } from 'node:url';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatExpectationLine } from '../../src/engine/control/format.js';
import { jsonReply, type DumpDocument, type StatsDocument } from '../../src/engine/control/json.js';
import { ControlServer, type ControlHandler } from '../../src/engine/control/server.js';
import type { Conntrack, Expectation } from '../../src/engine/model/conntrack.js';
import { rawKeys } from '../../src/opmode/commands.js';
import {
  formatSyncStatus, resetExternalCache, resetInternalCache, restartSync, showSyncCache, showSyncStatistics, showSyncStatus, type SyncStatus,
} from '../../src/opmode/conntrack-sync.js';
import { CS, SYNC_CONFIG, configuredStateDir, tempDir, testContext } from './helpers.js';
import { schemaErrors } from './schemas.js';

const LAB = fileURLToPath(new URL('../../../shared/lab/outputs/ftfw-udp-capture', import.meta.url));
/** A lab capture without its `# command` first line and `# exit status` last line. */
const lab = (file: string): string => readFileSync(path.join(LAB, file), 'utf8').split('\n').filter((l) => !l.startsWith('# ')).join('\n');

const BASE = [...SYNC_CONFIG, `${CS} accept-protocol tcp`];

const cacheStats = { active: 2, total: 3, createdOk: 5, createdFailed: 0, noMemory: 0, noSpace: 0, updatedOk: 4, updatedFailed: 0, updateNotFound: 0, deletedOk: 3, deletedFailed: 0, deleteNotFound: 0 };
const STATS: StatsDocument = {
  mode: 'FTFW',
  uptimeSeconds: 61,
  internal: { kind: 'cache', stats: cacheStats },
  external: { kind: 'cache', stats: { ...cacheStats, active: 0 } },
  traffic: { bytes: 0, packets: 0 },
  network: { malformed: 0, badVersion: 0, badHeader: 0, badPayload: 0, badType: 0, truncated: 0, badSize: 0, sendMalformed: 0, spoofed: 0 },
  sequence: { lost: 0, before: 0 },
  links: [{ kind: 'UDP', device: 'sync0', status: 'RUNNING', active: true, bytesSent: 3820, bytesRecv: 544, packetsSent: 46, packetsRecv: 29, errorSend: 0, errorRecv: 0, spoofed: 0 }],
  runtime: {
    startedAt: 1763776000, eventsReceived: 20, eventsFiltered: 0, eventsUnknownType: 0, catchEventFailed: 0, dumpUnknownType: 0,
    netlinkOverrun: 0, flushKernelTable: 0, resyncWithKernel: 0, netlinkBufferSize: 2097152, childFailed: 0, childSegfault: 0,
    childTermsig: 0, selectFailed: 0, waitFailed: 0, localReadFailed: 0, localUnknownRequest: 0,
  },
  queues: [{ name: 'txqueue', current: 0, max: 2147483647, noSpace: 0 }],
  expect: {
    internal: { kind: 'cache', stats: { ...cacheStats, active: 1, total: 1, createdOk: 1, updatedOk: 0, deletedOk: 0 } },
    external: { kind: 'cache', stats: { ...cacheStats, active: 0, total: 0, createdOk: 0, updatedOk: 0, deletedOk: 0 } },
  },
};
/** What the scripted engine answers to JSON_STATS. */
let statsReply: StatsDocument = STATS;
const FLOW: Conntrack = {
  orig: { l3: 'ipv4', src: '10.1.201.7', dst: '10.0.2.10', proto: 6, sport: 40000, dport: 80 },
  status: 0x4 | 0x2 | 0x8,
  tcp: { state: 3 },
  mark: 0,
};
const EXPECTATION: Expectation = {
  master: { l3: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport: 40000, dport: 21 },
  tuple: { l3: 'ipv4', src: '10.0.0.2', dst: '10.0.0.1', proto: 6, sport: 0, dport: 50000 },
  mask: { l3: 'ipv4', src: '255.255.255.255', dst: '255.255.255.255', proto: 6, sport: 0, dport: 65535 },
  timeout: 300,
  helper: 'ftp',
};

/** The engine side: answers from the lab's captures and records every request family. */
const calls: string[] = [];
const handler: ControlHandler = {
  stats: (which) => {
    calls.push(`stats:${which}`);
    return which === 'general' ? lab('fw1_s.txt') : which === 'expect' ? 'cache internal:\n(expect)\n\n' : '';
  },
  dump: (cache, what, format) => {
    calls.push(`dump:${cache}:${what}:${format}`);
    if (what === 'expect') return format === 'text' ? formatExpectationLine(EXPECTATION, { activeSince: 3 }) : '';
    return format === 'xml' ? lab(cache === 'internal' ? 'fw1_ix.txt' : 'fw2_ex.txt') : '';
  },
  commit: () => undefined,
  flushCache: (which) => void calls.push(`flush:${which}`),
  flushMaster: () => undefined,
  resyncMaster: (what) => void calls.push(`resync-master:${what}`),
  sendBulk: () => void calls.push('send-bulk'),
  requestDump: () => void calls.push('request-dump'),
  resetTimers: () => undefined,
  json: (which) => {
    calls.push(`json:${which}`);
    if (which === 'stats') return jsonReply(statsReply);
    if (which.startsWith('ct-')) {
      const doc: DumpDocument<Conntrack> = { cache: which === 'ct-internal' ? 'internal' : 'external', kind: 'ct', entries: [{ object: FLOW, activeSince: 14 }] };
      return jsonReply(doc);
    }
    const doc: DumpDocument<Expectation> = { cache: 'internal', kind: 'expect', entries: [{ object: EXPECTATION, activeSince: 3 }] };
    return jsonReply(doc);
  },
};

let dir: string;
let server: ControlServer;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = tempDir('sync');
  const socket = path.join(dir, 'engine.ctl');
  writeFileSync(path.join(dir, 'engine.conf'), `General {\n\tLockFile ${path.join(dir, 'engine.lock')}\n\tUNIX {\n\t\tPath ${socket}\n\t}\n}\n`);
  env = { CTSYNC_ENGINE_CONF: path.join(dir, 'engine.conf'), CTSYNC_FAILOVER_STATE_FILE: path.join(dir, 'failover-state'), CTSYNC_SYSLOG_SOCKET: path.join(dir, 'no-syslog') };
  server = new ControlServer({ path: socket, handler, onKill: () => undefined });
  await server.listen();
});

afterAll(async () => {
  await server.close();
});

const text = { json: false };
const json = { json: true };

describe('show conntrack-sync statistics', () => {
  it('wraps the engine `-s` text in VyOS headers; expect stats only with expect-sync', async () => {
    const ctx = testContext(await configuredStateDir(BASE), env);
    calls.length = 0;
    expect(await showSyncStatistics(ctx, text)).toBe(`\nMain Table Statistics:\n\n${lab('fw1_s.txt')}\n`);
    expect(calls).toEqual(['stats:general']);
    const withExpect = testContext(await configuredStateDir([...BASE, `${CS} expect-sync ftp`]), env);
    calls.length = 0;
    const out = (await showSyncStatistics(withExpect, text)) as string;
    expect(out.endsWith('\nExpect Table Statistics:\n\ncache internal:\n(expect)\n\n\n')).toBe(true);
    expect(calls).toEqual(['stats:general', 'stats:expect']);
  });

  it('--json is the structured request, decamelized, valid against its schema; the expectation caches with expect-sync', async () => {
    const ctx = testContext(await configuredStateDir(BASE), env);
    calls.length = 0;
    const doc = rawKeys(await showSyncStatistics(ctx, json)) as { main: { links: { bytes_sent: number }[] } };
    expect(calls).toEqual(['json:stats']);
    expect(doc.main.links[0]!.bytes_sent).toBe(3820);
    expect(doc).not.toHaveProperty('expect');
    expect(doc).not.toHaveProperty('main.expect');
    expect(schemaErrors('sync-statistics', doc)).toEqual([]);
    const withExpect = testContext(await configuredStateDir([...BASE, `${CS} expect-sync ftp`]), env);
    const both = rawKeys(await showSyncStatistics(withExpect, json));
    expect(both).toMatchObject({ expect: { internal: { kind: 'cache', stats: { active: 1, created_ok: 1 } }, external: { kind: 'cache', stats: { active: 0 } } } });
    expect(both).not.toHaveProperty('main.expect');
    expect(schemaErrors('sync-statistics', both)).toEqual([]);
    // An engine that syncs no expectations (ExpectationSync off): expect is null.
    statsReply = { ...STATS, expect: undefined };
    try {
      const none = rawKeys(await showSyncStatistics(withExpect, json));
      expect(none).toMatchObject({ expect: null });
      expect(schemaErrors('sync-statistics', none)).toEqual([]);
    } finally {
      statsReply = STATS;
    }
  });
});

describe('show conntrack-sync cache', () => {
  it('tables the original direction of the -x dump, and the expected tuple of an expectation: Source / Destination / Protocol', async () => {
    const ctx = testContext(await configuredStateDir(BASE), env);
    calls.length = 0;
    const internal = (await showSyncCache(ctx, 'internal', 'main', text)) as string;
    expect(internal.split('\n').slice(0, 3)).toEqual([
      'Source             Destination   Protocol',
      '-----------------  ------------  --------',
      '10.1.201.7:40000   10.0.2.10:80  tcp',
    ]);
    expect(internal.split('\n')).toHaveLength(2 + lab('fw1_ix.txt').trim().split('\n').length);
    const external = (await showSyncCache(ctx, 'external', 'main', text)) as string;
    expect(external.split('\n')[2]).toBe('10.1.201.7:40000   10.0.2.10:80  tcp');
    // The helper's source port is open (mask 0): not shown.
    expect(await showSyncCache(ctx, 'internal', 'expect', text)).toBe(
      ['Source    Destination     Protocol', '--------  --------------  --------', '10.0.0.2  10.0.0.1:50000  tcp'].join('\n'),
    );
    expect(calls).toEqual(['dump:internal:ct:xml', 'dump:external:ct:xml', 'dump:internal:expect:text']);
  });

  it('--json comes from the structured dumps and validates', async () => {
    const ctx = testContext(await configuredStateDir(BASE), env);
    calls.length = 0;
    const ext = rawKeys(await showSyncCache(ctx, 'external', 'main', json));
    expect(ext).toEqual([expect.objectContaining({ reply: null, id: null, state: 'ESTABLISHED', active_since: 14, original: { src: '10.1.201.7', dst: '10.0.2.10', sport: 40000, dport: 80, packets: 0, bytes: 0 } })]);
    expect(schemaErrors('sync-cache', ext)).toEqual([]);
    const exp = rawKeys(await showSyncCache(ctx, 'internal', 'expect', json));
    expect(exp).toEqual([
      expect.objectContaining({ helper: 'ftp', expected: { src: '10.0.0.2', dst: '10.0.0.1', sport: 0, dport: 50000 }, mask: { src: '255.255.255.255', dst: '255.255.255.255', sport: 0, dport: 65535 } }),
    ]);
    expect(schemaErrors('sync-expect-cache', exp)).toEqual([]);
    expect(calls).toEqual(['json:ct-external', 'json:expect-internal']);
  });
});

describe('reset conntrack-sync', () => {
  it('external-cache: flush external, then request a resync (-f external, -n)', async () => {
    const ctx = testContext(await configuredStateDir(BASE), env);
    calls.length = 0;
    expect(await resetExternalCache(ctx, text)).toBe('');
    expect(calls).toEqual(['flush:external', 'request-dump']);
  });

  it('internal-cache: flush internal, resync with the kernel, bulk send (-f internal, -R, -B)', async () => {
    const ctx = testContext(await configuredStateDir(BASE), env);
    calls.length = 0;
    const result = await resetInternalCache(ctx, json);
    expect(calls).toEqual(['flush:internal', 'resync-master:all', 'send-bulk']);
    expect(result).toEqual({ command: 'reset conntrack-sync internal-cache', steps: ['flush-internal-cache', 'resync-with-kernel', 'send-bulk'] });
    expect(schemaErrors('sync-action', result)).toEqual([]);
  });
});

describe('restart conntrack-sync', () => {
  it('refuses while a commit holds the lock (T4503), before touching the engine', async () => {
    const stateDir = await configuredStateDir(BASE);
    writeFileSync(path.join(stateDir, 'commit.lock'), `${process.pid}\n`);
    calls.length = 0;
    await expect(restartSync(testContext(stateDir, env), text)).rejects.toThrow(/^Cannot restart conntrackd while a commit is in progress$/);
    expect(calls).toEqual([]);
  });
});

describe('show conntrack-sync status', () => {
  it('prints VyOS layout from the config and the state file; `all` expanded', async () => {
    const stateFile = path.join(tempDir('state-file'), 'failover');
    const e = { ...env, CTSYNC_FAILOVER_STATE_FILE: stateFile };
    const ctx = testContext(await configuredStateDir([...BASE, `${CS} interface eth1`, `${CS} expect-sync all`]), e);
    // VyOS's text starts with a newline; the state file's line keeps its own (Python's
    // readline()), so a blank line follows it.
    expect(await showSyncStatus(ctx, text)).toBe(
      [
        '',
        'sync-interface        : eth0, eth1',
        'failover-mechanism    : vrrp [sync-group SG1]',
        'last state transition : no transition yet!',
        'ExpectationSync       : ftp, sip, h323, nfs, sqlnet',
      ].join('\n'),
    );
    writeFileSync(stateFile, 'MASTER at Fri 24 Dec 2021 10:34:36 AM EET\n');
    expect(await showSyncStatus(ctx, text)).toBe(
      [
        '',
        'sync-interface        : eth0, eth1',
        'failover-mechanism    : vrrp [sync-group SG1]',
        'last state transition : MASTER at Fri 24 Dec 2021 10:34:36 AM EET',
        '',
        'ExpectationSync       : ftp, sip, h323, nfs, sqlnet',
      ].join('\n'),
    );
    const status = await showSyncStatus(ctx, json);
    expect(status).toEqual({
      sync_interface: 'eth0, eth1', failover_mechanism: 'vrrp', sync_group: 'SG1',
      last_transition: 'MASTER at Fri 24 Dec 2021 10:34:36 AM EET', sync_protocols: ['ftp', 'sip', 'h323', 'nfs', 'sqlnet'],
    });
    expect(schemaErrors('sync-status', status)).toEqual([]);
  });

  it('formats a vrrp failover and disabled expectation sync; the state line verbatim', () => {
    const status: SyncStatus = { sync_interface: 'eth0.5', failover_mechanism: 'vrrp', sync_group: 'GEFOEKOM', last_transition: null, sync_protocols: [] };
    const head = '\nsync-interface        : eth0.5\nfailover-mechanism    : vrrp [sync-group GEFOEKOM]\n';
    expect(formatSyncStatus(status, undefined)).toBe(`${head}last state transition : no transition yet!\nExpectationSync       : disabled`);
    // A line without its newline (written by hand) leaves no blank line, as in VyOS.
    expect(formatSyncStatus(status, 'edited')).toBe(`${head}last state transition : edited\nExpectationSync       : disabled`);
  });
});

describe('errors', () => {
  it('not configured: the VyOS sentence, before any engine request', async () => {
    const ctx = testContext(tempDir('empty'), env);
    calls.length = 0;
    for (const run of [showSyncStatistics, showSyncStatus, resetExternalCache, resetInternalCache]) {
      await expect(run(ctx, text)).rejects.toThrow(/^conntrack-sync is not configured!$/);
    }
    await expect(showSyncCache(ctx, 'internal', 'main', text)).rejects.toMatchObject({ code: 'OPMODE_UNCONFIGURED' });
    expect(calls).toEqual([]);
  });

  it('engine down: one line naming the socket; a reset names the step it could not do', async () => {
    const e = { ...env, CTSYNC_ENGINE_CONF: path.join(dir, 'down.conf') };
    writeFileSync(e.CTSYNC_ENGINE_CONF, `General {\n\tUNIX {\n\t\tPath ${path.join(dir, 'nobody.ctl')}\n\t}\n}\n`);
    const ctx = testContext(await configuredStateDir(BASE), e);
    await expect(showSyncStatistics(ctx, text)).rejects.toThrow(`conntrack-sync engine is not running (no answer on ${path.join(dir, 'nobody.ctl')})`);
    await expect(resetExternalCache(ctx, text)).rejects.toThrow(/^Failed to clear external cache: conntrack-sync engine is not running/);
    const missing = testContext(await configuredStateDir(BASE), { ...env, CTSYNC_ENGINE_CONF: path.join(dir, 'absent.conf') });
    await expect(showSyncStatistics(missing, text)).rejects.toThrow(`conntrack-sync engine is not running (${path.join(dir, 'absent.conf')} is missing)`);
  });
});
