/**
 * The interface every sync mode implements, and the transmit machinery they share
 * (conntrackd `sync-mode.c` + the tx queue, shared/spec/conntrackd.md §2.1): a queue of
 * cache objects and control nodes, drained in one run that batches messages into datagrams;
 * the message type of an object is computed at send time from its status.
 */
import type { Transport } from '../channel/transport.js';
import type { SyncModeName } from '../config/types.js';
import type { CtEventType } from '../model/conntrack.js';
import type { NetworkStats, QueueStats, RsQueueEntry, SequenceStats } from '../stats.js';
import type { SyncObject } from '../cache/internal.js';
import type { Queued } from '../cache/object.js';
import { DatagramBatcher } from '../wire/batcher.js';
import { MessageBuilder } from '../wire/build.js';
import type { BuildOptions } from '../wire/build.js';
import { NET_F, NET_T } from '../wire/nethdr.js';
import type { NetHeader } from '../wire/nethdr.js';
import { ReceivePipeline } from '../wire/receive.js';
import type { ExternalHandler, MsgResult } from '../wire/receive.js';
import { SeqCounter, SequenceTracker } from '../wire/sequence.js';
import { NodeQueue } from './queue.js';
import type { Scheduler, TimerHandle } from './scheduler.js';
import { seconds } from './scheduler.js';

/** Everything a mode needs from the daemon. */
export interface SyncContext {
  transport: Transport;
  scheduler: Scheduler;
  build: BuildOptions;
  /** Received NEW/UPD/DEL: the external cache, or direct injection (DisableExternalCache). */
  external: ExternalHandler;
  /**
   * The peer sent RESYNC (or `-B`): enqueue every internal object (`mode.enqueue`), or, without
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
  /** An internal-cache object changed and must be replicated (idempotent, coalescing). */
  enqueue(obj: SyncObject): void;
  /** Every add/update/destroy of an internal object, whatever its origin (ALARM's timers). */
  objectChanged(obj: SyncObject): void;
  /** The channels' ReceiveHandler. */
  receive(payload: Buffer, link: number): void;
  /** Called with the link a valid DATA/CTL message came from (it becomes the TX link, §4.5). */
  onActiveLink: ((link: number) => void) | undefined;
  /** `conntrackd -n`. */
  requestResync(): void;
  /** `conntrackd -B`. */
  sendBulk(): void;
  /** Drops every queued object and control (flush of the caches). */
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
export class ControlNode implements Queued {
  queue: 'none' | 'tx' | 'rs' = 'none';
  prevQueued: Queued | undefined = undefined;
  nextQueued: Queued | undefined = undefined;
  seq = 0;
  constructor(
    public flags: number,
    readonly from = 0,
    readonly to = 0,
  ) {}
}

export type TxNode = SyncObject | ControlNode;

/** conntrackd's INT_MAX bound of the tx queue. */
const TXQUEUE_MAX = 2147483647;
/** ALIVE_INT: seconds of tx silence before an ALIVE (or FT-FW's pending ACK). */
export const ALIVE_INT_MS = 1000;

const DATA_TYPE = { new: 0, alive: 1, dead: 2 } as const;
const EVENT_TYPE = { new: 0, update: 1, destroy: 2 } as const;

/** `object_status_to_network_type`: NEW→*_NEW, ALIVE→*_UPD, DEAD→*_DEL. */
export function networkType(obj: SyncObject): number {
  return DATA_TYPE[obj.status] + (obj.kind === 'exp' ? NET_T.EXP_NEW : NET_T.CT_NEW);
}

export abstract class SyncBase implements SyncMode {
  abstract readonly name: SyncModeName;
  readonly pipeline: ReceivePipeline;
  readonly tracker = new SequenceTracker();
  onActiveLink: ((link: number) => void) | undefined;
  protected readonly builder: MessageBuilder;
  protected readonly seq: SeqCounter;
  protected readonly batcher: DatagramBatcher;
  /**
   * The tx queue (`-s queue` counts both parts as one): control messages go out first, then
   * objects while the mode lets them (`mayTransmitObjects`), so an ACK never waits behind data.
   */
  protected readonly tx = new NodeQueue<SyncObject>();
  private readonly txControls = new NodeQueue<ControlNode>();
  protected readonly txStats: QueueStats = { name: 'txqueue', current: 0, max: TXQUEUE_MAX, noSpace: 0 };
  /** ALARM sends no ALIVE: it turns this off. */
  protected usesAlive = true;
  private txScheduled = false;
  private aliveTimer: TimerHandle | undefined;
  private running = false;

  constructor(protected readonly ctx: SyncContext) {
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

  /** Sends one queued node (`tx_queue_xmit`); the node is already out of the tx queue. */
  protected abstract xmit(node: TxNode): void;

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

  enqueue(obj: SyncObject): void {
    if (obj.queue === 'none') {
      obj.get();
      this.txAdd(obj);
    }
  }

  objectChanged(_obj: SyncObject): void {}

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
    for (let node = this.txControls.shift(); node !== undefined; node = this.txControls.shift()) this.drop(node);
    for (let node = this.tx.shift(); node !== undefined; node = this.tx.shift()) this.drop(node);
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
    for (let node = this.txControls.shift(); node !== undefined; node = this.txControls.shift()) this.transmit(node);
    while (this.tx.size > 0 && this.mayTransmitObjects()) this.transmit(this.tx.shift()!);
    this.batcher.flush();
    if (this.running) this.armAlive();
  }

  /** The ALIVE timer fired (`do_alive_alarm`). */
  protected alive(): void {}

  /** Whether queued objects may be sent now (FT-FW's transmit window). */
  protected mayTransmitObjects(): boolean {
    return true;
  }

  protected txAdd(node: TxNode): void {
    node.queue = 'tx';
    if (node instanceof ControlNode) this.txControls.push(node);
    else this.tx.push(node);
    this.txStats.current++;
    this.scheduleTx();
  }

  private transmit(node: TxNode): void {
    this.txStats.current--;
    node.queue = 'none';
    this.xmit(node);
  }

  protected queueControl(flags: number, from = 0, to = 0): void {
    this.txAdd(new ControlNode(flags, from, to));
  }

  /** Releases a queued node without sending it. */
  protected drop(node: TxNode): void {
    node.queue = 'none';
    if (!(node instanceof ControlNode)) node.put();
  }

  /** Builds and batches an object's message with its current state; returns the seq used. */
  protected sendObject(obj: SyncObject, flags: number): number | undefined {
    const type = networkType(obj);
    const { store } = obj.owner;
    const b = store.buf(obj.slot);
    const o = store.at(obj.slot);
    return this.emit(obj.kind === 'ct' ? this.builder.conntrack(type, flags, 0, b, o) : this.builder.expectation(type, flags, 0, b, o));
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
