/**
 * FT-FW, the reliable mode (conntrackd `sync-ftfw.c`, shared/spec/conntrackd.md §2.3): every
 * sent object and ACK/NACK/RESYNC stays in the resend queue until the peer acknowledges it;
 * gaps are NACKed and resent with fresh seqs; HELLO/HELLO_BACK detect a peer restart.
 */
import type { FtfwOptions } from '../config/types.js';
import type { QueueStats, RsQueueEntry } from '../stats.js';
import type { SyncObject } from '../cache/internal.js';
import { NET_F, before, isCtl, isData } from '../wire/nethdr.js';
import type { NetHeader } from '../wire/nethdr.js';
import { MsgResult } from '../wire/receive.js';
import { SeqTrack } from '../wire/sequence.js';
import { ControlNode, SyncBase } from './mode.js';
import type { SyncContext, TxNode } from './mode.js';
import { NodeQueue } from './queue.js';

const enum Hello {
  INIT,
  SAY,
  DONE,
}

/**
 * Objects sent and not yet acknowledged at most (ctsync addition, sender side only: the wire
 * is conntrackd's). conntrackd sends its whole tx queue at once; a bulk send or a burst of
 * 100k events is then thousands of datagrams back to back, more than the peer's receive
 * buffer holds while it decodes, and the losses come back as NACKs and resends. With a window
 * the peer's ACKs pace the sender: 2048 messages are ~120 datagrams, what a 425 KiB receive
 * buffer takes, and several ACK windows, so ACKs keep coming while data flows.
 */
const TX_WINDOW = 2048;

export class FtfwSync extends SyncBase {
  readonly name = 'FTFW' as const;
  /** The resend queue, in send (= seq) order. */
  private readonly rs = new NodeQueue<TxNode>();
  private readonly rsStats: QueueStats;
  /** Unacknowledged messages the sender allows itself (see TX_WINDOW). */
  private readonly txWindow: number;
  private window: number;
  private ackFrom = 0;
  private ackFromSet = false;
  private hello = Hello.INIT;
  private sayHelloBack = false;
  /** The peer's current session began with a HELLO we have handled (see continuesSession). */
  private peerSession = false;
  /** A peer's new session has not acknowledged anything yet (see rsResendBefore). */
  private peerRestarted = false;

  constructor(
    ctx: SyncContext,
    private readonly options: FtfwOptions,
  ) {
    super(ctx);
    this.window = options.ackWindowSize;
    this.rsStats = { name: 'rsqueue', current: 0, max: options.resendQueueSize, noSpace: 0 };
    // a peer with the same config ACKs every ackWindowSize messages: let several windows fly
    this.txWindow = Math.max(TX_WINDOW, 4 * options.ackWindowSize);
  }

  protected override mayTransmitObjects(): boolean {
    return this.rs.size < this.txWindow;
  }

  /** An object waiting for its ACK goes back to the tx queue, resent with its current state. */
  override enqueue(obj: SyncObject): void {
    if (obj.queue === 'rs') {
      this.rsDelete(obj);
      this.txAdd(obj);
    } else {
      super.enqueue(obj);
    }
  }

  recv(h: NetHeader): MsgResult {
    if ((h.flags & NET_F.HELLO_BACK) !== 0 && this.hello === Hello.SAY) this.hello = Hello.DONE;
    const W = this.options.ackWindowSize;
    const hello = (h.flags & NET_F.HELLO) !== 0;
    let ret: MsgResult;
    if (hello && !this.continuesSession(h.seq)) {
      // the peer (re)started: it knows nothing of what we sent before
      this.peerSession = true;
      this.sayHelloBack = true;
      if (this.ackFromSet && before(h.seq, this.ackFrom)) {
        this.window = W - 1;
        this.ackFrom = h.seq;
      }
      this.rsDropControls();
      this.peerRestarted = true;
      ret = this.accept(h);
    } else {
      if (hello) this.sayHelloBack = true;
      else this.peerSession = false; // its handshake is over: its next HELLO is a restart
      const expected = this.tracker.expected;
      switch (this.tracker.track(h.seq)) {
        case SeqTrack.AFTER:
          ret = this.digest(h);
          if (ret === MsgResult.BAD) return ret;
          if (this.ackFromSet) {
            this.queueControl(NET_F.ACK, this.ackFrom, (expected - 1) >>> 0);
            this.ackFromSet = false;
          }
          this.queueControl(NET_F.NACK, expected, (h.seq - 1) >>> 0);
          this.window = W - 1;
          this.ackFrom = h.seq;
          this.ackFromSet = true;
          break;
        case SeqTrack.BEFORE:
          return MsgResult.DROP; // duplicates and delayed messages are discarded
        default:
          ret = this.accept(h);
      }
    }
    if (ret === MsgResult.DATA || ret === MsgResult.CTL) this.tracker.accept(h.seq);
    return ret;
  }

  /**
   * conntrackd treats every HELLO message as a peer restart: it flushes its resend queue and
   * skips gap detection for it. A peer says HELLO on every message until our HELLO_BACK
   * reaches it, so whatever is lost in that first second is never NACKed and what we had
   * queued for it is dropped again and again. ctsyncd takes only the first HELLO of a session
   * as the restart; the following ones, in sequence (or after a gap a resend can still fill),
   * are tracked like any message. A HELLO out of that range is a new session again.
   */
  private continuesSession(seq: number): boolean {
    if (!this.peerSession || !this.tracker.started) return false;
    const expected = this.tracker.expected;
    return !before(seq, expected) && ((seq - expected) >>> 0) < this.options.resendQueueSize;
  }

  override flushQueues(): void {
    super.flushQueues();
    this.rsClear();
  }

  override queues(): QueueStats[] {
    return [this.txStats, this.rsStats];
  }

  override resendQueue(): RsQueueEntry[] {
    const out: RsQueueEntry[] = [];
    for (const n of this.rs) {
      out.push(n instanceof ControlNode ? { kind: 'control', seq: n.seq, flags: n.flags } : { kind: 'object', seq: n.seq });
    }
    return out;
  }

  /** In-order (or first / HELLO) message: digest, then count it in the ACK window. */
  private accept(h: NetHeader): MsgResult {
    const ret = this.digest(h);
    if (ret === MsgResult.BAD) return ret;
    if (!this.ackFromSet) {
      this.ackFrom = h.seq;
      this.ackFromSet = true;
    }
    if (--this.window <= 0) {
      this.queueControl(NET_F.ACK, this.ackFrom, h.seq);
      this.window = this.options.ackWindowSize;
      this.ackFromSet = false;
    }
    return ret;
  }

  /** `digest_msg`: data is accepted; ACK/NACK/RESYNC/ALIVE are handled here. */
  private digest(h: NetHeader): MsgResult {
    if (isData(h.type, h.flags)) return MsgResult.DATA;
    if (isCtl(h.type, h.flags, NET_F.ACK)) {
      if (before(h.to, h.from)) return MsgResult.BAD;
      if (this.peerRestarted) {
        this.peerRestarted = false;
        this.rsResendBefore(h.from);
      }
      this.rsAck(h.from, h.to);
      return MsgResult.CTL;
    }
    if (isCtl(h.type, h.flags, NET_F.NACK)) {
      if (before(h.to, h.from)) return MsgResult.BAD;
      this.rsNack(h.from, h.to);
      return MsgResult.CTL;
    }
    if (isCtl(h.type, h.flags, NET_F.RESYNC)) {
      this.ctx.log?.('resync requested by other node');
      this.ctx.resendAll();
      return MsgResult.CTL;
    }
    if (isCtl(h.type, h.flags, NET_F.ALIVE)) return MsgResult.CTL;
    return MsgResult.BAD;
  }

  /** HELLO until the peer answers HELLO_BACK; HELLO_BACK once after a peer's HELLO. */
  private helloBits(): number {
    let f = 0;
    if (this.hello === Hello.INIT) this.hello = Hello.SAY;
    if (this.hello === Hello.SAY) f |= NET_F.HELLO;
    if (this.sayHelloBack) {
      f |= NET_F.HELLO_BACK;
      this.sayHelloBack = false;
    }
    return f;
  }

  protected xmit(node: TxNode): void {
    if (node instanceof ControlNode) {
      // a resent ACK/NACK says HELLO only if we still do now
      node.flags = (node.flags & ~(NET_F.HELLO | NET_F.HELLO_BACK)) | this.helloBits();
      const ranged = (node.flags & (NET_F.ACK | NET_F.NACK | NET_F.RESYNC)) !== 0;
      node.seq = this.sendControl(node.flags, node.from, node.to, !ranged);
      if (ranged) this.rsAdd(node); // ACK/NACK/RESYNC are acknowledged (and resent) like data
      return;
    }
    const seq = this.sendObject(node, this.helloBits());
    if (seq === undefined) {
      node.put();
      return;
    }
    node.seq = seq;
    this.rsAdd(node); // the tx queue's reference moves to the resend queue
  }

  protected override alive(): void {
    if (this.ackFromSet && this.tracker.started) {
      this.queueControl(NET_F.ACK, this.ackFrom, this.tracker.lastSeqRecv);
      this.ackFromSet = false;
    } else {
      this.queueControl(NET_F.ALIVE);
    }
  }

  private rsAdd(node: TxNode): void {
    if (this.rs.size >= this.options.resendQueueSize) {
      // full: the oldest entry is given up (its peer may never get it, §2.3)
      const oldest = this.rs.first()!;
      this.rsDelete(oldest);
      this.drop(oldest);
      this.rsStats.noSpace++;
    }
    node.queue = 'rs';
    this.rs.push(node);
    this.rsStats.current++;
  }

  private rsDelete(node: TxNode): void {
    this.rs.remove(node);
    this.rsStats.current--;
    node.queue = 'none';
  }

  /** ACK(from, to): release the acknowledged entries (skip those before `from`, stop after `to`). */
  private rsAck(from: number, to: number): void {
    for (const n of this.rs) {
      if (before(n.seq, from)) continue;
      if (before(to, n.seq)) break;
      this.rsDelete(n);
      this.drop(n);
    }
    if (this.tx.size > 0) this.scheduleTx(); // the window may have room again
  }

  /** NACK(from, to): the entries in range go back to the tx queue (fresh seqs). */
  private rsNack(from: number, to: number): void {
    for (const n of this.rs) {
      if (before(n.seq, from)) continue;
      if (before(to, n.seq)) break;
      this.rsDelete(n);
      this.txAdd(n);
    }
  }

  /** The ACK/NACK/RESYNC messages waiting for a peer's ACK: their seqs meant something to its previous run. */
  private rsDropControls(): void {
    for (const n of this.rs) {
      if (!(n instanceof ControlNode)) continue;
      this.rsDelete(n);
      this.drop(n);
    }
  }

  /**
   * The first ACK of a peer's new session, ACK(from, …): `from` is the first of our seqs it
   * took in. conntrackd drops its whole resend queue at the peer's HELLO; ctsyncd sends what
   * came before `from` again (the peer never saw it: lost, or sent to its previous run; the
   * control messages of that run are gone already, see rsDropControls). With both nodes
   * starting together, the peer's first HELLO often arrives after our first data and NACKs,
   * and what of them was lost would otherwise be gone for good.
   */
  private rsResendBefore(from: number): void {
    for (const n of this.rs) {
      if (!before(n.seq, from)) break;
      this.rsDelete(n);
      this.txAdd(n);
    }
  }

  private rsClear(): void {
    for (const n of this.rs) {
      this.rsDelete(n);
      this.drop(n);
    }
    if (this.tx.size > 0) this.scheduleTx();
  }
}
