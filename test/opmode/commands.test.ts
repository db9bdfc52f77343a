import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/ctsync.js';
import { OPMODE_COMMANDS, helpText, rawKeys, validNextWords } from '../../src/opmode/commands.js';
import { parseProcStat } from '../../src/opmode/conntrack-statistics.js';
import { SYNC_CONFIG, configuredStateDir, tempDir } from './helpers.js';
import { schemaErrors } from './schemas.js';

/** Runs the `ctsync` dispatcher in-process; returns exit status and both streams. */
async function ctsync(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const status = await main(['--state-dir', tempDir('cli'), ...argv], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) }, {});
  return { status, out, err };
}

describe('the op-mode command table', () => {
  it('holds every command of vyos.md §4.1 with its help text', () => {
    const leaves = OPMODE_COMMANDS.filter((c) => c.run).map((c) => c.words.join(' '));
    expect(leaves.sort()).toEqual([
      'monitor conntrack table',
      'reset conntrack',
      'reset conntrack-sync external-cache',
      'reset conntrack-sync internal-cache',
      'restart conntrack-sync',
      'show conntrack statistics',
      'show conntrack table ipv4',
      'show conntrack table ipv6',
      'show conntrack-sync cache external',
      'show conntrack-sync cache external expect',
      'show conntrack-sync cache external main',
      'show conntrack-sync cache internal',
      'show conntrack-sync cache internal expect',
      'show conntrack-sync cache internal main',
      'show conntrack-sync statistics',
      'show conntrack-sync status',
    ]);
    expect(OPMODE_COMMANDS.find((c) => c.words.join(' ') === 'reset conntrack-sync external-cache')?.help).toBe(
      'Reset external cache and request resync with other systems',
    );
  });

  it('names the valid next words of a node', () => {
    expect(validNextWords(['show', 'conntrack-sync'])).toEqual(['cache', 'statistics', 'status']);
    expect(validNextWords(['show', 'conntrack-sync', 'cache', 'internal'])).toEqual(['expect', 'main']);
    expect(validNextWords(['show', 'conntrack', 'table', 'ipv6'])).toEqual(['destination', 'detail', 'protocol', 'source']);
  });

  it('help: the node, then the possible completions as VyOS lists them', () => {
    expect(helpText(['show', 'conntrack-sync', 'cache', 'internal'])).toBe(
      [
        'show conntrack-sync cache internal: Show internal connection tracking cache entries',
        'Possible completions:',
        '  <Enter>                   Execute the current command',
        '  expect                    Show internal expect connection tracking cache entries',
        '  main                      Show internal main connection tracking cache entries',
      ].join('\n'),
    );
    expect(helpText(['show', 'conntrack', 'table', 'ipv4']).split('\n')).toEqual([
      'show conntrack table ipv4: Show conntrack entries for IPv4 protocol',
      'Possible completions:',
      '  <Enter>                   Execute the current command',
      '  destination               Show entries with this original destination <ADDR[:PORT]>',
      '  detail                    Show both directions, counters, mark and zone',
      '  protocol                  Show entries of this protocol <name|number>',
      '  source                    Show entries with this original source <ADDR[:PORT]>',
    ]);
    expect(helpText(['reset'])).toBe(
      ['Possible completions:', '  conntrack                 Reset all currently tracked connections', '  conntrack-sync            Reset connection syncing parameters'].join('\n'),
    );
  });

  it('--json keys: VyOS raw normalisation (decamelized, dashes to underscores)', () => {
    expect(rawKeys({ uptimeSeconds: 1, links: [{ bytesSent: 2 }], 'sync-group': 'x', n: 3n })).toEqual({ uptime_seconds: 1, links: [{ bytes_sent: 2 }], sync_group: 'x', n: 3 });
  });
});

describe('ctsync dispatch of op-mode words', () => {
  it('unknown and incomplete words: one line and the valid next words, exit 1', async () => {
    expect(await ctsync('show', 'conntrack-sync', 'stats')).toEqual({
      status: 1, out: '', err: 'Invalid command: show conntrack-sync stats\nValid next words: cache, statistics, status\n',
    });
    expect(await ctsync('show', 'conntrack-sync')).toEqual({
      status: 1, out: '', err: 'Incomplete command: show conntrack-sync\nValid next words: cache, statistics, status\n',
    });
    expect(await ctsync('reset', 'conntrack-sync', 'cache')).toMatchObject({ status: 1, err: 'Invalid command: reset conntrack-sync cache\nValid next words: external-cache, internal-cache\n' });
    expect(await ctsync('show', 'conntrack', 'table', 'ipv5')).toMatchObject({ status: 1, err: 'Invalid command: show conntrack table ipv5\nValid next words: ipv4, ipv6\n' });
    expect((await ctsync('show', 'conntrak')).err).toMatch(/^Unknown command: show conntrak\nValid next words: .*conntrack, conntrack-sync/);
  });

  it('the config show is still the config show', async () => {
    expect(await ctsync('show')).toMatchObject({ status: 0 });
  });

  it('not configured: the VyOS sentence and exit 1, for every conntrack-sync command', async () => {
    for (const words of [['show', 'conntrack-sync', 'status'], ['show', 'conntrack-sync', 'statistics', '--json'], ['show', 'conntrack-sync', 'cache', 'external'], ['reset', 'conntrack-sync', 'internal-cache'], ['restart', 'conntrack-sync']]) {
      expect(await ctsync(...words)).toEqual({ status: 1, out: '', err: 'conntrack-sync is not configured!\n' });
    }
  });

  it('engine not running: every command that needs the engine says so in one line and exits 1, text and --json', async () => {
    const dir = tempDir('down');
    const stateDir = await configuredStateDir(SYNC_CONFIG);
    const socket = path.join(dir, 'gone.ctl');
    const dead = path.join(dir, 'dead.conf');
    writeFileSync(dead, `General {\n\tLockFile ${path.join(dir, 'gone.lock')}\n\tUNIX {\n\t\tPath ${socket}\n\t}\n}\n`);
    const missing = path.join(dir, 'missing.conf');
    const env = { CTSYNC_SYSLOG_SOCKET: path.join(dir, 'no-syslog'), CTSYNC_ENGINE_CMD: 'false' };
    const needEngine = OPMODE_COMMANDS.filter((c) => c.run && c.words[1] === 'conntrack-sync' && c.words[2] !== 'status');
    expect(needEngine).toHaveLength(10);
    const notRunning = `conntrack-sync engine is not running (no answer on ${socket})`;
    const deadLine: Record<string, string> = {
      'reset conntrack-sync external-cache': `Failed to clear external cache: ${notRunning}`,
      'reset conntrack-sync internal-cache': `Failed to clear internal cache: ${notRunning}`,
      // restart starts a stopped engine: here its start fails.
      'restart conntrack-sync': `Failed to start the conntrack-sync engine (false -C ${dead} -d)`,
    };
    for (const { words } of needEngine) {
      for (const json of [[], ['--json']]) {
        const run = async (conf: string): Promise<{ status: number; out: string; err: string }> => {
          let out = '';
          let err = '';
          const status = await main(['--state-dir', stateDir, ...words, ...json], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) }, { ...env, CTSYNC_ENGINE_CONF: conf });
          return { status, out, err };
        };
        const label = [...words, ...json].join(' ');
        expect(await run(dead), label).toEqual({ status: 1, out: '', err: `${deadLine[words.join(' ')] ?? notRunning}\n` });
        expect(await run(missing), label).toEqual({ status: 1, out: '', err: `conntrack-sync engine is not running (${missing} is missing)\n` });
      }
    }
  });

  it('help <verb> …', async () => {
    expect((await ctsync('help', 'show', 'conntrack')).out).toContain('  table                     Show conntrack entries for table\n');
  });
});

describe('/proc/net/stat/nf_conntrack', () => {
  it('parses the hex per-CPU rows into conntrack -S names', () => {
    const text = [
      'entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart',
      '00000005  00000001 0000000a 00000000 00000002 00000000 00000000 00000000 00000010 00000000 00000000 00000000 00000003  00000000 00000000 00000000 00000004',
      '00000005  00000000 00000000 00000000 00000000 00000000 00000000 00000000 000000ff 00000000 00000000 00000000 00000000  00000000 00000000 00000000 00000000',
    ].join('\n');
    const rows = parseProcStat(text);
    expect(rows).toEqual([
      { cpu: 0, found: 10, invalid: 2, insert: 16, insert_failed: 0, drop: 0, early_drop: 0, error: 3, search_restart: 4, clash_resolve: 1, chaintoolong: 0 },
      { cpu: 1, found: 0, invalid: 0, insert: 255, insert_failed: 0, drop: 0, early_drop: 0, error: 0, search_restart: 0, clash_resolve: 0, chaintoolong: 0 },
    ]);
    expect(schemaErrors('conntrack-statistics', rows)).toEqual([]);
  });
});
