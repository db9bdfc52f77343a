/**
 * The event socket (shared/spec/conntrackd.md §7): subscription with NetlinkEventsReliable and
 * NetlinkBufferSize, buffer growth on overrun up to NetlinkBufferSizeMaxGrowth, the overrun
 * count and the NetlinkOverrunResync alarm. What to do with the events is the engine's.
 */
import type { GeneralConfig } from '../config/types.js';
import type { EventSubscription, KernelTable, RecordBatch } from '../kernel/kernel-table.js';
import type { Scheduler, TimerHandle } from '../sync/scheduler.js';
import type { EngineLog } from './log.js';

/** Events per delivery from the reader thread (see open()). */
const INTAKE_BATCH = 1024;

export interface KernelEventsOptions {
  general: GeneralConfig;
  expectations: boolean;
  log: EngineLog;
  scheduler: Scheduler;
  /** A batch of event slots (valid during the call only). */
  onRecords(batch: RecordBatch): void;
  /** NetlinkOverrunResync fired: resync the internal cache with the kernel (absent: off). */
  onResync?: () => void;
  onError(err: Error): void;
}

export class KernelEvents {
  /** `netlink overrun` of `-s runtime`. */
  overruns = 0;
  private sub: EventSubscription | undefined;
  private maxGrowth = 0;
  private warned = false;
  private resyncTimer: TimerHandle | undefined;

  constructor(private readonly opts: KernelEventsOptions) {}

  get portId(): number | undefined {
    return this.sub?.portId;
  }

  /** `current buffer size (in bytes)` of `-s runtime`. */
  get bufferSize(): number {
    return this.sub?.getRcvBuf() ?? 0;
  }

  open(table: KernelTable): void {
    const { general, log } = this.opts;
    if (general.netlinkEventsReliable) log.notice('reliable ctnetlink event delivery is ENABLED.');
    this.sub = table.subscribe({
      expectations: this.opts.expectations,
      reliable: general.netlinkEventsReliable,
      // conntrackd hands NetlinkBufferSize/2 to SO_RCVBUFFORCE, which the kernel doubles (§7)
      rcvbuf: general.netlinkBufferSize ? Math.floor(general.netlinkBufferSize / 2) : 0,
      // EventIterationLimit bounds conntrackd's single loop for fairness; here the kernel is read
      // on its own thread and the JS side takes whole bursts: batches of 100 cost enough per
      // delivery to overrun a 2 MB buffer under a 200k events/s burst, batches of 1024 do not.
      batch: Math.max(general.eventIterationLimit, INTAKE_BATCH),
      onRecords: this.opts.onRecords,
      onOverrun: (n) => this.overrun(n),
      onError: this.opts.onError,
    });
    const size = this.sub.getRcvBuf();
    if (general.netlinkBufferSize) log.notice(`netlink event socket buffer size has been set to ${size} bytes`);
    // without NetlinkBufferSizeMaxGrowth the buffer never grows past its first size
    this.maxGrowth = Math.max(general.netlinkBufferSizeMaxGrowth, size);
  }

  close(): void {
    if (this.resyncTimer !== undefined) this.opts.scheduler.clearTimer(this.resyncTimer);
    this.resyncTimer = undefined;
    this.sub?.close();
    this.sub = undefined;
  }

  /**
   * Leaves the NEW group for a commit; false (nothing done) without an event socket. Nobody
   * else listening, the kernel then builds no event for each entry the commit creates, and
   * neither the reader nor the caches take them in: a commit of 100k is left with the kernel's
   * own work. (conntrackd reads them all, and overruns on a large commit.) What the engine
   * misses meanwhile it catches up on with a dump once the socket is back (engine.ts).
   */
  leaveNew(): boolean {
    if (this.sub === undefined) return false;
    this.sub.listenNew(false);
    return true;
  }

  rejoinNew(): void {
    this.sub?.listenNew(true);
  }

  /** ENOBUFS on the event socket: events were lost (§7). */
  private overrun(count: number): void {
    this.overruns += count;
    this.grow();
    const { general, scheduler, onResync } = this.opts;
    if (onResync === undefined || general.netlinkOverrunResync === false) return;
    // (re)armed: the resync runs once the overruns stop for NetlinkOverrunResync seconds
    if (this.resyncTimer !== undefined) scheduler.clearTimer(this.resyncTimer);
    this.resyncTimer = scheduler.setTimer(general.netlinkOverrunResync * 1000, () => {
      this.resyncTimer = undefined;
      onResync();
    });
  }

  private grow(): void {
    const sub = this.sub;
    if (sub === undefined || this.warned) return;
    const want = sub.getRcvBuf() * 2;
    if (want > this.maxGrowth) {
      this.warned = true;
      this.opts.log.warning(
        'netlink event socket buffer size cannot be doubled further since it will exceed NetlinkBufferSizeMaxGrowth. ' +
          'We are likely to be losing events, this may lead to unsynchronized replicas. Please, consider increasing ' +
          'netlink socket buffer size via NetlinkBufferSize and NetlinkBufferSizeMaxGrowth clauses in conntrackd.conf',
      );
      return;
    }
    const size = sub.setRcvBuf(Math.floor(want / 2));
    this.opts.log.notice(`netlink event socket buffer size has been doubled to ${size} bytes`);
  }
}
