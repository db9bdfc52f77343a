/**
 * Commit of the external cache into the kernel table (`conntrackd -c`, shared/spec/
 * conntrackd.md §3.3): masters before RELATED flows, then expectations; batched creates in
 * pipelined slices that give the event loop back; EEXIST → destroy + create once more. The cache is
 * not cleared. Runs on the commit handle, so its events (where they are listened to) are not
 * replicated (§3.2); the entries it created are returned for the engine to cache.
 */
import type { Conntrack, CtTuple, Expectation } from '../model/conntrack.js';
import type { BatchResults, KernelTable, RecordBatch } from '../kernel/kernel-table.js';
import { ERRNO, errnoName } from '../kernel/kernel-error.js';
import { CT, records, w32 } from '../kernel/record.js';
import type { Cache } from '../cache/cache.js';
import type { ExternalCache } from '../cache/external.js';
import { commitOrder, commitTimeout, sentTimeout } from '../cache/commit.js';
import { errnoOf } from './inject.js';
import type { EngineLog } from './log.js';
import { SLICE } from './loop.js';
import type { Target } from './targets.js';

export interface CommitResult {
  /** false: another commit was running ("commit already in progress, skipping"). */
  done: boolean;
  committed: number;
  failed: number;
  /** Wall time of the commit. */
  seconds: number;
  /**
   * The cached conntracks now in the kernel (what their NEW events would tell). Each holds a
   * reference, so its slot is not reused meanwhile (an entry removed since reads as detached);
   * the caller releases them (`releaseCreated`).
   */
  created: number[];
}

export interface CommitOptions {
  table: KernelTable;
  log: EngineLog;
  nowSeconds: () => number;
  /** CommitTimeout (undefined: estimate from NTA_TIMEOUT). */
  commitTimeout: number | undefined;
  liberal: boolean;
}

export class Committer {
  private running = false;

  constructor(private readonly opts: CommitOptions) {}

  get inProgress(): boolean {
    return this.running;
  }

  async commit(external: ExternalCache, target: Target): Promise<CommitResult> {
    const { log } = this.opts;
    if (this.running) {
      log.notice('commit already in progress, skipping');
      return { done: false, committed: 0, failed: 0, seconds: 0, created: [] };
    }
    this.running = true;
    const t0 = process.hrtime.bigint();
    let committed = 0;
    let failed = 0;
    const created: number[] = [];
    try {
      log.notice(
        target === 'ct' ? 'committing conntrack cache' : target === 'expect' ? 'committing expectation cache' : 'committing all external caches',
      );
      if (target !== 'expect') [committed, failed] = await this.conntracks(external.ct, created);
      if (target !== 'ct') {
        const [ok, bad] = await this.expectations(external.exp);
        committed += ok;
        failed += bad;
      }
    } finally {
      this.running = false;
    }
    const ns = process.hrtime.bigint() - t0;
    log.notice(`Committed ${committed} new entries`);
    if (failed) log.notice(`${failed} entries can't be committed`);
    // conntrackd prints `%lu.%06lu`: seconds and zero-padded microseconds
    const us = ns / 1000n;
    log.notice(`commit has taken ${us / 1_000_000n}.${String(us % 1_000_000n).padStart(6, '0')} seconds`);
    return { done: true, committed, failed, seconds: Number(ns) / 1e9, created };
  }

  /**
   * COMMIT_STATE_MASTER then COMMIT_STATE_RELATED, a slice at a time. A slice is built (the
   * cached slots copied with their commit timeout) while the one before it is in the kernel:
   * the kernel inserts without waiting for this thread, and this thread handles the link and
   * the control socket meanwhile. Two slice buffers take turns.
   */
  private async conntracks(cache: Cache<Conntrack>, created: number[]): Promise<[number, number]> {
    const R = records();
    let ok = 0;
    let bad = 0;
    let inKernel: Promise<[number, number]> | undefined;
    const settle = async (): Promise<void> => {
      const prev = inKernel;
      inKernel = undefined;
      if (prev === undefined) return;
      const [o, b] = await prev;
      ok += o;
      bad += b;
    };
    const buffers = [R.alloc(SLICE), R.alloc(SLICE)];
    let slice = buffers[0]!;
    let entries: number[] = [];
    let n = 0;
    const send = async (): Promise<void> => {
      const next = this.createSlice(cache, { buf: slice, count: n }, entries, created);
      slice = slice === buffers[0] ? buffers[1]! : buffers[0]!;
      entries = [];
      n = 0;
      // awaited by the next send or at the end; never an unhandled rejection meanwhile
      next.catch(() => undefined);
      await settle();
      inKernel = next;
    };
    let related = false;
    for (const e of commitOrder(cache)) {
      // never mix the last masters and the first RELATED flows, nor send one before its master
      if (!related && R.present(cache.bufOf(e), cache.at(e)) & CT.MASTER) {
        related = true;
        if (n) await send();
        await settle();
      }
      // the clock is read per entry: messages applied while a slice was in the kernel may
      // have touched later entries (a lastupdate after a stale `now` reads as "in the future")
      this.entry(cache, e, slice, n++ * R.slot, this.opts.nowSeconds());
      cache.store.ref(e); // held while in flight, and by `created` after
      entries.push(e);
      if (n >= SLICE) await send();
    }
    if (n) await send();
    await settle();
    return [ok, bad];
  }

  /** The entry as created into `out[o]`: the cached slot with the timeout of §3.3 (0: no CTA_TIMEOUT). */
  private entry(cache: Cache<Conntrack>, e: number, out: Buffer, o: number, now: number): void {
    const R = records();
    const at = cache.at(e);
    cache.bufOf(e).copy(out, o, at, at + R.slot);
    const t = commitTimeout(sentTimeout(cache, e), cache.store.lastupdate(e), now, this.opts.commitTimeout);
    let p = R.present(out, o) & ~CT.TIMEOUT;
    if (t > 0) {
      p |= CT.TIMEOUT;
      w32(out, o + R.L.ct.timeout, t);
    }
    w32(out, o + R.L.head.present, p);
  }

  /** Creates a slice (of `entries`, in order); EEXIST → destroy and create once more. */
  private async createSlice(cache: Cache<Conntrack>, batch: RecordBatch, entries: number[], created: number[]): Promise<[number, number]> {
    const { table, liberal, log } = this.opts;
    const R = records();
    let r: BatchResults;
    try {
      r = await table.createRecords(batch, { liberal });
    } catch (err) {
      for (const e of entries) cache.store.unref(e);
      throw err;
    }
    let ok = 0;
    const again: Conntrack[] = [];
    const againEntries: number[] = [];
    for (let i = 0; i < r.length; i++) {
      if (r[i] === 0) {
        ok++;
        created.push(entries[i]!);
      } else if (r[i] === ERRNO.EEXIST) {
        again.push(R.decodeCt(batch.buf, i * R.slot));
        againEntries.push(entries[i]!);
      } else {
        cache.store.unref(entries[i]!);
        log.error(`commit-create: ${errnoName(r[i]!)} ${describeTuple(R.decodeCt(batch.buf, i * R.slot).orig)}`);
      }
    }
    let bad = r.length - ok - again.length;
    if (again.length) {
      const d = await table.deleteBatch(again);
      for (let i = 0; i < d.length; i++) {
        if (d[i] !== 0 && d[i] !== ERRNO.ENOENT) log.error(`commit-destroy: ${errnoName(d[i]!)} ${describeTuple(again[i]!.orig)}`);
      }
      const c = await table.createBatch(again, { liberal });
      for (let i = 0; i < c.length; i++) {
        if (c[i] === 0) {
          ok++;
          created.push(againEntries[i]!);
        } else {
          bad++;
          cache.store.unref(againEntries[i]!);
          log.error(`commit-create: ${errnoName(c[i]!)} ${describeTuple(again[i]!.orig)}`);
        }
      }
    }
    return [ok, bad];
  }

  private async expectations(cache: Cache<Expectation>): Promise<[number, number]> {
    const { table, log } = this.opts;
    let ok = 0;
    let bad = 0;
    for (const e of [...cache.values()]) {
      if (cache.isDead(e)) continue;
      const exp: Expectation = cache.decode(e);
      const t = commitTimeout(sentTimeout(cache, e), cache.store.lastupdate(e), this.opts.nowSeconds(), this.opts.commitTimeout);
      if (t > 0) exp.timeout = t;
      let errno = await errnoOf(table.createExpectation(exp));
      if (errno === ERRNO.EEXIST) {
        await errnoOf(table.deleteExpectation({ tuple: exp.tuple, zone: exp.zone }));
        errno = await errnoOf(table.createExpectation(exp));
      }
      if (errno === 0) ok++;
      else {
        bad++;
        log.error(`commit-create: ${errnoName(errno)} expectation ${describeTuple(exp.tuple)}`);
      }
    }
    return [ok, bad];
  }
}

/** Drops the references a CommitResult's `created` holds. */
export function releaseCreated(cache: Cache<Conntrack>, created: readonly number[]): void {
  for (const e of created) cache.store.unref(e);
}

/** An entry in a log line (`commit-create: EEXIST proto=6 10.0.0.1:1234 -> 10.0.0.2:80`). */
function describeTuple(t: CtTuple): string {
  const port = (p: number | undefined): string => (p === undefined ? '' : `:${p}`);
  return `proto=${t.proto} ${t.src}${port(t.sport)} -> ${t.dst}${port(t.dport)}`;
}
