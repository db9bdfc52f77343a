/**
 * The cache dumps of `-i` / `-e` (shared/spec/conntrackd.md §5.5) as model objects; the
 * control module formats them. DEAD objects (still waiting in a sync queue, e.g. for their FT-FW
 * ACK) are not shown, as conntrackd hides them.
 */
import type { Conntrack, Expectation } from '../model/conntrack.js';
import type { Cache } from '../cache/cache.js';

export interface CacheEntry<T extends Conntrack | Expectation> {
  data: T;
  /** Seconds since the object was created (`[active since Ns]`); absent for live kernel dumps. */
  activeSince?: number;
  /** ALARM external cache: seconds until the entry expires (`[expires in Ns]`). */
  expiresIn?: number;
}

export function cacheEntries<T extends Conntrack | Expectation>(
  cache: Cache<T>,
  nowSeconds: number,
  expiresIn?: (e: number) => number | undefined,
): CacheEntry<T>[] {
  const out: CacheEntry<T>[] = [];
  for (const e of cache.values()) {
    if (cache.isDead(e)) continue;
    const { data, lifetime } = cache.view(e);
    const entry: CacheEntry<T> = { data, activeSince: Math.max(0, nowSeconds - lifetime) };
    const x = expiresIn?.(e);
    if (x !== undefined) entry.expiresIn = x;
    out.push(entry);
  }
  return out;
}
