/**
 * What the commit of the external cache needs from it (shared/spec/conntrackd.md §3.3): the
 * order (master flows before RELATED ones, the kernel needs the master first) and the
 * timeout each entry is created with.
 */
import type { Conntrack } from '../model/conntrack.js';
import { CT, EXP, records, u32 } from '../kernel/record.js';
import type { Cache, CacheData } from './cache.js';

/** Non-RELATED entries first, then those with a master (COMMIT_STATE_MASTER, then _RELATED). */
export function* commitOrder(cache: Cache<Conntrack>): IterableIterator<number> {
  const related: number[] = [];
  const R = records();
  for (const e of cache.values()) {
    if (cache.isDead(e)) continue;
    if (R.present(cache.bufOf(e), cache.at(e)) & CT.MASTER) related.push(e);
    else yield e;
  }
  yield* related;
}

/** Fallback conntrackd uses for a negative estimate. */
const FALLBACK_TIMEOUT = 60;

/** The timeout the peer sent with the cached entry (NTA_TIMEOUT), 0 without one. */
export function sentTimeout<T extends CacheData>(cache: Cache<T>, e: number): number {
  const R = records();
  const b = cache.bufOf(e);
  const o = cache.at(e);
  const p = R.present(b, o);
  if (cache.kind === 'ct') return p & CT.TIMEOUT ? u32(b, o + R.L.ct.timeout) : 0;
  return p & EXP.TIMEOUT ? u32(b, o + R.L.exp.timeout) : 0;
}

/**
 * CommitTimeout when set; else the received NTA_TIMEOUT (`sent`, 0 without) minus the time
 * since the last update (60 when either is negative). 0 means "send no CTA_TIMEOUT" (the
 * kernel will refuse).
 */
export function commitTimeout(sent: number, lastupdate: number, nowSeconds: number, configured: number | undefined): number {
  if (configured) return configured;
  let elapsed = nowSeconds - lastupdate;
  if (elapsed < 0) elapsed = FALLBACK_TIMEOUT;
  const t = sent - elapsed;
  return t < 0 ? FALLBACK_TIMEOUT : t;
}
