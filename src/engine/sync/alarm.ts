/**
 * ALARM, periodic refresh (conntrackd `sync-alarm.c`, shared/spec/conntrackd.md §2.4): every
 * internal object owns a timer that resends its current state at a jittered interval; DEL is
 * sent once. No ALIVE, no ACK/NACK/HELLO; control messages received are ignored.
 */
import type { AlarmOptions } from '../config/types.js';
import type { SyncObject } from '../cache/internal.js';
import { NET_F } from '../wire/nethdr.js';
import type { NetHeader } from '../wire/nethdr.js';
import { MsgResult } from '../wire/receive.js';
import { ControlNode, SyncBase } from './mode.js';
import type { SyncContext, TxNode } from './mode.js';

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

  constructor(
    ctx: SyncContext,
    private readonly options: AlarmOptions,
    private readonly random: RandomSource = defaultRandom,
  ) {
    super(ctx);
    this.usesAlive = false;
  }

  /** Only StartupResync reaches the wire here, and as conntrackd does it: an 8-byte RESYNC. */
  override start(startupResync: boolean): void {
    super.start(false);
    this.refreshArmed = true;
    if (startupResync) this.txAdd(new ControlNode(NET_F.RESYNC));
  }

  override stop(): void {
    this.refreshArmed = false;
    super.stop();
  }

  /** `-n` and `-B` do nothing in ALARM mode. */
  override requestResync(): void {}

  override sendBulk(): void {}

  /** Arms (add/update) or cancels (destroy) the object's refresh timer. */
  override objectChanged(obj: SyncObject): void {
    const s = this.ctx.scheduler;
    if (obj.timer !== undefined) s.clearTimer(obj.timer);
    obj.timer = undefined;
    if (obj.status !== 'dead') this.arm(obj);
  }

  recv(h: NetHeader): MsgResult {
    if (h.flags !== 0) return MsgResult.CTL; // control messages are ignored
    this.tracker.track(h.seq);
    this.tracker.accept(h.seq);
    return MsgResult.DATA;
  }

  protected xmit(node: TxNode): void {
    if (node instanceof ControlNode) {
      // quirk: built with the 8-byte header, so receivers count it as "bad size" (§1.4)
      this.sendControl(node.flags, 0, 0, true);
      return;
    }
    this.sendObject(node, 0);
    node.put();
  }

  private arm(obj: SyncObject): void {
    obj.timer = this.ctx.scheduler.setTimer(refreshDelayMs(this.options.refreshTime, this.random), () => {
      obj.timer = undefined;
      if (!this.refreshArmed || !obj.attached || obj.status === 'dead') return;
      this.arm(obj);
      this.enqueue(obj);
    });
  }
}
