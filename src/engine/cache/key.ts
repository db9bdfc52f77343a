/**
 * Cache keys (shared/spec/conntrackd.md §3.1): conntrackd hashes l3/l4 protocol, orig
 * addresses, orig ports (or ICMP type/code/id) and zone, and compares the same fields.
 *
 * The caches look their record slots up by a 30-bit hash of those fields' bytes and compare
 * the bytes on a hit (`CacheKey`): no key string is built per event. The string forms remain
 * for sets of keys outside the caches.
 */
import type { Conntrack, CtTuple, Expectation } from '../model/conntrack.js';
import { AF_INET, CT, TUP_ICMP, TUP_PORTS, records, u16, u32 } from '../kernel/record.js';

/** How a cache finds its entries in record slots: equal keys have equal hashes. */
export interface CacheKey {
  /** 0 ≤ hash < 2^30: a small integer wherever V8 runs. */
  hash(rec: Buffer, o: number): number;
  same(a: Buffer, ao: number, b: Buffer, bo: number): boolean;
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

// murmur3 (x86, 32-bit) over 32-bit words. Each word is scrambled and the state rotated, so
// bits that differ only in a word's high half (an address's last octet, a port) still reach
// every bit of the hash: a multiply-only mix (FNV over words) loses them to collisions.
const SEED = 0x811c9dc5;

function mix(h: number, v: number): number {
  let k = Math.imul(v, 0xcc9e2d51);
  k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The final avalanche of murmur3, folded into 30 bits. */
function finish(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 2;
}

/**
 * The tuple at `rec[t]` as a key: family, protocol, addresses, and the ports or else the ICMP
 * type/code/id (the two are never compared with each other).
 */
class TupleKey {
  private readonly R = records();

  hash(h: number, rec: Buffer, t: number): number {
    const T = this.R.L.tuple;
    const family = rec[t + T.family]!;
    h = mix(h, (family << 8) | rec[t + T.proto]!);
    const n = family === AF_INET ? 4 : 16;
    for (let i = 0; i < n; i += 4) h = mix(mix(h, u32(rec, t + T.src + i)), u32(rec, t + T.dst + i));
    const f = rec[t + T.flags]!;
    if (f & TUP_PORTS) return mix(h, (u16(rec, t + T.sport) << 16) | u16(rec, t + T.dport));
    if (f & TUP_ICMP) return mix(mix(h, 0x1000000 | (rec[t + T.icmp_type]! << 16) | rec[t + T.icmp_code]!), u16(rec, t + T.icmp_id));
    return h;
  }

  same(a: Buffer, at: number, b: Buffer, bt: number): boolean {
    const T = this.R.L.tuple;
    const family = a[at + T.family];
    if (family !== b[bt + T.family] || a[at + T.proto] !== b[bt + T.proto]) return false;
    const fa = a[at + T.flags]!;
    const fb = b[bt + T.flags]!;
    if ((fa | fb) & TUP_PORTS) {
      if (!(fa & fb & TUP_PORTS) || u16(a, at + T.sport) !== u16(b, bt + T.sport) || u16(a, at + T.dport) !== u16(b, bt + T.dport)) return false;
    } else if ((fa & TUP_ICMP) !== (fb & TUP_ICMP)) {
      return false;
    } else if (fa & TUP_ICMP) {
      if (a[at + T.icmp_type] !== b[bt + T.icmp_type] || a[at + T.icmp_code] !== b[bt + T.icmp_code] || u16(a, at + T.icmp_id) !== u16(b, bt + T.icmp_id)) return false;
    }
    const n = family === AF_INET ? 4 : 16;
    for (let i = 0; i < n; i++) {
      if (a[at + T.src + i] !== b[bt + T.src + i] || a[at + T.dst + i] !== b[bt + T.dst + i]) return false;
    }
    return true;
  }
}

const tuples = new TupleKey();

/** The zone of a conntrack slot (0 when absent, as the kernel omits zone 0). */
function zoneOf(rec: Buffer, o: number): number {
  const R = records();
  return R.present(rec, o) & CT.ZONE ? u16(rec, o + R.L.ct.zone) : 0;
}

/** Conntracks: the orig tuple and the zone. */
export const conntrackCacheKey: CacheKey = {
  hash: (rec, o) => finish(mix(tuples.hash(SEED, rec, o + records().L.ct.orig), zoneOf(rec, o))),
  same: (a, ao, b, bo) => {
    const orig = records().L.ct.orig;
    return tuples.same(a, ao + orig, b, bo + orig) && zoneOf(a, ao) === zoneOf(b, bo);
  },
};

/** Expectations: the master tuple and the expected tuple (`nfexp_cmp`). */
export const expectationCacheKey: CacheKey = {
  hash: (rec, o) => {
    const E = records().L.exp;
    return finish(tuples.hash(tuples.hash(SEED, rec, o + E.master), rec, o + E.tuple));
  },
  same: (a, ao, b, bo) => {
    const E = records().L.exp;
    return tuples.same(a, ao + E.master, b, bo + E.master) && tuples.same(a, ao + E.tuple, b, bo + E.tuple);
  },
};
