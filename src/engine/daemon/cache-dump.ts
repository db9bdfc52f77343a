/**
 * The cache dumps of `-i` / `-e` (shared/spec/conntrackd.md §5.5) as model objects; the
 * control module formats them. DEAD objects (still waiting in a sync queue, e.g. for their FT-FW
 * ACK) are not shown, as conntrackd hides them.
 */
import type { Conntrack, Expectation } from '../model/conntrack.js';
import type { CacheObject } from '../cache/object.js';

export interface CacheEntry<T extends Conntrack | Expectation> {
  data: T;
  /** Seconds since the object was created (`[active since Ns]`); absent for live kernel dumps. */
  activeSince?: number;
  /** ALARM external cache: seconds until the entry expires (`[expires in Ns]`). */
  expiresIn?: number;
}

export function cacheEntries<T extends Conntrack | Expectation>(
  objects: Iterable<CacheObject<T>>,
  nowSeconds: number,
  expiresIn?: (obj: CacheObject<T>) => number | undefined,
): CacheEntry<T>[] {
  const out: CacheEntry<T>[] = [];
  for (const obj of objects) {
    if (obj.status === 'dead') continue;
    const e: CacheEntry<T> = { data: obj.data, activeSince: Math.max(0, nowSeconds - obj.lifetime) };
    const x = expiresIn?.(obj);
    if (x !== undefined) e.expiresIn = x;
    out.push(e);
  }
  return out;
}
