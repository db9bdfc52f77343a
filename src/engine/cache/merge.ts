/**
 * Merging an event into a cached conntrack like libnfct `nfct_copy(dst, src, NFCT_CP_META)`
 * (shared/spec/conntrackd.md §1.7): every attribute the event carries overwrites the cached
 * one, so messages always carry the full last-known state. Counters are never cached.
 * Field by field (no reflection): this runs for every kernel event and every peer message.
 */
import type { Conntrack } from '../model/conntrack.js';

/** A copy of a kernel entry fit for the cache: no counters (and no `use` for dumps). */
export function cacheable(ct: Conntrack, dropUse = false): Conntrack {
  const out: Conntrack = { orig: ct.orig };
  mergeConntrack(out, ct);
  if (dropUse) delete out.use;
  return out;
}

/** Copies every attribute `ev` carries into `into`, except the orig tuple (the cache key). */
export function mergeConntrack(into: Conntrack, ev: Conntrack): void {
  if (ev.reply !== undefined) into.reply = ev.reply;
  if (ev.status !== undefined) into.status = ev.status;
  if (ev.timeout !== undefined) into.timeout = ev.timeout;
  if (ev.mark !== undefined) into.mark = ev.mark;
  if (ev.zone !== undefined) into.zone = ev.zone;
  if (ev.tcp !== undefined) into.tcp = into.tcp === undefined ? { ...ev.tcp } : Object.assign(into.tcp, ev.tcp);
  if (ev.sctp !== undefined) into.sctp = into.sctp === undefined ? { ...ev.sctp } : Object.assign(into.sctp, ev.sctp);
  if (ev.dccp !== undefined) into.dccp = into.dccp === undefined ? { ...ev.dccp } : Object.assign(into.dccp, ev.dccp);
  if (ev.snat !== undefined) into.snat = ev.snat;
  if (ev.dnat !== undefined) into.dnat = ev.dnat;
  if (ev.seqAdjOrig !== undefined) into.seqAdjOrig = ev.seqAdjOrig;
  if (ev.seqAdjRepl !== undefined) into.seqAdjRepl = ev.seqAdjRepl;
  if (ev.helper !== undefined) into.helper = ev.helper;
  if (ev.labels !== undefined) into.labels = ev.labels;
  if (ev.master !== undefined) into.master = ev.master;
  if (ev.synproxy !== undefined) into.synproxy = ev.synproxy;
  if (ev.id !== undefined) into.id = ev.id;
  if (ev.use !== undefined) into.use = ev.use;
  if (ev.secmark !== undefined) into.secmark = ev.secmark;
}
