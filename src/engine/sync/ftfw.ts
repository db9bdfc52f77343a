/**
 * FT-FW, the reliable mode (conntrackd `sync-ftfw.c`, shared/spec/conntrackd.md §2.3): every
 * sent entry and ACK/NACK/RESYNC stays in the resend queue until the peer acknowledges it;
 * gaps are NACKed and resent with fresh seqs; HELLO/HELLO_BACK detect a peer restart.
 */
import type { FtfwOptions } from '../config/types.js';
import type { QueueStats, RsQueueEntry } from '../stats.js';
import { NONE, fit } from '../cache/store.js';
import { NET_F, before, isCtl, isData } from '../wire/nethdr.js';
import type { NetHeader } from '../wire/nethdr.js';
import { MsgResult } from '../wire/receive.js';
import { SeqTrack } from '../wire/sequence.js';
import { RSQ, SyncBase } from './mode.js';
import type { ControlNode, SyncContext } from './mode.js';
import { SlotQueue } from './queue.js';

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
  /**
   * The resend queue, in send (= seq) order: the entries, and the ACK/NACK/RESYNC messages
   * apart (the two are merged by seq where the order between them matters).
   */
  private readonly rs = new SlotQueue(this.links, RSQ);
  private rsControls: ControlNode[] = [];
  /** Per slot: the seq the entry was last sent with. */
  private seqs = new Uint32Array(0);
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

  /** An entry waiting for its ACK goes back to the tx queue, resent with its current state. */
  override enqueue(e: number): void {
    if (this.links.queueOf(e) === RSQ) {
      this.rsDelete(e);
      this.txAdd(e);
    } else {
      super.enqueue(e);
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
    let c = 0;
    for (let e = this.rs.first(); e !== NONE; e = this.rs.after(e)) {
      const seq = this.seqs[e]!;
      for (; c < this.rsControls.length && before(this.rsControls[c]!.seq, seq); c++) out.push(controlEntry(this.rsControls[c]!));
      out.push({ kind: 'object', seq });
    }
    for (; c < this.rsControls.length; c++) out.push(controlEntry(this.rsControls[c]!));
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

  protected xmitControl(node: ControlNode): void {
    // a resent ACK/NACK says HELLO only if we still do now
    node.flags = (node.flags & ~(NET_F.HELLO | NET_F.HELLO_BACK)) | this.helloBits();
    const ranged = (node.flags & (NET_F.ACK | NET_F.NACK | NET_F.RESYNC)) !== 0;
    node.seq = this.sendControl(node.flags, node.from, node.to, !ranged);
    if (!ranged) return;
    // ACK/NACK/RESYNC are acknowledged (and resent) like data
    this.rsMakeRoom();
    this.rsControls.push(node);
    this.rsStats.current++;
  }

  protected override xmitEntry(e: number): void {
    const seq = this.sendObject(e, this.helloBits());
    if (seq === undefined) {
      this.store.unref(e);
      return;
    }
    this.seqs = fit(this.seqs, e + 1);
    this.seqs[e] = seq;
    // the tx queue's reference moves to the resend queue
    this.rsMakeRoom();
    this.rs.push(e);
    this.rsStats.current++;
  }

  protected override alive(): void {
    if (this.ackFromSet && this.tracker.started) {
      this.queueControl(NET_F.ACK, this.ackFrom, this.tracker.lastSeqRecv);
      this.ackFromSet = false;
    } else {
      this.queueControl(NET_F.ALIVE);
    }
  }

  /** Full: the oldest message is given up (its peer may never get it, §2.3). */
  private rsMakeRoom(): void {
    if (this.rs.size + this.rsControls.length < this.options.resendQueueSize) return;
    const e = this.rs.first();
    const c = this.rsControls[0];
    if (c !== undefined && (e === NONE || before(c.seq, this.seqs[e]!))) {
      this.rsControls.shift();
      this.rsStats.current--;
    } else {
      this.rsDelete(e);
      this.store.unref(e);
    }
    this.rsStats.noSpace++;
  }

  private rsDelete(e: number): void {
    this.rs.remove(e);
    this.rsStats.current--;
  }

  /**
   * The messages sent from `from` to `to`, out of the resend queue, in send order: entries
   * (which keep the queue's reference) to `entry`, controls to `control`.
   */
  private rsTake(from: number, to: number, entry: (e: number) => void, control: (c: ControlNode) => void): void {
    const inRange = (seq: number): boolean => !before(seq, from) && !before(to, seq);
    for (let e = this.rs.first(); e !== NONE; ) {
      const next = this.rs.after(e);
      const seq = this.seqs[e]!;
      if (before(to, seq)) break;
      if (inRange(seq)) {
        this.rsDelete(e);
        entry(e);
      }
      e = next;
    }
    const taken = this.rsControls.filter((c) => inRange(c.seq));
    if (taken.length === 0) return;
    this.rsControls = this.rsControls.filter((c) => !inRange(c.seq));
    this.rsStats.current -= taken.length;
    taken.forEach(control);
  }

  /** ACK(from, to): release the acknowledged messages. */
  private rsAck(from: number, to: number): void {
    this.rsTake(from, to, (e) => this.store.unref(e), () => undefined);
    if (this.tx.size > 0) this.scheduleTx(); // the window may have room again
  }

  /** NACK(from, to): the messages in range go back to the tx queue (fresh seqs). */
  private rsNack(from: number, to: number): void {
    this.rsTake(
      from,
      to,
      (e) => this.txAdd(e),
      (c) => this.txAddControl(c),
    );
  }

  /** The ACK/NACK/RESYNC messages waiting for a peer's ACK: their seqs meant something to its previous run. */
  private rsDropControls(): void {
    this.rsStats.current -= this.rsControls.length;
    this.rsControls = [];
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
    const oldest = this.rs.first();
    if (oldest === NONE && this.rsControls.length === 0) return;
    const c = this.rsControls[0];
    const start = oldest !== NONE && (c === undefined || before(this.seqs[oldest]!, c.seq)) ? this.seqs[oldest]! : c!.seq;
    this.rsNack(start, (from - 1) >>> 0);
  }

  private rsClear(): void {
    for (let e = this.rs.shift(); e !== NONE; e = this.rs.shift()) this.store.unref(e);
    this.rsControls = [];
    this.rsStats.current = 0;
    if (this.tx.size > 0) this.scheduleTx();
  }
}

function controlEntry(c: ControlNode): RsQueueEntry {
  return { kind: 'control', seq: c.seq, flags: c.flags };
}
