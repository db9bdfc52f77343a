/**
 * The external cache: what the peers told us (shared/spec/conntrackd.md §3.1, §2.4), kept as
 * the record slots the messages were decoded into. NEW replaces, UPD merges or creates, DEL
 * removes. In ALARM mode entries also expire CacheTimeout seconds after their last NEW/UPD.
 */
import type { Conntrack, CtEventType, Expectation } from '../model/conntrack.js';
import type { ExternalHandler } from '../wire/receive.js';
import type { Scheduler } from '../sync/scheduler.js';
import { Cache } from './cache.js';
import type { CacheObject } from './object.js';
import { conntrackCacheKey, expectationCacheKey } from './key.js';
import { mergeConntrack, mergeExpectation } from './merge.js';

export interface ExternalCacheOptions {
  hashLimit: number;
  nowSeconds: () => number;
  /** ALARM: entries expire `cacheTimeout` seconds after their last update. */
  expiry?: { scheduler: Scheduler; cacheTimeout: number };
}

export class ExternalCache implements ExternalHandler {
  readonly ct: Cache<Conntrack>;
  readonly exp: Cache<Expectation>;
  private readonly expiry: ExternalCacheOptions['expiry'];

  constructor(opts: ExternalCacheOptions) {
    this.ct = new Cache<Conntrack>('external', 'ct', conntrackCacheKey, opts.hashLimit, opts.nowSeconds);
    this.exp = new Cache<Expectation>('external', 'exp', expectationCacheKey, opts.hashLimit, opts.nowSeconds);
    this.expiry = opts.expiry;
    if (this.expiry !== undefined) {
      const { scheduler } = this.expiry;
      const cancel = (obj: CacheObject<Conntrack> | CacheObject<Expectation>): void => {
        if (obj.timer !== undefined) scheduler.clearTimer(obj.timer);
        obj.timer = undefined;
      };
      this.ct.onRelease = cancel;
      this.exp.onRelease = cancel;
    }
  }

  conntrack(type: CtEventType, rec: Buffer, o: number): void {
    this.apply(this.ct, type, rec, o, mergeConntrack);
  }

  expectation(type: CtEventType, rec: Buffer, o: number): void {
    this.apply(this.exp, type, rec, o, mergeExpectation);
  }

  /** Seconds until an entry expires (ALARM's `-e` ` [expires in Ns]`), undefined without expiry. */
  expiresIn(obj: CacheObject<Conntrack> | CacheObject<Expectation>, nowSeconds: number): number | undefined {
    if (this.expiry === undefined) return undefined;
    return Math.max(0, obj.lastupdate + this.expiry.cacheTimeout - nowSeconds);
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
    let obj = c.find(rec, o, hash);
    if (type === 'destroy') {
      if (obj === undefined) c.stats.deleteNotFound++;
      else c.remove(obj);
      return;
    }
    if (obj !== undefined && type === 'new') {
      c.remove(obj);
      obj = undefined;
    }
    if (obj === undefined) {
      obj = c.add(rec, o, hash);
    } else {
      merge(c.bufOf(obj), c.at(obj), rec, o);
      c.touch(obj);
    }
    if (obj !== undefined) this.arm(c, obj);
  }

  private arm<T extends Conntrack | Expectation>(c: Cache<T>, obj: CacheObject<T>): void {
    if (this.expiry === undefined) return;
    const { scheduler, cacheTimeout } = this.expiry;
    if (obj.timer !== undefined) scheduler.clearTimer(obj.timer);
    obj.timer = scheduler.setTimer(cacheTimeout * 1000, () => {
      obj.timer = undefined;
      if (obj.attached) c.remove(obj);
    });
  }
}
