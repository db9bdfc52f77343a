/**
 * KernelTable on the real conntrack table of the calling process's network namespace, through
 * the ctnetlink addon (native/). Batched writes and dumps run off the JS thread; event intake
 * runs on a native thread that hands over batches of records.
 */
import type { Conntrack, Expectation } from '../model/conntrack.js';
import { BUILD_LIBERAL, OP, loadAddon, type CtnetlinkAddon, type NativeHandle } from './addon.js';
import { CtsyncError } from '../../common/errors.js';
import { jsBuffer } from '../../common/js-buffer.js';
import { ERRNO, errnoName, kernelError } from './kernel-error.js';
import type {
  BatchResults, CreateOptions, CtKey, EventSubscription, ExpKey, KernelTable, RecordBatch, SubscribeOptions,
} from './kernel-table.js';
import { records, type RecordCodec } from './record.js';

/** NFNLGRP_CONNTRACK_* bits for bind(): NEW 1, UPDATE 2, DESTROY 4, EXP_NEW 8, EXP_UPDATE 16, EXP_DESTROY 32. */
const GROUP = { new: 1, update: 2, destroy: 4, exp: 8 | 16 | 32 } as const;
/** The group number behind GROUP.new. */
const NFNLGRP_CONNTRACK_NEW = 1;
const DUMP_BATCH = 1024;
/** Items packed and sent per addon call in batched writes. */
const PIPELINE = 8192;

export class NetlinkKernelTable implements KernelTable {
  readonly kind = 'netlink';
  private readonly codec: RecordCodec;
  private readonly subscriptions = new Set<EventSubscription>();

  private constructor(
    private readonly addon: CtnetlinkAddon,
    private readonly handle: NativeHandle,
    private readonly netns: string | undefined,
  ) {
    this.codec = records();
  }

  /**
   * Opens the table of the caller's network namespace, or of `netns` (a namespace file such as
   * /run/netns/NAME: tests and benches). KERNEL_PERMISSION without root / CAP_NET_ADMIN,
   * KERNEL_ADDON_MISSING when the addon is not built.
   */
  static open(opts: { netns?: string } = {}): NetlinkKernelTable {
    const addon = loadAddon();
    let handle: NativeHandle;
    try {
      handle = new addon.Handle(opts.netns);
    } catch (e) {
      throw openError(e, `opening the kernel conntrack table${opts.netns ? ` of ${opts.netns}` : ''}`);
    }
    // ctnetlink answers every request with EPERM without CAP_NET_ADMIN: probe with a stats get.
    const probe = handle.count();
    if (probe < 0) {
      handle.close();
      throw kernelError(-probe, 'opening the kernel conntrack table');
    }
    return new NetlinkKernelTable(addon, handle, opts.netns);
  }

  portIds(): number[] {
    return [...this.handle.portIds(), ...[...this.subscriptions].map((s) => s.portId)];
  }

  async count(): Promise<number> {
    const n = this.handle.count();
    if (n < 0) throw kernelError(-n, 'counting entries');
    return n;
  }

  dump(onBatch: (entries: Conntrack[]) => void): Promise<void> {
    return this.stream(false, (buf, n) => onBatch(this.unpackCts(buf, n)));
  }

  dumpExpectations(onBatch: (exps: Expectation[]) => void): Promise<void> {
    return this.stream(true, (buf, n) => onBatch(this.unpackExps(buf, n)));
  }

  subscribe(opts: SubscribeOptions): EventSubscription {
    const ev = opts.events ?? { new: true, update: true, destroy: true };
    const groups =
      (ev.new ? GROUP.new : 0) | (ev.update ? GROUP.update : 0) | (ev.destroy ? GROUP.destroy : 0) |
      (opts.expectations ? GROUP.exp : 0);
    let closed = false;
    let reader: InstanceType<CtnetlinkAddon['EventReader']>;
    let view: Buffer | undefined;
    try {
      reader = new this.addon.EventReader(groups, opts.reliable ?? false, opts.rcvbuf ?? 0, opts.batch ?? 1024,
        (buf, count, overruns, done, errno) => {
          if (closed) return;
          if (buf && count) {
            // the reader's buffer lasts (and is reused) for its life: one JS view of it, made once
            if (view?.buffer !== buf.buffer) view = jsBuffer(buf);
            opts.onRecords({ buf: view, count });
          }
          if (overruns) opts.onOverrun?.(overruns);
          if (done && errno) opts.onError?.(kernelError(errno, 'reading events'));
        }, this.netns);
    } catch (e) {
      throw openError(e, 'subscribing to events');
    }
    const sub: EventSubscription = {
      portId: reader.portId(),
      reliable: reader.reliable(),
      setRcvBuf: (bytes) => reader.setRcvBuf(bytes),
      getRcvBuf: () => reader.getRcvBuf(),
      listenNew: (on) => {
        if (!ev.new) return;
        const errno = reader.listen(NFNLGRP_CONNTRACK_NEW, on);
        if (errno) throw kernelError(errno, on ? 'joining NEW events' : 'leaving NEW events');
      },
      close: () => {
        closed = true;
        this.subscriptions.delete(sub);
        reader.close();
      },
    };
    this.subscriptions.add(sub);
    return sub;
  }

  async get(key: CtKey): Promise<Conntrack | undefined> {
    const out = this.codec.alloc(1);
    const errno = await this.single(OP.get, this.packKey(key), 0, out);
    if (errno === ERRNO.ENOENT) return undefined;
    if (errno) throw kernelError(errno, 'get');
    return this.codec.decodeCt(out, 0);
  }

  async create(ct: Conntrack, opts?: CreateOptions): Promise<void> {
    await this.write(OP.create, this.packCts([ct]), opts?.liberal ? BUILD_LIBERAL : 0, 'create');
  }

  async update(ct: Conntrack): Promise<void> {
    await this.write(OP.update, this.packCts([ct]), 0, 'update');
  }

  async delete(key: CtKey): Promise<void> {
    await this.write(OP.delete, this.packKey(key), 0, 'delete');
  }

  createBatch(cts: readonly Conntrack[], opts?: CreateOptions): Promise<BatchResults> {
    return this.batch(OP.create, cts, opts?.liberal ? BUILD_LIBERAL : 0);
  }

  async createRecords(batch: RecordBatch, opts?: CreateOptions): Promise<BatchResults> {
    const { slot } = this.codec;
    const results = new Int32Array(batch.count);
    for (let from = 0; from < batch.count; from += PIPELINE) {
      const to = Math.min(batch.count, from + PIPELINE);
      await this.execSlice(OP.create, batch.buf.subarray(from * slot, to * slot), opts?.liberal ? BUILD_LIBERAL : 0, results.subarray(from, to), null);
    }
    return results;
  }

  updateBatch(cts: readonly Conntrack[]): Promise<BatchResults> {
    return this.batch(OP.update, cts, 0);
  }

  deleteBatch(keys: readonly CtKey[]): Promise<BatchResults> {
    return this.batch(OP.delete, keys, 0);
  }

  flush(): Promise<void> {
    return this.flushTable(false);
  }

  async shortenTimeouts(seconds: number): Promise<number> {
    const longer: Conntrack[] = [];
    await this.dump((batch) => {
      for (const ct of batch) {
        if (ct.timeout !== undefined && ct.timeout > seconds) longer.push({ orig: ct.orig, zone: ct.zone, timeout: seconds });
      }
    });
    const results = await this.updateBatch(longer);
    // An entry may die between dump and update: ENOENT is not a failure here.
    return results.filter((r) => r === 0).length;
  }

  async getExpectation(key: ExpKey): Promise<Expectation | undefined> {
    const out = this.codec.alloc(1);
    const errno = await this.single(OP.expGet, this.packExpKey(key), 0, out);
    if (errno === ERRNO.ENOENT) return undefined;
    if (errno) throw kernelError(errno, 'get expectation');
    return this.codec.unpackExp(out, 0);
  }

  async createExpectation(exp: Expectation): Promise<void> {
    const buf = this.codec.alloc(1);
    this.codec.packExp(exp, buf, 0);
    await this.write(OP.expCreate, buf, 0, 'create expectation');
  }

  async deleteExpectation(key: ExpKey): Promise<void> {
    await this.write(OP.expDelete, this.packExpKey(key), 0, 'delete expectation');
  }

  flushExpectations(): Promise<void> {
    return this.flushTable(true);
  }

  close(): void {
    for (const sub of [...this.subscriptions]) sub.close();
    this.handle.close();
  }

  /**
   * One item on the worker pool, like a batch of one: the event loop never waits for a
   * netlink round trip (expectations are written one at a time by commit and injection).
   * Resolves to the item's errno.
   */
  private async single(op: number, record: Buffer, opts: number, out: Buffer | null): Promise<number> {
    const result = new Int32Array(1);
    await this.execSlice(op, record, opts, result, out);
    return result[0]!;
  }

  private async write(op: number, record: Buffer, opts: number, what: string): Promise<void> {
    const errno = await this.single(op, record, opts, null);
    if (errno) throw kernelError(errno, what);
  }

  /**
   * Sends a batch in slices of PIPELINE items: JS packs slice k+1 while the addon's worker
   * thread sends slice k, so packing costs no wall time and never blocks the loop for long.
   */
  private async batch(op: number, items: readonly (Conntrack | CtKey)[], opts: number): Promise<BatchResults> {
    const results = new Int32Array(items.length);
    let inflight: Promise<void> | undefined;
    for (let from = 0; from < items.length; from += PIPELINE) {
      const to = Math.min(items.length, from + PIPELINE);
      const records = this.packCts(items.slice(from, to));
      await inflight;
      inflight = this.execSlice(op, records, opts, results.subarray(from, to), null);
    }
    await inflight;
    return results;
  }

  private execSlice(op: number, records: Buffer, opts: number, results: Int32Array, out: Buffer | null): Promise<void> {
    return new Promise((resolve, reject) => {
      this.handle.execBatch(op, records, results.length, opts, results, out, (errno) => {
        if (errno) reject(kernelError(errno, 'batch'));
        else resolve();
      });
    });
  }

  private flushTable(exp: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      this.handle.flush(exp, (errno) => (errno ? reject(kernelError(errno, 'flush')) : resolve()));
    });
  }

  private stream(exp: boolean, onRecords: (buf: Buffer, count: number) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let failed: Error | undefined;
      // AF_UNSPEC: both families in one dump (spec §7).
      this.handle.dump(exp, 0, DUMP_BATCH, (buf, count, _overruns, done, errno) => {
        if (buf && count && !failed) {
          try {
            onRecords(buf, count);
          } catch (e) {
            failed = e as Error;
          }
        }
        if (!done) return;
        if (failed) reject(failed);
        else if (errno) reject(kernelError(errno, 'dump'));
        else resolve();
      });
    });
  }

  private packCts(cts: readonly (Conntrack | CtKey)[]): Buffer {
    const buf = this.codec.alloc(cts.length);
    for (let i = 0; i < cts.length; i++) this.codec.packCt(cts[i] as Conntrack, buf, i * this.codec.slot);
    return buf;
  }

  private packKey(key: CtKey): Buffer {
    return this.packCts([{ orig: key.orig, zone: key.zone }]);
  }

  private packExpKey(key: ExpKey): Buffer {
    const buf = this.codec.alloc(1);
    this.codec.packExp({ master: key.tuple, tuple: key.tuple, mask: key.tuple, zone: key.zone }, buf, 0);
    return buf;
  }

  private unpackCts(buf: Buffer, n: number): Conntrack[] {
    const out: Conntrack[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.codec.decodeCt(buf, i * this.codec.slot);
    return out;
  }

  private unpackExps(buf: Buffer, n: number): Expectation[] {
    const out: Expectation[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.codec.unpackExp(buf, i * this.codec.slot);
    return out;
  }
}

/** A socket that could not be made: permission, or an I/O error naming the system call. */
function openError(e: unknown, what: string): CtsyncError {
  const { errno, syscall } = e as { errno?: number; syscall?: string };
  if (errno === ERRNO.EPERM || errno === ERRNO.EACCES) return kernelError(errno, what);
  return new CtsyncError('KERNEL_IO', `${what}: ${syscall ?? 'socket'} failed (${errnoName(errno ?? ERRNO.EIO)})`, { cause: e });
}
