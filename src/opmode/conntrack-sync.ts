/**
 * The op-mode of `service conntrack-sync` (VyOS's src/op_mode/conntrack_sync.py,
 * shared/spec/vyos.md §4.2). Every function first checks the running config
 * (`conntrack-sync is not configured!`), then talks to the engine only through its control
 * socket. Text is what VyOS prints; `--json` comes from ctsyncd's structured requests
 * (src/engine/control/json.ts), never from parsing text.
 */
import { CtsyncError, isCtsyncError } from '../common/errors.js';
import { withCommitLock } from '../configd/commit-lock.js';
import type { DumpDocument, StatsDocument } from '../engine/control/json.js';
import type { RequestCode } from '../engine/control/requests.js';
import { l4ProtoName, type Conntrack, type Expectation, type L3 } from '../engine/model/conntrack.js';
import { failoverStateFile, readFailoverLine } from '../vrrp-hooks/state-file.js';
import { Syslog } from '../common/syslog.js';
import { endpointText, tableEntry, tupleView, type TableEntry, type TupleView } from './conntrack-table.js';
import { syncConfig, type OpmodeContext, type OpmodeOptions, type Output } from './context.js';
import { REQUEST, type EngineClient } from './engine-client.js';
import { parseExpectationLines, parseFlowXml, type CacheFlow } from './cache-dump.js';
import { simpleTable } from './table.js';

// ---- show conntrack-sync statistics ----------------------------------------------------------

export interface SyncStatistics {
  /** `-s`: the conntrack caches, traffic, links, queues… */
  main: Omit<StatsDocument, 'expect'>;
  /**
   * The expectation caches of `-s expect`, when expect-sync is configured (as the text's Expect
   * Table block); null when the engine syncs no expectations.
   */
  expect?: StatsDocument['expect'] | null;
}

export async function showSyncStatistics(ctx: OpmodeContext, opts: OpmodeOptions): Promise<Output> {
  const cs = syncConfig(ctx);
  const withExpect = cs.expectSync.length > 0;
  const engine = ctx.engine();
  if (opts.json) {
    const { expect, ...main } = await engine.requestJson<StatsDocument>(REQUEST.JSON_STATS);
    return { main, ...(withExpect ? { expect: expect ?? null } : {}) } satisfies SyncStatistics;
  }
  // VyOS prints a header, passes `conntrackd -s` through, then a blank line; the same for
  // `-s exp` when expect-sync is configured.
  let text = `\nMain Table Statistics:\n\n${await engine.request(REQUEST.STATS)}\n`;
  if (withExpect) text += `\nExpect Table Statistics:\n\n${await engine.request(REQUEST.EXP_STATS)}\n`;
  return text;
}

// ---- show conntrack-sync status ---------------------------------------------------------------

/** What `expect-sync all` stands for (VyOS expands it for display). */
export const ALL_EXPECT_PROTOCOLS = ['ftp', 'sip', 'h323', 'nfs', 'sqlnet'] as const;

export const NO_TRANSITION = 'no transition yet!';

/** VyOS's raw dict of show_status. */
export interface SyncStatus {
  sync_interface: string;
  /** Always vrrp: verify refuses a config without its sync-group (vyos.md §2.2, rule 6). */
  failover_mechanism: 'vrrp';
  sync_group: string;
  /** The state file's first line (`MASTER at …`) without its newline, null before the first transition. */
  last_transition: string | null;
  /** The expectation protocols synced, `all` expanded; empty when disabled. */
  sync_protocols: string[];
}

/** VyOS pads each label to 22 characters before `: `. */
const label = (name: string, value: string): string => `${name.padEnd(22)}: ${value}`;

/**
 * VyOS's text: a leading newline, then the four labels. The state file's line is printed as
 * Python's readline() returned it (`stateLine`), so its newline leaves a blank line before
 * ExpectationSync.
 */
export function formatSyncStatus(s: SyncStatus, stateLine: string | undefined): string {
  const lines = [
    label('sync-interface', s.sync_interface),
    label('failover-mechanism', `${s.failover_mechanism} [sync-group ${s.sync_group}]`),
    label('last state transition', stateLine ?? NO_TRANSITION),
    label('ExpectationSync', s.sync_protocols.length > 0 ? s.sync_protocols.join(', ') : 'disabled'),
  ];
  return `\n${lines.join('\n')}`;
}

export async function showSyncStatus(ctx: OpmodeContext, opts: OpmodeOptions): Promise<Output> {
  const cs = syncConfig(ctx);
  const stateLine = await readFailoverLine(failoverStateFile(ctx.env));
  const status: SyncStatus = {
    sync_interface: cs.interfaces.map((i) => i.name).join(', '),
    failover_mechanism: 'vrrp',
    sync_group: cs.failoverSyncGroup ?? '',
    last_transition: stateLine === undefined ? null : stateLine.replace(/\n$/, ''),
    sync_protocols: cs.expectSync.includes('all') ? [...ALL_EXPECT_PROTOCOLS] : [...cs.expectSync],
  };
  return opts.json ? status : formatSyncStatus(status, stateLine);
}

// ---- show conntrack-sync cache internal|external [main|expect] --------------------------------

export type CacheName = 'internal' | 'external';
export type CacheTable = 'main' | 'expect';

/** A main-table object of a sync cache: the table entry plus its age in the cache. */
export interface CacheEntry extends TableEntry {
  active_since: number;
  /** ALARM external cache only. */
  expires_in?: number;
}

/** An expectation of a sync cache. */
export interface ExpectCacheEntry {
  family: L3;
  protocol: string;
  protonum: number;
  expected: TupleView;
  /** Which parts of `expected` must match: a 0 port is any port. */
  mask: TupleView;
  master: TupleView;
  helper: string | null;
  zone: number;
  timeout: number | null;
  active_since: number;
}

/** The requests of a cache table: its text dump (read by PARSE_DUMP) and its structured dump. */
const CACHE_REQUESTS = {
  internal: {
    main: { text: REQUEST.CT_DUMP_INT_XML, json: REQUEST.JSON_CT_DUMP_INTERNAL },
    expect: { text: REQUEST.EXP_DUMP_INTERNAL, json: REQUEST.JSON_EXP_DUMP_INTERNAL },
  },
  external: {
    main: { text: REQUEST.CT_DUMP_EXT_XML, json: REQUEST.JSON_CT_DUMP_EXTERNAL },
    expect: { text: REQUEST.EXP_DUMP_EXTERNAL, json: REQUEST.JSON_EXP_DUMP_EXTERNAL },
  },
} as const;

const PARSE_DUMP: Record<CacheTable, (text: string) => CacheFlow[]> = { main: parseFlowXml, expect: parseExpectationLines };

function expectEntry(exp: Expectation, activeSince: number): ExpectCacheEntry {
  return {
    family: exp.tuple.l3,
    protocol: l4ProtoName(exp.tuple.proto),
    protonum: exp.tuple.proto,
    expected: tupleView(exp.tuple),
    mask: tupleView(exp.mask),
    master: tupleView(exp.master),
    helper: exp.helper ?? null,
    zone: exp.zone ?? 0,
    timeout: exp.timeout ?? null,
    active_since: activeSince,
  };
}

/** VyOS's cache table (T6227): Source / Destination / Protocol of the original direction (of an expectation: the expected tuple). */
export function formatCacheTable(flows: readonly CacheFlow[]): string {
  return simpleTable(
    ['Source', 'Destination', 'Protocol'],
    flows.map((f) => [endpointText(f.family, f.src, f.sport), endpointText(f.family, f.dst, f.dport), f.protocol]),
  );
}

export async function showSyncCache(ctx: OpmodeContext, cache: CacheName, table: CacheTable, opts: OpmodeOptions): Promise<Output> {
  syncConfig(ctx);
  const engine = ctx.engine();
  const requests = CACHE_REQUESTS[cache][table];
  if (!opts.json) return formatCacheTable(PARSE_DUMP[table](await engine.request(requests.text)));
  if (table === 'main') {
    const doc = await engine.requestJson<DumpDocument<Conntrack>>(requests.json);
    return doc.entries.map((e): CacheEntry => ({
      ...tableEntry(e.object),
      active_since: e.activeSince,
      ...(e.expiresIn !== undefined ? { expires_in: e.expiresIn } : {}),
    }));
  }
  const doc = await engine.requestJson<DumpDocument<Expectation>>(requests.json);
  return doc.entries.map((e) => expectEntry(e.object, e.activeSince));
}

// ---- reset / restart ---------------------------------------------------------------------------

/** The JSON of an action: the control requests it made, in order. */
export interface ActionResult {
  command: string;
  steps: string[];
}

/** One step of an action: VyOS's error sentence when the engine does not take the request. */
async function step(engine: EngineClient, code: RequestCode, failure: string): Promise<void> {
  try {
    await engine.request(code);
  } catch (e) {
    throw new CtsyncError('OPMODE_ACTION_FAILED', `${failure}: ${(e as Error).message}`, { cause: e });
  }
}

const RESYNC_FAILED = 'Failed to request resynchronization of external cache';
const BULK_FAILED = 'Failed to send bulk update to other conntrack-sync systems';

/** Runs an action with VyOS's syslog line first; `log` adds lines to the same log. */
async function withSyslog<T>(ctx: OpmodeContext, line: string, fn: (log: (line: string) => void) => Promise<T>): Promise<T> {
  const syslog = new Syslog({ socketPath: ctx.env.CTSYNC_SYSLOG_SOCKET || undefined });
  syslog.log(line);
  try {
    return await fn((l) => syslog.log(l));
  } finally {
    await syslog.close();
  }
}

function actionOutput(command: string, steps: string[], opts: OpmodeOptions): Output {
  return opts.json ? ({ command, steps } satisfies ActionResult) : '';
}

/** `reset conntrack-sync external-cache`: `-f external`, then `-n`. */
export async function resetExternalCache(ctx: OpmodeContext, opts: OpmodeOptions): Promise<Output> {
  syncConfig(ctx);
  const engine = ctx.engine();
  return withSyslog(ctx, 'Resetting external cache of conntrack sync service...', async () => {
    // VyOS prints "Failed to clear {direction} cache" (a missing f-string); the word is filled in here.
    await step(engine, REQUEST.CT_FLUSH_EXT_CACHE, 'Failed to clear external cache');
    await step(engine, REQUEST.REQUEST_DUMP, RESYNC_FAILED);
    return actionOutput('reset conntrack-sync external-cache', ['flush-external-cache', 'request-resync'], opts);
  });
}

/** `reset conntrack-sync internal-cache`: `-f internal`, `-R` (a failure only warns), `-B`. */
export async function resetInternalCache(ctx: OpmodeContext, opts: OpmodeOptions): Promise<Output> {
  syncConfig(ctx);
  const engine = ctx.engine();
  return withSyslog(ctx, 'Resetting internal cache of conntrack sync service...', async () => {
    await step(engine, REQUEST.CT_FLUSH_INT_CACHE, 'Failed to clear internal cache');
    const steps = ['flush-internal-cache'];
    try {
      await engine.request(REQUEST.ALL_RESYNC_MASTER);
      steps.push('resync-with-kernel');
    } catch {
      ctx.out('ERROR: failed to resynchronize internal cache with kernel conntrack table');
    }
    await step(engine, REQUEST.SEND_BULK, BULK_FAILED);
    steps.push('send-bulk');
    return actionOutput('reset conntrack-sync internal-cache', steps, opts);
  });
}

/**
 * VyOS refuses to restart the engine under a running commit (T4503, vyos.md §4.2): taking and
 * releasing the commit lock is the atomic "is a commit running?" question.
 */
function refuseDuringCommit(stateDir: string): void {
  try {
    withCommitLock(stateDir, () => undefined);
  } catch (e) {
    if (isCtsyncError(e, 'CONFIG_COMMIT_LOCKED')) {
      throw new CtsyncError('CONFIG_COMMIT_LOCKED', 'Cannot restart conntrackd while a commit is in progress', { cause: e });
    }
    throw e;
  }
}

/**
 * `restart conntrack-sync`: VyOS restarts the systemd unit; here the engine is stopped with
 * its KILL request and started again as the VRRP hook does (`<engine> -C <conf> -d`, env
 * CTSYNC_ENGINE_CMD; src/engine/service.ts), then `-n` and `-B`.
 */
export async function restartSync(ctx: OpmodeContext, opts: OpmodeOptions): Promise<Output> {
  syncConfig(ctx);
  refuseDuringCommit(ctx.stateDir);
  const engine = ctx.engine();
  const { service } = engine;
  return withSyslog(ctx, 'Restarting conntrack sync service...', async (log) => {
    const steps: string[] = [];
    if (await service.alive()) {
      // Waits until the engine has let go of its socket and lock file.
      await service.stop();
      steps.push('kill');
    }
    // A lock file still there is a crashed engine's: start() logs VyOS's warning and removes it.
    const started = await service.start((line) => {
      log(line);
      ctx.warn(line);
    });
    if (!started) {
      throw new CtsyncError('OPMODE_ACTION_FAILED', `Failed to start the conntrack-sync engine (${service.command.join(' ')} -C ${service.endpoints.conf} -d)`);
    }
    steps.push('start');
    await step(engine, REQUEST.REQUEST_DUMP, RESYNC_FAILED);
    await step(engine, REQUEST.SEND_BULK, BULK_FAILED);
    steps.push('request-resync', 'send-bulk');
    return actionOutput('restart conntrack-sync', steps, opts);
  });
}
