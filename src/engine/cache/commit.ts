/**
 * What the commit of the external cache needs from it (shared/spec/conntrackd.md §3.3): the
 * order (master flows before RELATED ones, the kernel needs the master first) and the
 * timeout each entry is created with.
 */
import type { Conntrack } from '../model/conntrack.js';
import type { CacheObject } from './object.js';

/** Non-RELATED entries first, then those with a master (COMMIT_STATE_MASTER, then _RELATED). */
export function* commitOrder(objects: Iterable<CacheObject<Conntrack>>): IterableIterator<CacheObject<Conntrack>> {
  const related: CacheObject<Conntrack>[] = [];
  for (const obj of objects) {
    if (obj.status === 'dead') continue;
    if (obj.data.master === undefined) yield obj;
    else related.push(obj);
  }
  yield* related;
}

/** Fallback conntrackd uses for a negative estimate. */
const FALLBACK_TIMEOUT = 60;

/**
 * CommitTimeout when set; else the received NTA_TIMEOUT minus the time since the last
 * update (60 when either is negative). 0 means "send no CTA_TIMEOUT" (the kernel will refuse).
 */
export function commitTimeout(
  obj: { data: { timeout?: number }; lastupdate: number },
  nowSeconds: number,
  configured: number | undefined,
): number {
  if (configured) return configured;
  let elapsed = nowSeconds - obj.lastupdate;
  if (elapsed < 0) elapsed = FALLBACK_TIMEOUT;
  const t = (obj.data.timeout ?? 0) - elapsed;
  return t < 0 ? FALLBACK_TIMEOUT : t;
}
