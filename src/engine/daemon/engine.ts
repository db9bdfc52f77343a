/**
 * The sync daemon core (conntrackd's `run.c` + `sync-mode.c`, shared/spec/conntrackd.md §2,
 * §3, §7): kernel events → filter → origin tracking → internal cache → sync mode → transport;
 * transport → sync mode → external cache, or the kernel directly (DisableExternalCache). It
 * also carries every operator action the control socket dispatches, as typed methods that
 * return data (the control module formats text).
 */
import { EventEmitter } from 'node:events';
import type { EngineConfig, SyncConfig } from '../config/types.js';
import type { Transport } from '../channel/transport.js';
import type { Conntrack, CtEventType, Expectation } from '../model/conntrack.js';
import type { KernelTable, RecordBatch } from '../kernel/kernel-table.js';
import { CT, KIND_EXP, records, u64 } from '../kernel/record.js';
import type {
  BypassStats, CacheStats, LinkStats, NetworkStats, QueueStats, RsQueueEntry, RuntimeStats, SequenceStats, TrafficStats,
} from '../stats.js';
import type { SyncModeName } from '../config/types.js';
import { CtsyncError } from '../../common/errors.js';
import { ExternalCache } from '../cache/external.js';
import { InternalCache } from '../cache/internal.js';
import { RecordStore } from '../cache/store.js';
import type { Origin } from '../cache/internal.js';
import { acceptsObject, compileFilter, expectationAccepted } from '../cache/filter.js';
import type { ConntrackFilter } from '../cache/filter.js';
import { buildOptionsFrom } from '../wire/build.js';
import type { ReceiveHandler } from '../channel/transport.js';
import { createSyncMode } from '../sync/index.js';
import type { RandomSource, SyncMode } from '../sync/index.js';
import { seconds, systemScheduler } from '../sync/scheduler.js';
import type { Scheduler, TimerHandle } from '../sync/scheduler.js';
import { cacheEntries } from './cache-dump.js';
import type { CacheEntry } from './cache-dump.js';
import { Committer, releaseCreated } from './commit.js';
import type { CommitResult } from './commit.js';
import { DirectInject, newBypassStats } from './inject.js';
import { KernelEvents } from './kernel-events.js';
import { flushKernel, PurgeTimer } from './kernel-flush.js';
import { KernelHandles } from './kernel-handles.js';
import { populateFromKernel, refreshAndPurge } from './kernel-resync.js';
import type { EngineLog } from './log.js';
import { DEFAULT_READINESS_TIMING, SyncReadiness } from './readiness.js';
import type { ReadinessTiming, SyncState } from './readiness.js';
import type { CacheSide, ObjectKind, Target } from './targets.js';

export interface SyncEngineDeps {
  /**
   * Opens one handle on the kernel table. The engine opens four (events/dump, commit, flush,
   * inject) so that each kernel event names its cause by port id (§3.2).
   */
  openKernel: () => KernelTable;
  /** The active dedicated link (the channels' Multichannel). */
  transport: Transport;
  log: EngineLog;
  scheduler?: Scheduler;
  /** `-s link`: what the channels report. */
  links?: () => LinkStats[];
  /** ALARM's jitter source (tests). */
  random?: RandomSource;
  readiness?: Partial<ReadinessTiming>;
}

/** Every `conntrackd -s` block as data. Absent blocks do not apply to this configuration. */
export interface EngineStats {
  mode: SyncModeName;
  /** `cache internal:` (absent with DisableInternalCache). */
  internal?: { ct: CacheStats; exp: CacheStats };
  /** `internal bypass:` (DisableInternalCache). */
  bypass?: { ct: BypassStats; exp: BypassStats };
  /** `cache external:` (absent with DisableExternalCache). */
  external?: { ct: CacheStats; exp: CacheStats };
  /** `external inject:` (DisableExternalCache). */
  inject?: { ct: BypassStats; exp: BypassStats };
  traffic: TrafficStats;
  network: NetworkStats;
  sequence: SequenceStats;
  runtime: RuntimeStats;
  queues: QueueStats[];
  rsqueue: RsQueueEntry[];
  links: LinkStats[];
  /** Entries `-c` could not create since start. */
  commitFailed: number;
}

interface EngineEvents {
  /** The external cache came in sync, or went stale (the HA track file follows it). */
  'sync-state': [SyncState];
  /**
   * The node's VRRP role as the hooks reveal it: a master transition commits the external
   * cache, a backup one requests a resync from the peer (shared/spec/vyos.md §5.2).
   */
  role: [master: boolean];
}

export class SyncEngine extends EventEmitter<EngineEvents> {
  readonly sync: SyncConfig;
  readonly mode: SyncMode;
  readonly internal: InternalCache | undefined;
  readonly external: ExternalCache | undefined;
  readonly inject: DirectInject | undefined;
  readonly kernel: KernelHandles;
  /** The channels' ReceiveHandler. */
  readonly receive: ReceiveHandler;
  private readonly scheduler: Scheduler;
  private readonly log: EngineLog;
  private readonly filter: ConntrackFilter;
  private readonly filterEvents: boolean;
  private readonly origins: Map<number, Origin>;
  private readonly events: KernelEvents;
  private readonly committer: Committer;
  private readonly purge: PurgeTimer;
  private readonly readiness: SyncReadiness;
  private readonly links: () => LinkStats[];
  private readonly bypassStats = { ct: newBypassStats(), exp: newBypassStats() };
  // hot counters as plain numbers; converted to the bigint fields of the stats on snapshot
  private eventsReceived = 0;
  private eventsFiltered = 0;
  private trafficBytes = 0;
  private trafficPackets = 0;
  private commitFailed = 0;
  private flushKernelCount = 0;
  private resyncCount = 0;
  private catchEventFailed = 0;
  private readonly startedAt: number;
  /** Events that arrive while the start-up dump runs, applied after it (see start()). */
  private startup: RecordBatch[] | undefined;
  private running = false;
  private pollTimer: TimerHandle | undefined;
  private stopped = false;

  constructor(
    readonly config: EngineConfig,
    deps: SyncEngineDeps,
  ) {
    super();
    if (config.sync === undefined) {
      throw new CtsyncError('ENGINE_CONFIG_INVALID', 'the sync engine needs a Sync section in conntrackd.conf');
    }
    const general = config.general;
    this.log = deps.log;
    this.scheduler = deps.scheduler ?? systemScheduler;
    this.links = deps.links ?? (() => []);
    this.startedAt = this.scheduler.now();
    const s = config.sync;
    // §3.5: CommitTimeout cannot be combined with DisableExternalCache (forced to 0)
    this.sync = s.disableExternalCache && s.commitTimeout ? { ...s, commitTimeout: undefined } : s;
    const nowSeconds = (): number => seconds(this.scheduler);
    this.kernel = new KernelHandles(deps.openKernel);
    this.origins = this.kernel.origins();
    this.filter = compileFilter(general.filter);
    // there is no BPF here: `From Kernelspace` is applied to events in user space as well
    this.filterEvents = general.filter !== undefined;
    const liberal = !this.sync.tcpWindowTracking;
    if (!this.sync.disableInternalCache) {
      this.internal = new InternalCache({
        hashLimit: general.hashLimit,
        nowSeconds,
        filter: general.filter,
        expectationSync: this.sync.expectationSync,
        origins: this.origins,
      });
    }
    if (this.sync.disableExternalCache) {
      this.inject = new DirectInject(this.kernel.inject, this.scheduler, this.log, liberal);
    } else {
      this.external = new ExternalCache({
        hashLimit: general.hashLimit,
        nowSeconds,
        ...(this.sync.mode === 'ALARM' ? { expiry: { scheduler: this.scheduler, cacheTimeout: this.sync.alarm.cacheTimeout } } : {}),
      });
    }
    this.mode = createSyncMode(
      this.sync,
      {
        transport: deps.transport,
        scheduler: this.scheduler,
        // without internal cache nothing is queued: an empty store
        store: this.internal?.store ?? new RecordStore(),
        build: buildOptionsFrom(this.sync),
        external: (this.external ?? this.inject)!,
        resendAll: () => this.resendAll(),
        log: (m) => this.log.notice(m),
      },
      deps.random,
    );
    const { internal, mode } = this;
    internal?.replicateTo(mode);
    const readiness = (this.readiness = new SyncReadiness(
      this.scheduler,
      mode,
      () => this.externalMessages(),
      (st) => this.emit('sync-state', st),
      { ...DEFAULT_READINESS_TIMING, ...deps.readiness },
    ));
    this.receive = (payload, link) => {
      readiness.heard();
      mode.receive(payload, link);
    };
    this.events = new KernelEvents({
      general,
      expectations: this.sync.expectationSync !== undefined,
      log: this.log,
      scheduler: this.scheduler,
      onRecords: (batch) => {
        // the reader reuses its buffer: what waits for the start-up dump is a copy
        if (this.startup !== undefined) this.startup.push({ buf: Buffer.from(batch.buf.subarray(0, batch.count * records().slot)), count: batch.count });
        else this.kernelEvents(batch);
      },
      // §3.5, §7: no overrun resync without an internal cache
      ...(internal !== undefined ? { onResync: () => void this.overrunResync() } : {}),
      onError: (err) => {
        this.catchEventFailed++;
        this.log.error(`netlink event socket: ${err.message}`);
      },
    });
    this.committer = new Committer({
      table: this.kernel.commit,
      log: this.log,
      nowSeconds,
      commitTimeout: this.sync.commitTimeout,
      liberal,
    });
    this.purge = new PurgeTimer(this.scheduler, this.log, this.sync.purgeTimeout, async () => {
      this.internal?.flush();
      await this.selectiveFlush('all');
    });
  }

  /** Set by the channels: a valid message arrived on `link`, which becomes the TX link (§4.5). */
  set onActiveLink(fn: ((link: number) => void) | undefined) {
    this.mode.onActiveLink = fn;
  }

  /**
   * Subscribes to events first, then dumps the table into the internal cache, then applies
   * the events that arrived meanwhile. conntrackd dumps before subscribing and loses what
   * changes in between (§7); here an entry created or destroyed during the dump is seen by
   * its event, applied after the dump in arrival order, so it is newer than the dumped
   * state. Those events are replicated as usual; the dump itself sends nothing (§3.1).
   */
  async start(): Promise<void> {
    // (the config's own warnings are the reader's to log: the daemon logs them once at start)
    if (this.config.sync!.commitTimeout && this.sync.disableExternalCache) {
      this.log.warning(
        "`CommitTimeout' can't be combined with `DisableExternalCache', ignoring this option. Fix your configuration file.",
      );
    }
    this.startup = [];
    // PollSecs: no event socket, the table is polled instead (§7)
    if (this.config.general.pollSecs === undefined) this.events.open(this.kernel.main);
    try {
      if (this.internal !== undefined) {
        await populateFromKernel(this.kernel.main, this.internal, { ct: true, exp: this.sync.expectationSync !== undefined });
      }
    } finally {
      const pending = this.startup;
      this.startup = undefined;
      for (const batch of pending) this.kernelEvents(batch);
    }
    this.running = true;
    if (this.config.general.pollSecs !== undefined) this.armPoll(this.config.general.pollSecs);
    this.mode.start(this.sync.startupResync);
    if (this.sync.mode === 'ALARM') this.readiness.startAlarm(this.sync.alarm.refreshTime);
    else if (this.sync.startupResync) this.readiness.requested();
  }

  /** Closes everything, also after a failed start(). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.running = false;
    this.events.close();
    this.purge.cancel();
    if (this.pollTimer !== undefined) this.scheduler.clearTimer(this.pollTimer);
    this.readiness.stop();
    this.mode.stop();
    await this.inject?.settled();
    this.kernel.close();
  }

  get syncState(): SyncState {
    return this.readiness.current;
  }

  get commitInProgress(): boolean {
    return this.committer.inProgress;
  }

  // ---- operator actions (shared/spec/conntrackd.md §3.3, §3.4) ----

  /** `-c [ct|expect]`: the external cache into the kernel. A no-op with DisableExternalCache. */
  async commit(target: Target = 'all'): Promise<CommitResult> {
    if (this.external === undefined) return { done: true, committed: 0, failed: 0, seconds: 0, created: [] };
    if (!this.committer.inProgress) this.purge.cancel();
    this.emit('role', true);
    const quiet = target !== 'expect' && !this.committer.inProgress && this.internal !== undefined && this.events.leaveNew();
    let r: CommitResult;
    try {
      r = await this.committer.commit(this.external, target);
    } finally {
      if (quiet) this.events.rejoinNew();
    }
    if (quiet) this.followCommit(r.created);
    else releaseCreated(this.external.ct, r.created);
    this.commitFailed += r.failed;
    return r;
  }

  /**
   * After a commit without NEW events, once its reply is out: the committed entries into the
   * internal cache as their events (commit origin: not sent) would have put them, then a dump
   * for what others created meanwhile, cached as `-R` caches (their next event sends them, as
   * does `-B`). A flush of the internal cache ends it (the fail-over hooks run `-f` and `-R`
   * next, which refill it).
   */
  private followCommit(created: readonly number[]): void {
    const [internal, ext] = [this.internal!, this.external!.ct];
    const flushes = internal.flushes;
    const current = (): boolean => this.running && internal.flushes === flushes;
    this.scheduler.soon(() => {
      const follow = current();
      if (follow) {
        const port = this.kernel.commit.portIds()[0]!;
        for (const e of created) if (ext.attached(e) && !ext.isDead(e)) internal.ctEvent('new', port, ext.bufOf(e), ext.at(e));
      }
      releaseCreated(ext, created);
      if (!follow) return;
      populateFromKernel(this.kernel.main, internal, { ct: true, exp: false }, current).catch((e: Error) =>
        this.log.error(`catching up after the commit: ${e.message}`),
      );
    });
  }

  /** `-f [internal|external]`; false when refused because a commit is running. */
  async flushCaches(side: CacheSide = 'all'): Promise<boolean> {
    if (side !== 'internal' && this.committer.inProgress) {
      this.log.notice('ignoring flush command, commit still in progress');
      return false;
    }
    if (side === 'all') this.purge.cancel();
    this.log.notice(side === 'all' ? 'flushing caches' : `flushing ${side} cache`);
    if (side !== 'external') {
      // quirk (§3.4): without internal cache, `-f internal` flushes the kernel table
      if (this.internal === undefined) await this.kernel.flush.flush();
      else this.internal.flush();
    }
    if (side !== 'internal') this.external?.flush();
    return true;
  }

  /** `-F [ct|expect]`: selective flush of the kernel table; returns the entries deleted. */
  flushKernelTable(target: Target = 'all'): Promise<number> {
    this.log.notice('flushing kernel conntrack table');
    return this.selectiveFlush(target);
  }

  /** `-t`: flush the kernel table (selectively) and the internal cache in PurgeTimeout s. */
  purgeTimers(): boolean {
    return this.purge.arm();
  }

  /** `-R [ct|expect]`: the kernel table into the internal cache, nothing sent. */
  async resyncWithKernel(target: Target = 'all'): Promise<boolean> {
    if (this.internal === undefined) {
      this.log.notice('resync is unsupported in this mode');
      return false;
    }
    this.log.notice('resync with master conntrack table');
    await populateFromKernel(this.kernel.main, this.internal, {
      ct: target !== 'expect',
      exp: target !== 'ct' && this.sync.expectationSync !== undefined,
    });
    return true;
  }

  /** `-B`: send every internal entry (or, without internal cache, the kernel table). */
  sendBulk(): void {
    this.mode.sendBulk();
  }

  /** `-n`: ask the peer for its whole state; readiness waits for it. */
  requestResync(): void {
    if (this.sync.mode === 'ALARM') return; // silently nothing (§2.4)
    this.mode.requestResync();
    this.readiness.requested();
    this.emit('role', false);
  }

  /** `-i [ct|expect]`: the internal cache, or the live kernel table without internal cache. */
  async internalEntries(kind?: 'ct'): Promise<CacheEntry<Conntrack>[]>;
  async internalEntries(kind: 'expect'): Promise<CacheEntry<Expectation>[]>;
  async internalEntries(kind: ObjectKind = 'ct'): Promise<CacheEntry<Conntrack>[] | CacheEntry<Expectation>[]> {
    if (this.internal !== undefined) {
      const now = seconds(this.scheduler);
      return kind === 'ct' ? cacheEntries(this.internal.ct, now) : cacheEntries(this.internal.exp, now);
    }
    const out: CacheEntry<Conntrack>[] | CacheEntry<Expectation>[] = [];
    if (kind === 'ct') {
      await this.kernel.main.dump((b) => {
        for (const data of b) if (acceptsObject(this.filter, data)) (out as CacheEntry<Conntrack>[]).push({ data });
      });
    } else {
      await this.kernel.main.dumpExpectations((b) => {
        for (const data of b) (out as CacheEntry<Expectation>[]).push({ data });
      });
    }
    return out;
  }

  /** `-e [ct|expect]`: the external cache (empty with DisableExternalCache). */
  externalEntries(kind?: 'ct'): CacheEntry<Conntrack>[];
  externalEntries(kind: 'expect'): CacheEntry<Expectation>[];
  externalEntries(kind: ObjectKind = 'ct'): CacheEntry<Conntrack>[] | CacheEntry<Expectation>[] {
    const ext = this.external;
    if (ext === undefined) return [];
    const now = seconds(this.scheduler);
    return kind === 'ct'
      ? cacheEntries(ext.ct, now, (e) => ext.expiresIn(e, now))
      : cacheEntries(ext.exp, now, (e) => ext.expiresIn(e, now));
  }

  /** Every statistics block, copied (safe to keep and to format later). */
  snapshot(): EngineStats {
    const cache = (c: { ct: { stats: CacheStats }; exp: { stats: CacheStats } }) => ({ ct: { ...c.ct.stats }, exp: { ...c.exp.stats } });
    const bypass = (b: { ct: BypassStats; exp: BypassStats }) => ({ ct: { ...b.ct }, exp: { ...b.exp } });
    const links = this.links();
    const out: EngineStats = {
      mode: this.sync.mode,
      traffic: { bytes: BigInt(this.trafficBytes), packets: BigInt(this.trafficPackets) },
      // the channels refuse strangers before the receive pipeline sees them
      network: { ...this.mode.network, spoofed: links.reduce((n, l) => n + (l.spoofed ?? 0), 0) },
      sequence: { ...this.mode.sequence },
      runtime: this.runtime(),
      queues: this.mode.queues().map((q) => ({ ...q })),
      rsqueue: this.mode.resendQueue(),
      links,
      commitFailed: this.commitFailed,
    };
    if (this.internal !== undefined) out.internal = cache(this.internal);
    else out.bypass = bypass(this.bypassStats);
    if (this.external !== undefined) out.external = cache(this.external);
    if (this.inject !== undefined) out.inject = bypass({ ct: this.inject.stats, exp: this.inject.expStats });
    return out;
  }

  // ---- event intake (the hot path: record slots, nothing allocated per event) ----

  private kernelEvents({ buf, count }: RecordBatch): void {
    this.eventsReceived += count;
    const R = records();
    const internal = this.internal;
    const filter = this.filterEvents ? this.filter : undefined;
    for (let i = 0, o = 0; i < count; i++, o += R.slot) {
      const type = R.event(buf, o)!;
      const portId = R.portId(buf, o);
      if (R.kind(buf, o) === KIND_EXP) {
        if (internal !== undefined) internal.expEvent(type, portId, buf, o);
        else this.bypass('exp', type, portId, buf, o);
        continue;
      }
      if (filter !== undefined && !filter(buf, o)) {
        this.eventsFiltered++;
        continue;
      }
      if (type === 'destroy' && R.present(buf, o) & CT.COUNTERS) {
        const c = o + R.L.ct.counters;
        this.trafficPackets += u64(buf, c) + u64(buf, c + 16);
        this.trafficBytes += u64(buf, c + 8) + u64(buf, c + 24);
      }
      if (internal !== undefined) internal.ctEvent(type, portId, buf, o);
      else this.bypass('ct', type, portId, buf, o);
    }
    if (internal === undefined) this.mode.runTx(); // bypass messages go out now
  }

  /** DisableInternalCache (NOTRACK): serialize and send now, no coalescing (§3.5). */
  private bypass(kind: 'ct' | 'exp', type: CtEventType, portId: number, rec: Buffer, o: number): void {
    if (this.origins.has(portId)) return; // only NOT_ME events are replicated (§3.2)
    if (kind === 'exp' && !expectationAccepted(records().unpackExp(rec, o), this.sync.expectationSync)) return;
    const st = this.bypassStats[kind];
    if (type === 'new') st.created++;
    else if (type === 'update') st.updated++;
    else st.destroyed++;
    this.mode.sendDirect(kind, type, rec, o);
  }

  /** The peer's RESYNC and `-B` (§2.2, §2.3, §3.4). */
  private resendAll(): void {
    const internal = this.internal;
    if (internal !== undefined) {
      for (const e of internal.entries()) if (!internal.store.isDead(e)) this.mode.enqueue(e);
      return;
    }
    // without internal cache: the kernel table itself, each entry as CT_NEW
    const R = records();
    const slot = R.alloc(1);
    const dumped = this.kernel.main
      .dump((batch) => {
        for (const ct of batch) {
          slot.fill(0);
          R.packCt(ct, slot, 0);
          if (this.filter(slot, 0)) this.mode.sendDirect('ct', 'new', slot, 0);
        }
        this.mode.runTx();
      })
      .then(() => {
        if (this.sync.expectationSync === undefined) return;
        return this.kernel.main.dumpExpectations((batch) => {
          for (const exp of batch) {
            slot.fill(0);
            R.packExp(exp, slot, 0);
            this.mode.sendDirect('exp', 'new', slot, 0);
          }
          this.mode.runTx();
        });
      });
    dumped.catch((e: unknown) => this.log.error(`bulk send: ${(e as Error).message}`));
  }

  private selectiveFlush(target: Target): Promise<number> {
    this.flushKernelCount++;
    return flushKernel(this.kernel, this.filter, target);
  }

  /** NetlinkOverrunResync fired (§7). */
  private async overrunResync(): Promise<void> {
    if (!this.running || this.internal === undefined) return;
    this.resyncCount++;
    await this.refreshFromKernel();
  }

  /** PollSecs: every n s the same dump-and-purge pass as after an overrun (§7). */
  private armPoll(secs: number): void {
    this.pollTimer = this.scheduler.setTimer(secs * 1000, () => {
      this.pollTimer = undefined;
      void this.refreshFromKernel().then(() => {
        if (this.running) this.armPoll(secs);
      });
    });
  }

  private async refreshFromKernel(): Promise<void> {
    if (this.internal === undefined) return;
    try {
      await refreshAndPurge(this.kernel.main, this.internal);
    } catch (e) {
      this.log.error(`resync with kernel table: ${(e as Error).message}`);
    }
  }

  /** Messages applied to the external side so far (readiness watches it change). */
  private externalMessages(): number {
    if (this.external !== undefined) {
      const s = this.external.ct.stats;
      const x = this.external.exp.stats;
      return s.createdOk + s.updatedOk + s.deletedOk + s.deleteNotFound + x.createdOk + x.updatedOk + x.deletedOk;
    }
    const s = this.inject!.stats;
    return s.created + s.createdFailed + s.updated + s.updatedFailed + s.destroyed + s.destroyedFailed;
  }

  private runtime(): RuntimeStats {
    return {
      startedAt: this.startedAt,
      eventsReceived: BigInt(this.eventsReceived),
      eventsFiltered: BigInt(this.eventsFiltered),
      eventsUnknownType: 0,
      catchEventFailed: this.catchEventFailed,
      dumpUnknownType: 0,
      netlinkOverrun: this.events.overruns,
      flushKernelTable: this.flushKernelCount,
      resyncWithKernel: this.resyncCount,
      netlinkBufferSize: this.events.bufferSize,
      childFailed: 0,
      childSegfault: 0,
      childTermsig: 0,
      selectFailed: 0,
      waitFailed: 0,
      localReadFailed: 0,
      localUnknownRequest: 0,
    };
  }
}
