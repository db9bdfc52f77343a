/**
 * Whether the external cache holds the peer's state, for the HA manager's track file
 * (./track-file.ts). conntrackd's protocol has no "end of resync" marker, so the
 * engine judges from what it observes (shared/spec/conntrackd.md §2.2–2.4):
 * - FT-FW / NOTRACK: after our RESYNC request (StartupResync or `-n`) the peer has been heard,
 *   no gap was seen and no NACK of ours waited for `settleMs`, and the peer's data stopped for
 *   `settleMs` (its resync burst is over) — or kept flowing for `busyMs` (a busy peer's live
 *   traffic never pauses, yet its burst was sent in one run at once).
 * - ALARM: every object is refreshed within RefreshTime s: in sync RefreshTime s after start.
 * - Stale: NOTRACK lost messages after being in sync (no recovery until the next resync).
 */
import type { SyncMode } from '../sync/mode.js';
import type { Scheduler, TimerHandle } from '../sync/scheduler.js';
import { NET_F } from '../wire/nethdr.js';

export interface SyncState {
  /** The external cache holds the peer's full state (as far as the engine can tell). */
  inSync: boolean;
  /** Messages were lost after the last resync and will not be recovered until the next one. */
  stale: boolean;
}

export interface ReadinessTiming {
  settleMs: number;
  busyMs: number;
  checkMs: number;
}

export const DEFAULT_READINESS_TIMING: ReadinessTiming = { settleMs: 2000, busyMs: 10_000, checkMs: 250 };

export class SyncReadiness {
  private state: SyncState = { inSync: false, stale: false };
  private timer: TimerHandle | undefined;
  /** A RESYNC request of ours is being answered. */
  private awaiting = false;
  private heardAt: number | undefined;
  private lastData = 0;
  private lastGap = 0;
  private dataSeen = 0;
  private lostSeen = 0n;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly mode: SyncMode,
    /** Messages applied to the external side so far (cache or inject counters). */
    private readonly dataCount: () => number,
    private readonly onChange: (s: SyncState) => void,
    private readonly timing: ReadinessTiming = DEFAULT_READINESS_TIMING,
  ) {}

  get current(): SyncState {
    return { ...this.state };
  }

  /** ALARM: ready once every object had its refresh. */
  startAlarm(refreshTime: number): void {
    this.timer = this.scheduler.setTimer(refreshTime * 1000 + this.timing.settleMs, () => {
      this.timer = undefined;
      this.set({ inSync: true, stale: false });
    });
  }

  /** We asked the peer for its whole state. */
  requested(): void {
    const now = this.scheduler.now();
    this.awaiting = true;
    this.heardAt = undefined;
    this.lastData = now;
    this.lastGap = now;
    this.dataSeen = this.dataCount();
    this.lostSeen = this.mode.sequence.lost;
    this.arm();
  }

  /** A datagram arrived (hot path: one clock read). */
  heard(): void {
    if (this.awaiting && this.heardAt === undefined) this.heardAt = this.scheduler.now();
  }

  stop(): void {
    if (this.timer !== undefined) this.scheduler.clearTimer(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.timer !== undefined) return;
    this.timer = this.scheduler.setTimer(this.timing.checkMs, () => {
      this.timer = undefined;
      if (this.check()) this.arm();
    });
  }

  /** Returns whether to keep checking. */
  private check(): boolean {
    const now = this.scheduler.now();
    const data = this.dataCount();
    const lost = this.mode.sequence.lost;
    if (data !== this.dataSeen) this.lastData = now;
    const gap = lost !== this.lostSeen || this.nackPending();
    if (gap) this.lastGap = now;
    this.dataSeen = data;
    this.lostSeen = lost;
    const notrack = this.mode.name === 'NOTRACK';
    if (!this.awaiting) {
      if (gap && notrack && this.state.inSync) this.set({ inSync: true, stale: true });
      return notrack && this.state.inSync && !this.state.stale;
    }
    const { settleMs, busyMs } = this.timing;
    if (this.heardAt === undefined || now - this.lastGap < settleMs) return true;
    if (now - this.lastData >= settleMs || now - this.heardAt >= busyMs) {
      this.awaiting = false;
      this.set({ inSync: true, stale: false });
      return notrack; // only NOTRACK can turn stale later
    }
    return true;
  }

  private nackPending(): boolean {
    if (this.mode.name !== 'FTFW') return false;
    for (const e of this.mode.resendQueue()) if (e.kind === 'control' && (e.flags & NET_F.NACK) !== 0) return true;
    return false;
  }

  private set(s: SyncState): void {
    if (s.inSync === this.state.inSync && s.stale === this.state.stale) return;
    this.state = s;
    this.onChange({ ...s });
  }
}

/** What the HA track file needs (./track-file.ts `ReadinessTracker` has it). */
export interface ReadinessSink {
  resyncComplete(): Promise<unknown>;
  cacheStale(): Promise<unknown>;
}

/** Feeds the engine's sync state to the track file; returns the detach function. */
export function trackReadiness(
  engine: { on(e: 'sync-state', fn: (s: SyncState) => void): unknown; off(e: 'sync-state', fn: (s: SyncState) => void): unknown },
  sink: ReadinessSink,
  onError: (e: Error) => void = () => undefined,
): () => void {
  const fn = (s: SyncState): void => {
    const p = s.stale ? sink.cacheStale() : s.inSync ? sink.resyncComplete() : undefined;
    p?.catch(onError);
  };
  engine.on('sync-state', fn);
  return () => void engine.off('sync-state', fn);
}
