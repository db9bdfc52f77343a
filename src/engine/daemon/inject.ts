/**
 * DisableExternalCache: peer messages go straight into the kernel table (shared/spec/
 * conntrackd.md §3.5), as model objects. Messages of one receive burst are collected and
 * written with batched calls; a flow seen twice in a burst starts a new segment so each
 * flow's operations keep their order. NEW: create, EEXIST → destroy + create. UPD: update,
 * ENOENT → create, other error → destroy + create. DEL: destroy, ENOENT ignored. EXP_UPD is
 * handled as EXP_NEW.
 * The inject handle's own events are ignored by the internal cache (CTD_ORIGIN_INJECT, §3.2).
 */
import type { Conntrack, CtEventType, Expectation } from '../model/conntrack.js';
import type { BypassStats } from '../stats.js';
import type { CtKey, KernelTable } from '../kernel/kernel-table.js';
import { isCtsyncError } from '../../common/errors.js';
import { ERRNO } from '../kernel/kernel-error.js';
import { records } from '../kernel/record.js';
import type { ExternalHandler } from '../wire/receive.js';
import type { Scheduler } from '../sync/scheduler.js';
import { conntrackKey, expectationKey } from '../cache/key.js';
import type { EngineLog } from './log.js';
import { SLICE } from './loop.js';

export function newBypassStats(): BypassStats {
  return { created: 0, createdFailed: 0, updated: 0, updatedFailed: 0, destroyed: 0, destroyedFailed: 0 };
}

/** One burst without repeated flows: its creates, updates and deletes may be batched apart. */
class Segment {
  readonly keys = new Set<string>();
  readonly creates: Conntrack[] = [];
  readonly updates: Conntrack[] = [];
  readonly deletes: CtKey[] = [];
  readonly exps: { type: CtEventType; exp: Expectation }[] = [];
}

export class DirectInject implements ExternalHandler {
  /** `external inject:` of `-s`. */
  readonly stats = newBypassStats();
  /** The same for expectations (`-s expect`). */
  readonly expStats = newBypassStats();
  private seg = new Segment();
  private scheduled = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly table: KernelTable,
    private readonly scheduler: Scheduler,
    private readonly log: EngineLog,
    /** IP_CT_TCP_FLAG_BE_LIBERAL unless TCPWindowTracking (§1.11). */
    private readonly liberal: boolean,
  ) {}

  conntrack(type: CtEventType, rec: Buffer, o: number): void {
    const ct = records().decodeCt(rec, o);
    this.admit(conntrackKey(ct));
    const s = this.seg;
    if (type === 'new') s.creates.push(ct);
    else if (type === 'update') s.updates.push(ct);
    else s.deletes.push(ct);
  }

  expectation(type: CtEventType, rec: Buffer, o: number): void {
    const exp = records().unpackExp(rec, o);
    this.admit(`x${expectationKey(exp)}`);
    this.seg.exps.push({ type, exp });
  }

  /** Resolves once everything received so far is in the kernel (tests, shutdown). */
  async settled(): Promise<void> {
    if (this.scheduled) this.cut();
    let last: Promise<void>;
    do {
      last = this.chain;
      await last;
    } while (last !== this.chain);
  }

  private admit(key: string): void {
    if (this.seg.keys.has(key) || this.seg.keys.size >= SLICE) this.cut();
    this.seg.keys.add(key);
    if (!this.scheduled) {
      this.scheduled = true;
      this.scheduler.soon(() => {
        if (this.scheduled) this.cut();
      });
    }
  }

  /** Closes the current segment and queues its writes behind the previous ones. */
  private cut(): void {
    this.scheduled = false;
    const seg = this.seg;
    if (seg.keys.size === 0) return;
    this.seg = new Segment();
    this.chain = this.chain.then(() => this.apply(seg)).catch((e: unknown) => this.log.error(`inject: ${(e as Error).message}`));
  }

  private async apply(seg: Segment): Promise<void> {
    const st = this.stats;
    if (seg.creates.length) {
      // RELATED flows after their masters: the kernel needs the master first (§3.3)
      seg.creates.sort((a, b) => (a.master === undefined ? 0 : 1) - (b.master === undefined ? 0 : 1));
      const r = await this.table.createBatch(seg.creates, { liberal: this.liberal });
      const again = pick(seg.creates, r, (e) => e === ERRNO.EEXIST);
      st.created += count(r, 0);
      st.createdFailed += r.length - count(r, 0) - again.length;
      const ok = await this.recreate(again);
      st.created += ok;
      st.createdFailed += again.length - ok;
    }
    if (seg.updates.length) {
      const r = await this.table.updateBatch(seg.updates);
      const missing = pick(seg.updates, r, (e) => e === ERRNO.ENOENT);
      const broken = pick(seg.updates, r, (e) => e !== 0 && e !== ERRNO.ENOENT);
      st.updated += count(r, 0);
      const created = missing.length ? await this.table.createBatch(missing, { liberal: this.liberal }) : new Int32Array();
      const ok = count(created, 0) + (await this.recreate(broken));
      st.updated += ok;
      st.updatedFailed += missing.length + broken.length - ok;
    }
    if (seg.deletes.length) {
      const r = await this.table.deleteBatch(seg.deletes);
      const failed = r.length - count(r, 0) - count(r, ERRNO.ENOENT);
      st.destroyed += r.length - failed;
      st.destroyedFailed += failed;
    }
    for (const { type, exp } of seg.exps) await this.expectation1(type, exp);
  }

  /** Destroy (ENOENT tolerated) and create once more; returns how many were created. */
  private async recreate(cts: Conntrack[]): Promise<number> {
    if (cts.length === 0) return 0;
    await this.table.deleteBatch(cts);
    return count(await this.table.createBatch(cts, { liberal: this.liberal }), 0);
  }

  private async expectation1(type: CtEventType, exp: Expectation): Promise<void> {
    const st = this.expStats;
    const key = { tuple: exp.tuple, zone: exp.zone };
    if (type === 'destroy') {
      const errno = await errnoOf(this.table.deleteExpectation(key));
      if (errno === 0 || errno === ERRNO.ENOENT) st.destroyed++;
      else st.destroyedFailed++;
      return;
    }
    let errno = await errnoOf(this.table.createExpectation(exp));
    if (errno === ERRNO.EEXIST) {
      await errnoOf(this.table.deleteExpectation(key));
      errno = await errnoOf(this.table.createExpectation(exp));
    }
    const ok = errno === 0;
    if (type === 'new') ok ? st.created++ : st.createdFailed++;
    else ok ? st.updated++ : st.updatedFailed++;
  }
}

function count(r: Int32Array, errno: number): number {
  let n = 0;
  for (let i = 0; i < r.length; i++) if (r[i] === errno) n++;
  return n;
}

function pick<T>(items: T[], r: Int32Array, test: (errno: number) => boolean): T[] {
  const out: T[] = [];
  for (let i = 0; i < r.length; i++) if (test(r[i]!)) out.push(items[i]!);
  return out;
}

/** 0, or the errno a single kernel call failed with. */
export async function errnoOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (e) {
    if (isCtsyncError(e, 'KERNEL_EXISTS')) return ERRNO.EEXIST;
    if (isCtsyncError(e, 'KERNEL_NOT_FOUND')) return ERRNO.ENOENT;
    return ERRNO.EIO;
  }
}
