/**
 * The daemon's answers on the control socket: each request family of the ControlHandler maps
 * onto one SyncEngine action, and every text comes from the control module's formatters
 * (shared/spec/conntrackd.md §3.4, §5.4, §5.5). The engine returns data; this is the only
 * place that turns the daemon's state into replies.
 */
import type { Conntrack, Expectation } from '../model/conntrack.js';
import type { LinkStats } from '../stats.js';
import {
  formatCacheStats,
  formatConntrackLine,
  formatConntrackXml,
  formatExpectationLine,
  formatExpectationXml,
  formatLinkStats,
  formatNetworkStats,
  formatProcessStats,
  formatQueueStats,
  formatRsQueue,
  formatRuntimeStats,
  formatSyncStats,
  type ExternalView,
  type InternalView,
} from '../control/format.js';
import { jsonify, jsonReply, type DumpDocument, type StatsDocument } from '../control/json.js';
import type { ControlHandler, CtOrExp, JsonRequest, Reply, Scope, StatsRequest } from '../control/server.js';
import type { CacheEntry } from './cache-dump.js';
import type { EngineStats, SyncEngine } from './engine.js';

/** A link block for a daemon whose channels have not reported yet (never on a running daemon). */
const NO_LINK: LinkStats = {
  kind: 'UDP',
  device: 'none',
  status: 'DOWN',
  active: true,
  bytesSent: 0n,
  bytesRecv: 0n,
  packetsSent: 0n,
  packetsRecv: 0n,
  errorSend: 0n,
  errorRecv: 0n,
};

function activeLink(s: EngineStats): LinkStats {
  return s.links.find((l) => l.active) ?? s.links[0] ?? NO_LINK;
}

function internalView(s: EngineStats, kind: 'ct' | 'exp'): InternalView {
  return s.internal ? { kind: 'cache', stats: s.internal[kind] } : { kind: 'bypass', stats: s.bypass![kind] };
}

function externalView(s: EngineStats, kind: 'ct' | 'exp'): ExternalView {
  return s.external ? { kind: 'cache', stats: s.external[kind] } : { kind: 'inject', stats: s.inject![kind] };
}

function seconds(ms: number): number {
  return ms / 1000;
}

export class EngineControlHandler implements ControlHandler {
  constructor(private readonly engine: SyncEngine) {}

  private get expectationSync(): boolean {
    return this.engine.sync.expectationSync !== undefined;
  }

  stats(which: StatsRequest): Reply {
    const s = this.engine.snapshot();
    const link = activeLink(s);
    switch (which) {
      case 'general':
      case 'expect': {
        // `-s expect` answers nothing unless ExpectationSync is on (§5.2).
        if (which === 'expect' && !this.expectationSync) return;
        const kind = which === 'general' ? 'ct' : 'exp';
        return formatSyncStats({
          internal: internalView(s, kind),
          external: externalView(s, kind),
          traffic: s.traffic,
          link,
          malformed: s.network.malformed,
          lost: s.sequence.lost,
        });
      }
      case 'network':
        return formatNetworkStats(s.network, s.sequence, link);
      case 'cache':
        return (s.internal ? formatCacheStats('internal', s.internal.ct) : '') + (s.external ? formatCacheStats('external', s.external.ct) : '');
      case 'runtime':
        return formatRuntimeStats({ ...s.runtime, startedAt: seconds(s.runtime.startedAt) }, seconds(Date.now()));
      case 'link':
        return formatLinkStats(s.links);
      case 'rsqueue':
        return s.mode === 'FTFW' ? formatRsQueue(s.rsqueue) : undefined;
      case 'queue':
        return formatQueueStats(
          s.queues.reduce((n, q) => n + q.current, 0),
          s.queues,
        );
      case 'process':
        // ctsyncd forks no children: flushes and dumps run in-process.
        return formatProcessStats([]);
    }
  }

  async dump(cache: 'internal' | 'external', what: CtOrExp, format: 'text' | 'xml'): Promise<string> {
    if (what === 'expect') {
      if (!this.expectationSync) return '';
      const entries = await this.entries(cache, 'expect');
      return entries.map((e) => (format === 'xml' ? formatExpectationXml(e.data) : formatExpectationLine(e.data, e))).join('');
    }
    const entries = await this.entries(cache, 'ct');
    return entries.map((e) => (format === 'xml' ? formatConntrackXml(e.data) : formatConntrackLine(e.data, e))).join('');
  }

  /** The objects of one cache: the internal one may be a live kernel dump (DisableInternalCache). */
  private entries(cache: 'internal' | 'external', kind: 'ct'): Promise<CacheEntry<Conntrack>[]>;
  private entries(cache: 'internal' | 'external', kind: 'expect'): Promise<CacheEntry<Expectation>[]>;
  private async entries(cache: 'internal' | 'external', kind: 'ct' | 'expect'): Promise<CacheEntry<Conntrack>[] | CacheEntry<Expectation>[]> {
    if (kind === 'ct') return cache === 'internal' ? this.engine.internalEntries('ct') : this.engine.externalEntries('ct');
    return cache === 'internal' ? this.engine.internalEntries('expect') : this.engine.externalEntries('expect');
  }

  async commit(what: Scope): Promise<void> {
    await this.engine.commit(what);
  }

  async flushCache(which: 'internal' | 'external' | 'all'): Promise<void> {
    await this.engine.flushCaches(which);
  }

  async flushMaster(what: Scope): Promise<void> {
    await this.engine.flushKernelTable(what);
  }

  async resyncMaster(what: Scope): Promise<void> {
    await this.engine.resyncWithKernel(what);
  }

  sendBulk(): Reply {
    this.engine.sendBulk();
  }

  requestDump(): Reply {
    this.engine.requestResync();
  }

  resetTimers(): Reply {
    this.engine.purgeTimers();
  }

  async json(which: JsonRequest): Promise<string> {
    if (which === 'stats') return jsonReply(this.statsDocument());
    const [kind, cache] = which.split('-') as ['ct' | 'expect', 'internal' | 'external'];
    if (kind === 'ct') return jsonReply(dumpDocument<Conntrack>(cache, 'ct', await this.entries(cache, 'ct')));
    return jsonReply(dumpDocument<Expectation>(cache, 'expect', await this.entries(cache, 'expect')));
  }

  private statsDocument(): StatsDocument {
    const s = this.engine.snapshot();
    return {
      mode: s.mode,
      uptimeSeconds: Math.floor(seconds(Date.now() - s.runtime.startedAt)),
      internal: internalView(s, 'ct'),
      external: externalView(s, 'ct'),
      ...(this.expectationSync ? { expect: { internal: internalView(s, 'exp'), external: externalView(s, 'exp') } } : {}),
      traffic: jsonify(s.traffic),
      network: jsonify(s.network),
      sequence: jsonify(s.sequence),
      links: s.links.map((l) => jsonify(l)),
      runtime: jsonify(s.runtime),
      queues: s.queues,
    };
  }
}

function dumpDocument<T extends Conntrack | Expectation>(
  cache: 'internal' | 'external',
  kind: 'ct' | 'expect',
  entries: CacheEntry<T>[],
): DumpDocument<T> {
  return {
    cache,
    kind: kind as DumpDocument<T>['kind'],
    entries: entries.map((e) => ({ object: e.data, activeSince: e.activeSince ?? 0, ...(e.expiresIn !== undefined ? { expiresIn: e.expiresIn } : {}) })),
  };
}
