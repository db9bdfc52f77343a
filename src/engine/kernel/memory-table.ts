/**
 * KernelTable kept in this process, for the embedded demo and fast unit tests. It mimics what
 * the engine relies on in the kernel: lookups by either tuple, EEXIST / ENOENT, the reply tuple
 * built from NAT ranges, timeouts that expire (with a DESTROY event), events that carry the
 * requester's port id, expectations bound to their master, and overruns when a subscriber's
 * receive buffer is full (unless reliable).
 */
import { IPS, type Conntrack, type CtEventType, type Expectation } from '../model/conntrack.js';
import { ERRNO, kernelError } from './kernel-error.js';
import type {
  BatchResults, CreateOptions, CtKey, EventSubscription, ExpKey, KernelTable, RecordBatch, SubscribeOptions,
} from './kernel-table.js';
import { records } from './record.js';
import { mirrorTuple, natFromReply, natStatus, replyWithNat, tupleKey } from './tuples.js';

const TCP_FLAG_BE_LIBERAL = 0x08;
/** Bits CTA_STATUS cannot change (IPS_UNCHANGEABLE_MASK without the *_DONE details we keep). */
const UNCHANGEABLE = IPS.NAT_MASK | IPS.SRC_NAT_DONE | IPS.DST_NAT_DONE | IPS.EXPECTED | IPS.CONFIRMED | IPS.DYING |
  IPS.SEQ_ADJUST | IPS.TEMPLATE | IPS.UNTRACKED | IPS.OFFLOAD | IPS.HW_OFFLOAD;
/** Receive-buffer bytes one queued event stands for when the memory table models overruns. */
const EVENT_TRUESIZE = 768;
const SWEEP_MS = 1000;

interface Entry {
  ct: Conntrack;
  expiresAt: number;
}

interface ExpEntry {
  exp: Expectation;
  expiresAt: number;
  masterKey: string;
}

/** An event waiting for its subscriber, as reported when it happened. */
interface Pending {
  type: CtEventType;
  portId: number;
  ct?: Conntrack;
  exp?: Expectation;
}

interface Subscriber {
  opts: SubscribeOptions;
  groups: Set<CtEventType>;
  exps: boolean;
  capacity: number;
  pending: Pending[];
  overruns: number;
  scheduled: boolean;
}

/** The table itself; several MemoryKernelTable handles (the "processes") may share one. */
export class MemoryKernel {
  readonly byKey = new Map<string, Entry>();
  readonly exps = new Map<string, ExpEntry>();
  readonly subscribers = new Set<Subscriber>();
  private nextPort = 1;
  private nextId = 1;
  private sweeper: NodeJS.Timeout | undefined;

  allocPortId(): number {
    return this.nextPort++;
  }

  allocId(): number {
    return this.nextId++;
  }

  /** Finds the entry of a tuple in either direction, expiring it if its time is up. */
  find(key: CtKey, now = Date.now()): Entry | undefined {
    const e = this.byKey.get(tupleKey(key.orig, key.zone));
    if (e && e.expiresAt <= now) {
      this.remove(e, 0);
      return undefined;
    }
    return e;
  }

  insert(e: Entry): void {
    this.byKey.set(tupleKey(e.ct.orig, e.ct.zone), e);
    this.byKey.set(tupleKey(e.ct.reply!, e.ct.zone), e);
    this.armSweeper();
  }

  remove(e: Entry, portId: number): void {
    this.byKey.delete(tupleKey(e.ct.orig, e.ct.zone));
    this.byKey.delete(tupleKey(e.ct.reply!, e.ct.zone));
    const masterKey = tupleKey(e.ct.orig, e.ct.zone);
    for (const [k, x] of this.exps) {
      if (x.masterKey === masterKey) {
        this.exps.delete(k);
        this.emitExp('destroy', x, portId);
      }
    }
    this.emit('destroy', e, portId);
  }

  /** Live entries (each once, though indexed by both tuples); expired ones are destroyed. */
  entries(now = Date.now()): Entry[] {
    const live: Entry[] = [];
    for (const e of new Set(this.byKey.values())) {
      if (e.expiresAt <= now) this.remove(e, 0);
      else live.push(e);
    }
    return live;
  }

  emit(type: CtEventType, e: Entry, portId: number): void {
    for (const s of this.subscribers) {
      if (!s.groups.has(type)) continue;
      if (s.pending.length >= s.capacity) s.overruns++;
      else s.pending.push({ type, ct: report(e), portId });
      this.schedule(s);
    }
  }

  emitExp(type: CtEventType, x: ExpEntry, portId: number): void {
    for (const s of this.subscribers) {
      if (!s.exps) continue;
      if (s.pending.length >= s.capacity) s.overruns++;
      else s.pending.push({ type, exp: reportExp(x), portId });
      this.schedule(s);
    }
  }

  /** Expires entries and expectations even when nobody looks (timers, as the kernel's GC). */
  private armSweeper(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => {
      const now = Date.now();
      this.entries(now);
      for (const [k, x] of this.exps) {
        if (x.expiresAt <= now) {
          this.exps.delete(k);
          this.emitExp('destroy', x, 0);
        }
      }
      if (this.byKey.size === 0 && this.exps.size === 0) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  private schedule(s: Subscriber): void {
    if (s.scheduled) return;
    s.scheduled = true;
    setImmediate(() => {
      s.scheduled = false;
      if (!this.subscribers.has(s)) return;
      const batch = s.opts.batch ?? 1024;
      while (s.pending.length) s.opts.onRecords(packEvents(s.pending.splice(0, batch)));
      if (s.overruns) {
        const n = s.overruns;
        s.overruns = 0;
        s.opts.onOverrun?.(n);
      }
    });
  }
}

/** What the kernel reports for an entry: remaining timeout, NAT ranges read from the reply. */
function report(e: Entry, now = Date.now()): Conntrack {
  const ct: Conntrack = structuredClone(e.ct);
  ct.timeout = Math.max(0, Math.ceil((e.expiresAt - now) / 1000));
  natFromReply(ct);
  return ct;
}

/** Events as the addon's reader delivers them: record slots marked with event type and port id. */
function packEvents(events: Pending[]): RecordBatch {
  const R = records();
  const buf = R.alloc(events.length);
  events.forEach((ev, i) => {
    const o = i * R.slot;
    if (ev.ct) R.packCt(ev.ct, buf, o);
    else R.packExp(ev.exp!, buf, o);
    R.markEvent(buf, o, ev.type, ev.portId);
  });
  return { buf, count: events.length };
}

function reportExp(x: ExpEntry, now = Date.now()): Expectation {
  const exp: Expectation = structuredClone(x.exp);
  exp.timeout = Math.max(0, Math.ceil((x.expiresAt - now) / 1000));
  return exp;
}

export class MemoryKernelTable implements KernelTable {
  readonly kind = 'memory';
  readonly kernel: MemoryKernel;
  private readonly portId: number;
  private readonly subs = new Set<EventSubscription>();

  constructor(opts: { kernel?: MemoryKernel } = {}) {
    this.kernel = opts.kernel ?? new MemoryKernel();
    this.portId = this.kernel.allocPortId();
  }

  portIds(): number[] {
    return [this.portId, ...[...this.subs].map((s) => s.portId)];
  }

  async count(): Promise<number> {
    return this.kernel.entries().length;
  }

  async dump(onBatch: (entries: Conntrack[]) => void): Promise<void> {
    const now = Date.now();
    const all = this.kernel.entries(now).map((e) => report(e, now));
    for (let i = 0; i < all.length; i += 1024) onBatch(all.slice(i, i + 1024));
  }

  subscribe(opts: SubscribeOptions): EventSubscription {
    const ev = opts.events ?? { new: true, update: true, destroy: true };
    let rcvbuf = opts.rcvbuf ?? 0;
    const s: Subscriber = {
      opts,
      groups: new Set((['new', 'update', 'destroy'] as const).filter((t) => ev[t])),
      exps: opts.expectations ?? false,
      capacity: capacityOf(rcvbuf, opts.reliable),
      pending: [],
      overruns: 0,
      scheduled: false,
    };
    this.kernel.subscribers.add(s);
    const sub: EventSubscription = {
      portId: this.kernel.allocPortId(),
      reliable: opts.reliable ?? false,
      setRcvBuf: (bytes) => {
        rcvbuf = bytes * 2; // as SO_RCVBUF: the kernel doubles the value
        s.capacity = capacityOf(rcvbuf, opts.reliable);
        return rcvbuf;
      },
      getRcvBuf: () => rcvbuf,
      listenNew: (on) => {
        if (!ev.new) return;
        if (on) s.groups.add('new');
        else s.groups.delete('new');
      },
      close: () => {
        this.kernel.subscribers.delete(s);
        this.subs.delete(sub);
      },
    };
    if (rcvbuf) sub.setRcvBuf(rcvbuf);
    this.subs.add(sub);
    return sub;
  }

  async get(key: CtKey): Promise<Conntrack | undefined> {
    const e = this.kernel.find(key);
    return e && report(e);
  }

  async create(ct: Conntrack, opts?: CreateOptions): Promise<void> {
    const errno = this.createOne(ct, opts);
    if (errno) throw kernelError(errno, 'create');
  }

  async update(ct: Conntrack): Promise<void> {
    const errno = this.updateOne(ct);
    if (errno) throw kernelError(errno, 'update');
  }

  async delete(key: CtKey): Promise<void> {
    const errno = this.deleteOne(key);
    if (errno) throw kernelError(errno, 'delete');
  }

  async createBatch(cts: readonly Conntrack[], opts?: CreateOptions): Promise<BatchResults> {
    return Int32Array.from(cts, (ct) => this.createOne(ct, opts));
  }

  async createRecords(batch: RecordBatch, opts?: CreateOptions): Promise<BatchResults> {
    const R = records();
    return Int32Array.from({ length: batch.count }, (_, i) => this.createOne(R.decodeCt(batch.buf, i * R.slot), opts));
  }

  async updateBatch(cts: readonly Conntrack[]): Promise<BatchResults> {
    return Int32Array.from(cts, (ct) => this.updateOne(ct));
  }

  async deleteBatch(keys: readonly CtKey[]): Promise<BatchResults> {
    return Int32Array.from(keys, (k) => this.deleteOne(k));
  }

  async flush(): Promise<void> {
    for (const e of this.kernel.entries()) this.kernel.remove(e, this.portId);
  }

  async shortenTimeouts(seconds: number): Promise<number> {
    const limit = Date.now() + seconds * 1000;
    let n = 0;
    for (const e of this.kernel.entries()) {
      if (e.expiresAt > limit) {
        e.expiresAt = limit;
        e.ct.timeout = seconds;
        this.kernel.emit('update', e, this.portId);
        n++;
      }
    }
    return n;
  }

  async dumpExpectations(onBatch: (exps: Expectation[]) => void): Promise<void> {
    const now = Date.now();
    const live = [...this.kernel.exps.values()].filter((x) => x.expiresAt > now);
    if (live.length) onBatch(live.map((x) => reportExp(x, now)));
  }

  async getExpectation(key: ExpKey): Promise<Expectation | undefined> {
    const x = this.kernel.exps.get(tupleKey(key.tuple, key.zone));
    return x && x.expiresAt > Date.now() ? reportExp(x) : undefined;
  }

  async createExpectation(exp: Expectation): Promise<void> {
    const master = this.kernel.find({ orig: exp.master, zone: exp.zone });
    if (!master) throw kernelError(ERRNO.ENOENT, 'create expectation');
    const key = tupleKey(exp.tuple, exp.zone);
    if (this.kernel.exps.has(key)) throw kernelError(ERRNO.EEXIST, 'create expectation');
    if (exp.timeout === undefined) throw kernelError(ERRNO.EINVAL, 'create expectation');
    const x: ExpEntry = {
      exp: { ...structuredClone(exp), helper: exp.helper ?? master.ct.helper },
      expiresAt: Date.now() + exp.timeout * 1000,
      masterKey: tupleKey(master.ct.orig, master.ct.zone),
    };
    this.kernel.exps.set(key, x);
    this.kernel.emitExp('new', x, this.portId);
  }

  async deleteExpectation(key: ExpKey): Promise<void> {
    const k = tupleKey(key.tuple, key.zone);
    const x = this.kernel.exps.get(k);
    if (!x) throw kernelError(ERRNO.ENOENT, 'delete expectation');
    this.kernel.exps.delete(k);
    this.kernel.emitExp('destroy', x, this.portId);
  }

  async flushExpectations(): Promise<void> {
    for (const [k, x] of this.kernel.exps) {
      this.kernel.exps.delete(k);
      this.kernel.emitExp('destroy', x, this.portId);
    }
  }

  close(): void {
    for (const s of [...this.subs]) s.close();
  }

  private createOne(ct: Conntrack, opts?: CreateOptions): number {
    // The kernel refuses a create without CTA_TIMEOUT (spec §1.11).
    if (ct.timeout === undefined) return ERRNO.EINVAL;
    const nat = ct.snat !== undefined || ct.dnat !== undefined;
    const reply = nat ? replyWithNat(ct) : ct.reply ?? mirrorTuple(ct.orig);
    const zone = ct.zone ?? 0;
    if (this.kernel.find({ orig: ct.orig, zone }) || this.kernel.find({ orig: reply, zone })) return ERRNO.EEXIST;
    if (ct.master && !this.kernel.find({ orig: ct.master, zone })) return ERRNO.ENOENT;
    const stored: Conntrack = {
      orig: { ...ct.orig },
      reply,
      status: ((ct.status ?? 0) & ~(IPS.EXPECTED | IPS.DYING | IPS.NAT_MASK)) | IPS.CONFIRMED | natStatus(ct),
      mark: ct.mark ?? 0,
      id: this.kernel.allocId(),
    };
    if (ct.zone) stored.zone = ct.zone;
    if (ct.tcp || (opts?.liberal && ct.orig.proto === 6)) {
      stored.tcp = { ...ct.tcp };
      if (opts?.liberal) {
        stored.tcp.flagsOrig = (stored.tcp.flagsOrig ?? 0) | TCP_FLAG_BE_LIBERAL;
        stored.tcp.flagsRepl = (stored.tcp.flagsRepl ?? 0) | TCP_FLAG_BE_LIBERAL;
      }
    }
    copyChangeable(ct, stored);
    if (ct.helper !== undefined) stored.helper = ct.helper;
    if (ct.master) stored.master = { ...ct.master };
    const e: Entry = { ct: stored, expiresAt: Date.now() + ct.timeout * 1000 };
    this.kernel.insert(e);
    this.kernel.emit('new', e, this.portId);
    return 0;
  }

  private updateOne(ct: Conntrack): number {
    const e = this.kernel.find({ orig: ct.orig, zone: ct.zone });
    if (!e) return ERRNO.ENOENT;
    const s = e.ct;
    if (ct.status !== undefined) {
      // SEEN_REPLY and ASSURED can only be set; unchangeable bits stay as they are.
      const sticky = s.status! & (IPS.SEEN_REPLY | IPS.ASSURED);
      s.status = (s.status! & UNCHANGEABLE) | (ct.status & ~UNCHANGEABLE) | sticky;
    }
    if (ct.timeout !== undefined) e.expiresAt = Date.now() + ct.timeout * 1000;
    if (ct.mark !== undefined) s.mark = ct.mark;
    if (ct.tcp) s.tcp = { ...s.tcp, ...ct.tcp };
    copyChangeable(ct, s);
    this.kernel.emit('update', e, this.portId);
    return 0;
  }

  private deleteOne(key: CtKey): number {
    const e = this.kernel.find(key);
    if (!e) return ERRNO.ENOENT;
    this.kernel.remove(e, this.portId);
    return 0;
  }
}

/** Fields both create and update take as given. */
function copyChangeable(from: Conntrack, to: Conntrack): void {
  if (from.sctp) to.sctp = { ...to.sctp, ...from.sctp };
  if (from.dccp) to.dccp = { ...to.dccp, ...from.dccp };
  if (from.labels?.some((w) => w !== 0)) to.labels = [0, 1, 2, 3].map((i) => from.labels![i] ?? 0);
  if (from.seqAdjOrig) to.seqAdjOrig = { ...from.seqAdjOrig };
  if (from.seqAdjRepl) to.seqAdjRepl = { ...from.seqAdjRepl };
  if (from.synproxy) to.synproxy = { ...from.synproxy };
}

function capacityOf(rcvbuf: number, reliable?: boolean): number {
  return reliable || !rcvbuf ? Infinity : Math.max(1, Math.floor(rcvbuf / EVENT_TRUESIZE));
}
