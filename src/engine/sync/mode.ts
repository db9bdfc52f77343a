/**
 * The interface every sync mode implements, and the transmit machinery they share
 * (conntrackd `sync-mode.c` + the tx queue, shared/spec/conntrackd.md §2.1): a queue of
 * internal-cache entries and control messages, drained in one run that batches messages into
 * datagrams; the message type of an entry is computed at send time from its status.
 */
import type { Transport } from '../channel/transport.js';
import type { SyncModeName } from '../config/types.js';
import type { CtEventType } from '../model/conntrack.js';
import type { NetworkStats, QueueStats, RsQueueEntry, SequenceStats } from '../stats.js';
import { NONE } from '../cache/store.js';
import type { RecordStore } from '../cache/store.js';
import { KIND_EXP } from '../kernel/record.js';
import { DatagramBatcher } from '../wire/batcher.js';
import { MessageBuilder } from '../wire/build.js';
import type { BuildOptions } from '../wire/build.js';
import { NET_F, NET_T } from '../wire/nethdr.js';
import type { NetHeader } from '../wire/nethdr.js';
import { ReceivePipeline } from '../wire/receive.js';
import type { ExternalHandler, MsgResult } from '../wire/receive.js';
import { SeqCounter, SequenceTracker } from '../wire/sequence.js';
import { QueueLinks, SlotQueue } from './queue.js';
import type { Scheduler, TimerHandle } from './scheduler.js';
import { seconds } from './scheduler.js';

/** Everything a mode needs from the daemon. */
export interface SyncContext {
  transport: Transport;
  scheduler: Scheduler;
  /** The internal cache's entries: what `enqueue` is given are slots of this store. */
  store: RecordStore;
  build: BuildOptions;
  /** Received NEW/UPD/DEL: the external cache, or direct injection (DisableExternalCache). */
  external: ExternalHandler;
  /**
   * The peer sent RESYNC (or `-B`): enqueue every internal entry (`mode.enqueue`), or, without
   * internal cache, dump the kernel and `sendDirect` each entry as CT_NEW.
   */
  resendAll(): void;
  /** Operator-visible notices ("resync requested by other node"); optional. */
  log?(message: string): void;
}

/** What the daemon calls on the sync mode. */
export interface SyncMode {
  readonly name: SyncModeName;
  /** `-s network` counters (receive pipeline + send errors). */
  readonly network: NetworkStats;
  /** `sequence tracking statistics`. */
  readonly sequence: SequenceStats;
  /** Arms the timers; `startupResync` queues one RESYNC request (§3.6). */
  start(startupResync: boolean): void;
  stop(): void;
  /** An internal-cache entry changed and must be replicated (idempotent, coalescing). */
  enqueue(e: number): void;
  /** Every add/update/destroy of an internal entry, whatever its origin (ALARM's timers). */
  objectChanged(e: number): void;
  /** The channels' ReceiveHandler. */
  receive(payload: Buffer, link: number): void;
  /** Called with the link a valid DATA/CTL message came from (it becomes the TX link, §4.5). */
  onActiveLink: ((link: number) => void) | undefined;
  /** `conntrackd -n`. */
  requestResync(): void;
  /** `conntrackd -B`. */
  sendBulk(): void;
  /** Drops every queued entry and control (flush of the caches). */
  flushQueues(): void;
  /** `-s queue`. */
  queues(): QueueStats[];
  /** `-s rsqueue` (FT-FW; empty otherwise). */
  resendQueue(): RsQueueEntry[];
  /** DisableInternalCache (NOTRACK): serialize and send an event (the slot at `rec[o]`) now, no queueing. */
  sendDirect(kind: 'ct' | 'exp', type: CtEventType, rec: Buffer, o: number): void;
  /** Drains the tx queue now (normally scheduled after each enqueue). */
  runTx(): void;
}

/** A queued control message (`Q_ELEM_CTL`); seq is assigned when sent. */
export class ControlNode {
  seq = 0;
  constructor(
    public flags: number,
    readonly from = 0,
    readonly to = 0,
  ) {}
}

/** The ids of the queues in a mode's QueueLinks. */
export const TXQ = 1;
export const RSQ = 2;

/** conntrackd's INT_MAX bound of the tx queue. */
const TXQUEUE_MAX = 2147483647;
/** ALIVE_INT: seconds of tx silence before an ALIVE (or FT-FW's pending ACK). */
export const ALIVE_INT_MS = 1000;

const DATA_TYPE = { new: 0, alive: 1, dead: 2 } as const;
const EVENT_TYPE = { new: 0, update: 1, destroy: 2 } as const;

/** `object_status_to_network_type`: NEW→*_NEW, ALIVE→*_UPD, DEAD→*_DEL. */
export function networkType(store: RecordStore, e: number): number {
  return DATA_TYPE[store.status(e)] + (store.kind(e) === KIND_EXP ? NET_T.EXP_NEW : NET_T.CT_NEW);
}

export abstract class SyncBase implements SyncMode {
  abstract readonly name: SyncModeName;
  readonly pipeline: ReceivePipeline;
  readonly tracker = new SequenceTracker();
  onActiveLink: ((link: number) => void) | undefined;
  protected readonly builder: MessageBuilder;
  protected readonly seq: SeqCounter;
  protected readonly batcher: DatagramBatcher;
  protected readonly store: RecordStore;
  protected readonly links = new QueueLinks();
  /**
   * The tx queue (`-s queue` counts both parts as one): control messages go out first, then
   * entries while the mode lets them (`mayTransmitObjects`), so an ACK never waits behind data.
   */
  protected readonly tx = new SlotQueue(this.links, TXQ);
  private readonly txControls: ControlNode[] = [];
  protected readonly txStats: QueueStats = { name: 'txqueue', current: 0, max: TXQUEUE_MAX, noSpace: 0 };
  /** ALARM sends no ALIVE: it turns this off. */
  protected usesAlive = true;
  private txScheduled = false;
  private aliveTimer: TimerHandle | undefined;
  private running = false;

  constructor(protected readonly ctx: SyncContext) {
    this.store = ctx.store;
    this.builder = new MessageBuilder(ctx.build);
    this.seq = new SeqCounter(() => seconds(ctx.scheduler));
    this.batcher = new DatagramBatcher(ctx.transport);
    this.pipeline = new ReceivePipeline(this, ctx.external, ctx.transport.stream);
    this.pipeline.onActive = (link) => this.onActiveLink?.(link);
  }

  get network(): NetworkStats {
    return this.pipeline.stats;
  }

  get sequence(): SequenceStats {
    return this.tracker.stats;
  }

  /** The mode's classification of a received message (`sync->recv`). */
  abstract recv(h: NetHeader): MsgResult;

  /**
   * Sends one queued entry (`tx_queue_xmit`); it is already out of the tx queue and holds the
   * queue's reference. Sent once, then released (NOTRACK, ALARM); FT-FW keeps it to resend.
   */
  protected xmitEntry(e: number): void {
    this.sendObject(e, 0);
    this.store.unref(e);
  }

  /** Sends one queued control message; it is already out of the tx queue. */
  protected abstract xmitControl(node: ControlNode): void;

  start(startupResync: boolean): void {
    this.running = true;
    this.armAlive();
    if (startupResync) this.requestResync();
  }

  stop(): void {
    this.running = false;
    if (this.aliveTimer !== undefined) this.ctx.scheduler.clearTimer(this.aliveTimer);
    this.aliveTimer = undefined;
    this.batcher.flush();
  }

  receive(payload: Buffer, link: number): void {
    this.pipeline.receive(payload, link);
  }

  enqueue(e: number): void {
    if (this.links.queueOf(e) === 0) {
      this.store.ref(e);
      this.txAdd(e);
    }
  }

  objectChanged(_e: number): void {}

  requestResync(): void {
    // the RESYNC control goes out with the 16-byte header and from = to = 0 (§1.4)
    this.ctx.log?.('resync requested');
    this.queueControl(NET_F.RESYNC);
  }

  sendBulk(): void {
    this.ctx.log?.('sending bulk update');
    this.ctx.resendAll();
  }

  flushQueues(): void {
    this.txControls.length = 0;
    for (let e = this.tx.shift(); e !== NONE; e = this.tx.shift()) this.store.unref(e);
    this.txStats.current = 0;
  }

  queues(): QueueStats[] {
    return [this.txStats];
  }

  resendQueue(): RsQueueEntry[] {
    return [];
  }

  sendDirect(kind: 'ct' | 'exp', type: CtEventType, rec: Buffer, o: number): void {
    const t = EVENT_TYPE[type] + (kind === 'exp' ? NET_T.EXP_NEW : NET_T.CT_NEW);
    this.emit(kind === 'ct' ? this.builder.conntrack(t, 0, 0, rec, o) : this.builder.expectation(t, 0, 0, rec, o));
  }

  runTx(): void {
    this.txScheduled = false;
    for (let node = this.txControls.shift(); node !== undefined; node = this.txControls.shift()) {
      this.txStats.current--;
      this.xmitControl(node);
    }
    while (this.tx.size > 0 && this.mayTransmitObjects()) {
      this.txStats.current--;
      this.xmitEntry(this.tx.shift());
    }
    this.batcher.flush();
    if (this.running) this.armAlive();
  }

  /** The ALIVE timer fired (`do_alive_alarm`). */
  protected alive(): void {}

  /** Whether queued entries may be sent now (FT-FW's transmit window). */
  protected mayTransmitObjects(): boolean {
    return true;
  }

  /** Queues an entry that holds a reference for the queue. */
  protected txAdd(e: number): void {
    this.tx.push(e);
    this.txStats.current++;
    this.scheduleTx();
  }

  protected txAddControl(node: ControlNode): void {
    this.txControls.push(node);
    this.txStats.current++;
    this.scheduleTx();
  }

  protected queueControl(flags: number, from = 0, to = 0): void {
    this.txAddControl(new ControlNode(flags, from, to));
  }

  /** Builds and batches an entry's message with its current state; returns the seq used. */
  protected sendObject(e: number, flags: number): number | undefined {
    const s = this.store;
    const type = networkType(s, e);
    const b = s.buf(e);
    const o = s.at(e);
    return this.emit(s.kind(e) === KIND_EXP ? this.builder.expectation(type, flags, 0, b, o) : this.builder.conntrack(type, flags, 0, b, o));
  }

  /** 16-byte control (ACK, NACK, RESYNC) or 8-byte one (ALIVE); returns the seq used. */
  protected sendControl(flags: number, from: number, to: number, short: boolean): number {
    const seq = this.seq.next();
    const len = short ? this.builder.control(flags, seq) : this.builder.controlRange(flags, seq, from, to);
    this.batcher.append(this.builder.buf, len);
    return seq;
  }

  /** Stamps a fresh seq into the built message and batches it; counts unbuildable ones. */
  private emit(len: number): number | undefined {
    if (len === 0) {
      this.network.sendMalformed++;
      return undefined;
    }
    const seq = this.seq.next();
    this.builder.buf.writeUInt32BE(seq, 4);
    this.batcher.append(this.builder.buf, len);
    return seq;
  }

  protected scheduleTx(): void {
    if (this.txScheduled) return;
    this.txScheduled = true;
    this.ctx.scheduler.soon(() => {
      if (this.txScheduled) this.runTx();
    });
  }

  private armAlive(): void {
    if (!this.usesAlive) return;
    const s = this.ctx.scheduler;
    if (this.aliveTimer !== undefined) s.clearTimer(this.aliveTimer);
    this.aliveTimer = s.setTimer(ALIVE_INT_MS, () => {
      this.aliveTimer = undefined;
      this.alive();
      if (this.running && this.aliveTimer === undefined) this.armAlive();
    });
  }
}
