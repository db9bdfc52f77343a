/**
 * ALARM, periodic refresh (conntrackd `sync-alarm.c`, shared/spec/conntrackd.md §2.4): every
 * internal entry owns a timer that resends its current state at a jittered interval; DEL is
 * sent once. No ALIVE, no ACK/NACK/HELLO; control messages received are ignored.
 */
import type { AlarmOptions } from '../config/types.js';
import type { TimerHandle } from './scheduler.js';
import { NET_F } from '../wire/nethdr.js';
import type { NetHeader } from '../wire/nethdr.js';
import { MsgResult } from '../wire/receive.js';
import { ControlNode, SyncBase } from './mode.js';
import type { SyncContext } from './mode.js';

/** glibc `random()`-like source: a non-negative 31-bit integer (injectable for tests). */
export type RandomSource = () => number;

export const defaultRandom: RandomSource = () => Math.floor(Math.random() * 0x80000000);

/** `random() % RefreshTime + 1` s plus `(random() % 5 + 1) * 200000 - 1` µs, in ms. */
export function refreshDelayMs(refreshTime: number, random: RandomSource): number {
  const sec = (random() % refreshTime) + 1;
  const usec = ((random() % 5) + 1) * 200000 - 1;
  return sec * 1000 + usec / 1000;
}

export class AlarmSync extends SyncBase {
  readonly name = 'ALARM' as const;
  private refreshArmed = false;
  /** The refresh timer of each internal entry. */
  private readonly timers = new Map<number, TimerHandle>();

  constructor(
    ctx: SyncContext,
    private readonly options: AlarmOptions,
    private readonly random: RandomSource = defaultRandom,
  ) {
    super(ctx);
    this.usesAlive = false;
    // a freed slot takes its timer with it: the next entry there has its own
    ctx.store.onRelease = (e) => this.cancel(e);
  }

  /** Only StartupResync reaches the wire here, and as conntrackd does it: an 8-byte RESYNC. */
  override start(startupResync: boolean): void {
    super.start(false);
    this.refreshArmed = true;
    if (startupResync) this.txAddControl(new ControlNode(NET_F.RESYNC));
  }

  override stop(): void {
    this.refreshArmed = false;
    super.stop();
  }

  /** `-n` and `-B` do nothing in ALARM mode. */
  override requestResync(): void {}

  override sendBulk(): void {}

  /** Arms (add/update) or cancels (destroy) the entry's refresh timer. */
  override objectChanged(e: number): void {
    this.cancel(e);
    if (!this.store.isDead(e)) this.arm(e);
  }

  recv(h: NetHeader): MsgResult {
    if (h.flags !== 0) return MsgResult.CTL; // control messages are ignored
    this.tracker.track(h.seq);
    this.tracker.accept(h.seq);
    return MsgResult.DATA;
  }

  protected xmitControl(node: ControlNode): void {
    // quirk: built with the 8-byte header, so receivers count it as "bad size" (§1.4)
    this.sendControl(node.flags, 0, 0, true);
  }

  private arm(e: number): void {
    this.timers.set(
      e,
      this.ctx.scheduler.setTimer(refreshDelayMs(this.options.refreshTime, this.random), () => {
        this.timers.delete(e);
        if (!this.refreshArmed || !this.store.attached(e) || this.store.isDead(e)) return;
        this.arm(e);
        this.enqueue(e);
      }),
    );
  }

  private cancel(e: number): void {
    const t = this.timers.get(e);
    if (t === undefined) return;
    this.ctx.scheduler.clearTimer(t);
    this.timers.delete(e);
  }
}
