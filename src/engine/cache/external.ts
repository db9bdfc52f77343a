/**
 * The external cache: what the peers told us (shared/spec/conntrackd.md §3.1, §2.4), kept as
 * the record slots the messages were decoded into. NEW replaces, UPD merges or creates, DEL
 * removes. In ALARM mode entries also expire CacheTimeout seconds after their last NEW/UPD.
 */
import type { Conntrack, CtEventType, Expectation } from '../model/conntrack.js';
import type { ExternalHandler } from '../wire/receive.js';
import type { Scheduler, TimerHandle } from '../sync/scheduler.js';
import { Cache } from './cache.js';
import { NONE, RecordStore } from './store.js';
import { conntrackCacheKey, expectationCacheKey } from './key.js';
import { mergeConntrack, mergeExpectation } from './merge.js';

export interface ExternalCacheOptions {
  hashLimit: number;
  nowSeconds: () => number;
  /** ALARM: entries expire `cacheTimeout` seconds after their last update. */
  expiry?: { scheduler: Scheduler; cacheTimeout: number };
}

export class ExternalCache implements ExternalHandler {
  readonly store = new RecordStore();
  readonly ct: Cache<Conntrack>;
  readonly exp: Cache<Expectation>;
  private readonly expiry: ExternalCacheOptions['expiry'];
  /** ALARM: the expiry timer of each entry. */
  private readonly timers = new Map<number, TimerHandle>();

  constructor(opts: ExternalCacheOptions) {
    this.ct = new Cache<Conntrack>('external', 'ct', this.store, conntrackCacheKey, opts.hashLimit, opts.nowSeconds);
    this.exp = new Cache<Expectation>('external', 'exp', this.store, expectationCacheKey, opts.hashLimit, opts.nowSeconds);
    this.expiry = opts.expiry;
    if (this.expiry !== undefined) this.store.onRelease = (e) => this.cancel(e);
  }

  conntrack(type: CtEventType, rec: Buffer, o: number): void {
    this.apply(this.ct, type, rec, o, mergeConntrack);
  }

  expectation(type: CtEventType, rec: Buffer, o: number): void {
    this.apply(this.exp, type, rec, o, mergeExpectation);
  }

  /** Seconds until an entry expires (ALARM's `-e` ` [expires in Ns]`), undefined without expiry. */
  expiresIn(e: number, nowSeconds: number): number | undefined {
    if (this.expiry === undefined) return undefined;
    return Math.max(0, this.store.lastupdate(e) + this.expiry.cacheTimeout - nowSeconds);
  }

  /** `-f external`: drop everything. */
  flush(): void {
    this.ct.flush();
    this.exp.flush();
  }

  private apply<T extends Conntrack | Expectation>(
    c: Cache<T>,
    type: CtEventType,
    rec: Buffer,
    o: number,
    merge: (into: Buffer, io: number, from: Buffer, fo: number) => void,
  ): void {
    const hash = c.hashOf(rec, o);
    let e = c.find(rec, o, hash);
    if (type === 'destroy') {
      if (e === NONE) c.stats.deleteNotFound++;
      else c.remove(e);
      return;
    }
    if (e !== NONE && type === 'new') {
      c.remove(e);
      e = NONE;
    }
    if (e === NONE) {
      e = c.add(rec, o, hash);
    } else {
      merge(c.bufOf(e), c.at(e), rec, o);
      c.touch(e);
    }
    if (e !== NONE) this.arm(c, e);
  }

  private arm<T extends Conntrack | Expectation>(c: Cache<T>, e: number): void {
    if (this.expiry === undefined) return;
    this.cancel(e);
    this.timers.set(
      e,
      this.expiry.scheduler.setTimer(this.expiry.cacheTimeout * 1000, () => {
        this.timers.delete(e);
        c.remove(e); // the timer of a slot goes with it (onRelease): `e` is still this entry
      }),
    );
  }

  private cancel(e: number): void {
    const t = this.timers.get(e);
    if (t === undefined) return;
    this.expiry!.scheduler.clearTimer(t);
    this.timers.delete(e);
  }
}
