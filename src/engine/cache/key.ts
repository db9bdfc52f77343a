/**
 * Cache keys (shared/spec/conntrackd.md §3.1): conntrackd hashes l3/l4 protocol, orig
 * addresses, orig ports (or ICMP type/code/id) and zone, and compares the same fields.
 *
 * The caches look objects up by a 30-bit hash of those fields and compare the fields on a hit
 * (`CacheKey`): no key string is built per event. A string of 40 characters costs an
 * allocation, a flattening and a hash on every lookup, and stays in memory with every object.
 * The string forms remain for sets of keys outside the caches.
 */
import type { Conntrack, CtTuple, Expectation } from '../model/conntrack.js';

/** How a cache finds its objects: equal keys have equal hashes. */
export interface CacheKey<T> {
  /** 0 ≤ hash < 2^30: a small integer wherever V8 runs. */
  hash(data: T): number;
  same(a: T, b: T): boolean;
}

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

// FNV-1a over 32-bit words and string characters.
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function mix(h: number, v: number): number {
  return Math.imul(h ^ v, FNV_PRIME);
}

function mixText(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

function tupleHash(h: number, t: CtTuple): number {
  h = mix(h, t.proto);
  h = mixText(mixText(h, t.src), t.dst);
  if (t.sport !== undefined) return mix(h, (t.sport << 16) | (t.dport ?? 0));
  if (t.icmpType !== undefined) return mix(h, 0x1000000 | (t.icmpType << 16) | ((t.icmpCode ?? 0) << 8)) ^ (t.icmpId ?? 0);
  return h;
}

function sameTuple(a: CtTuple, b: CtTuple): boolean {
  if (a.proto !== b.proto || a.src !== b.src || a.dst !== b.dst || a.l3 !== b.l3) return false;
  if (a.sport !== undefined || b.sport !== undefined) return a.sport === b.sport && a.dport === b.dport;
  return a.icmpType === b.icmpType && (a.icmpType === undefined || (a.icmpCode === b.icmpCode && a.icmpId === b.icmpId));
}

/** The final avalanche of murmur3, folded into 30 bits. */
function finish(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 2;
}

export const conntrackCacheKey: CacheKey<Conntrack> = {
  hash: (ct) => finish(mix(tupleHash(FNV_OFFSET, ct.orig), ct.zone ?? 0)),
  same: (a, b) => sameTuple(a.orig, b.orig) && (a.zone ?? 0) === (b.zone ?? 0),
};

export const expectationCacheKey: CacheKey<Expectation> = {
  hash: (exp) => finish(tupleHash(tupleHash(FNV_OFFSET, exp.master), exp.tuple)),
  same: (a, b) => sameTuple(a.master, b.master) && sameTuple(a.tuple, b.tuple),
};
