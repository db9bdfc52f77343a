/**
 * NOTRACK, best effort (conntrackd `sync-notrack.c`, shared/spec/conntrackd.md §2.2): every
 * queued entry is sent once; an ALIVE after 1 s of silence; a RESYNC from the peer resends
 * everything. Lost messages stay lost until the next resync.
 */
import { NET_F, isCtl, isData } from '../wire/nethdr.js';
import type { NetHeader } from '../wire/nethdr.js';
import { MsgResult } from '../wire/receive.js';
import { SyncBase } from './mode.js';
import type { ControlNode } from './mode.js';

export class NotrackSync extends SyncBase {
  readonly name = 'NOTRACK' as const;

  recv(h: NetHeader): MsgResult {
    this.tracker.track(h.seq); // statistics only: out-of-order data is still accepted
    const ret = this.digest(h);
    if (ret !== MsgResult.BAD) this.tracker.accept(h.seq);
    return ret;
  }

  private digest(h: NetHeader): MsgResult {
    if (isData(h.type, h.flags)) return MsgResult.DATA;
    if (isCtl(h.type, h.flags, NET_F.RESYNC)) {
      this.ctx.log?.('resync requested by other node');
      this.ctx.resendAll();
      return MsgResult.CTL;
    }
    if (isCtl(h.type, h.flags, NET_F.ALIVE)) return MsgResult.CTL;
    return MsgResult.BAD; // ACK, NACK and anything else
  }

  protected xmitControl(node: ControlNode): void {
    const ranged = (node.flags & NET_F.RESYNC) !== 0;
    node.seq = this.sendControl(node.flags, 0, 0, !ranged);
  }

  protected override alive(): void {
    this.queueControl(NET_F.ALIVE);
  }
}
