/**
 * Commit of the external cache into the kernel table (`conntrackd -c`, shared/spec/
 * conntrackd.md §3.3): masters before RELATED flows, then expectations; batched creates in
 * pipelined slices that give the event loop back; EEXIST → destroy + create once more. The cache is
 * not cleared. Runs on the commit handle, so its events are not replicated (§3.2).
 */
import type { Conntrack, CtTuple, Expectation } from '../model/conntrack.js';
import type { KernelTable } from '../kernel/kernel-table.js';
import { ERRNO, errnoName } from '../kernel/kernel-error.js';
import type { ExternalCache } from '../cache/external.js';
import type { CacheObject } from '../cache/object.js';
import { commitOrder, commitTimeout } from '../cache/commit.js';
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
      return { done: false, committed: 0, failed: 0, seconds: 0 };
    }
    this.running = true;
    const t0 = process.hrtime.bigint();
    let committed = 0;
    let failed = 0;
    try {
      log.notice(
        target === 'ct' ? 'committing conntrack cache' : target === 'expect' ? 'committing expectation cache' : 'committing all external caches',
      );
      if (target !== 'expect') [committed, failed] = await this.conntracks(external.ct.values());
      if (target !== 'ct') {
        const [ok, bad] = await this.expectations(external.exp.values());
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
    return { done: true, committed, failed, seconds: Number(ns) / 1e9 };
  }

  /**
   * COMMIT_STATE_MASTER then COMMIT_STATE_RELATED, a slice at a time. A slice is built and
   * packed while the one before it is in the kernel: the kernel inserts without waiting for
   * this thread, and this thread takes in the commit's own events meanwhile (§3.2).
   */
  private async conntracks(objs: Iterable<CacheObject<Conntrack>>): Promise<[number, number]> {
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
    let slice: Conntrack[] = [];
    const send = async (): Promise<void> => {
      const next = this.createSlice(slice);
      slice = [];
      // awaited by the next send or at the end; never an unhandled rejection meanwhile
      next.catch(() => undefined);
      await settle();
      inKernel = next;
    };
    let related = false;
    for (const obj of commitOrder(objs)) {
      // never mix the last masters and the first RELATED flows, nor send one before its master
      if (!related && obj.data.master !== undefined) {
        related = true;
        if (slice.length) await send();
        await settle();
      }
      // the clock is read per entry: messages applied while a slice was in the kernel may
      // have touched later entries (a lastupdate after a stale `now` reads as "in the future")
      slice.push(this.entry(obj, this.opts.nowSeconds()));
      if (slice.length >= SLICE) await send();
    }
    if (slice.length) await send();
    await settle();
    return [ok, bad];
  }

  /** The entry as created: the cached state with the timeout of §3.3 (0: no CTA_TIMEOUT). */
  private entry(obj: CacheObject<Conntrack>, now: number): Conntrack {
    const ct: Conntrack = { ...obj.data };
    const t = commitTimeout(obj, now, this.opts.commitTimeout);
    if (t > 0) ct.timeout = t;
    else delete ct.timeout;
    return ct;
  }

  private async createSlice(cts: Conntrack[]): Promise<[number, number]> {
    const { table, liberal, log } = this.opts;
    const r = await table.createBatch(cts, { liberal });
    let ok = 0;
    const again: Conntrack[] = [];
    for (let i = 0; i < r.length; i++) {
      if (r[i] === 0) ok++;
      else if (r[i] === ERRNO.EEXIST) again.push(cts[i]!);
      else log.error(`commit-create: ${errnoName(r[i]!)} ${describeTuple(cts[i]!.orig)}`);
    }
    let bad = r.length - ok - again.length;
    if (again.length) {
      const d = await table.deleteBatch(again);
      for (let i = 0; i < d.length; i++) {
        if (d[i] !== 0 && d[i] !== ERRNO.ENOENT) log.error(`commit-destroy: ${errnoName(d[i]!)} ${describeTuple(again[i]!.orig)}`);
      }
      const c = await table.createBatch(again, { liberal });
      for (let i = 0; i < c.length; i++) {
        if (c[i] === 0) ok++;
        else {
          bad++;
          log.error(`commit-create: ${errnoName(c[i]!)} ${describeTuple(again[i]!.orig)}`);
        }
      }
    }
    return [ok, bad];
  }

  private async expectations(objs: Iterable<CacheObject<Expectation>>): Promise<[number, number]> {
    const { table, log } = this.opts;
    let ok = 0;
    let bad = 0;
    for (const obj of [...objs]) {
      if (obj.status === 'dead') continue;
      const exp: Expectation = { ...obj.data };
      const t = commitTimeout(obj, this.opts.nowSeconds(), this.opts.commitTimeout);
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

/** An entry in a log line (`commit-create: EEXIST proto=6 10.0.0.1:1234 -> 10.0.0.2:80`). */
function describeTuple(t: CtTuple): string {
  const port = (p: number | undefined): string => (p === undefined ? '' : `:${p}`);
  return `proto=${t.proto} ${t.src}${port(t.sport)} -> ${t.dst}${port(t.dport)}`;
}
