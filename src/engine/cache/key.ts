/**
 * Cache keys (shared/spec/conntrackd.md §3.1): conntrackd hashes l3/l4 protocol, orig
 * addresses, orig ports (or ICMP type/code/id) and zone, and compares the same fields.
 */
import type { Conntrack, CtTuple, Expectation } from '../model/conntrack.js';

export function tupleKey(t: CtTuple, zone: number | undefined): string {
  const l4 = t.sport !== undefined ? `${t.sport}|${t.dport}` : t.icmpType !== undefined ? `i${t.icmpType}|${t.icmpCode}|${t.icmpId}` : '';
  return `${t.l3}|${t.proto}|${t.src}|${t.dst}|${l4}|${zone ?? 0}`;
}

export function conntrackKey(ct: Conntrack): string {
  return tupleKey(ct.orig, ct.zone);
}

/** Expectations: the master tuple plus the expected tuple (`nfexp_cmp`). */
export function expectationKey(exp: Expectation): string {
  return `${tupleKey(exp.master, undefined)}>${tupleKey(exp.tuple, undefined)}`;
}
