/**
 * Tuple arithmetic both kernel tables share: the reply tuple the kernel derives from orig and
 * the NAT ranges, the NAT ranges read back from a reply tuple (spec §1.7 step 8, §1.11), and
 * lookup keys.
 */
import { IPPROTO, IPS, type Conntrack, type CtTuple, type NatRange } from '../model/conntrack.js';

/** ICMP(v6) types whose reply direction has another type (the kernel's invert_tuple). */
const ICMP_REPLY: Record<number, number> = { 8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17 };
const ICMPV6_REPLY: Record<number, number> = { 128: 129, 129: 128, 139: 140, 140: 139 };

/** The reply direction of `t` without NAT. */
export function mirrorTuple(t: CtTuple): CtTuple {
  const r: CtTuple = { l3: t.l3, src: t.dst, dst: t.src, proto: t.proto };
  if (t.sport !== undefined && t.dport !== undefined) {
    r.sport = t.dport;
    r.dport = t.sport;
  }
  if (t.icmpType !== undefined) {
    const map = t.proto === IPPROTO.ICMPV6 ? ICMPV6_REPLY : ICMP_REPLY;
    r.icmpType = map[t.icmpType] ?? t.icmpType;
    r.icmpCode = t.icmpCode ?? 0;
    r.icmpId = t.icmpId ?? 0;
  }
  return r;
}

/** The reply tuple the kernel builds for a created entry: the mirror of orig, rewritten by NAT. */
export function replyWithNat(ct: Conntrack): CtTuple {
  const r = mirrorTuple(ct.orig);
  if (ct.snat) {
    r.dst = ct.snat.addr;
    if (ct.snat.port !== undefined && r.dport !== undefined) r.dport = ct.snat.port;
  }
  if (ct.dnat) {
    r.src = ct.dnat.addr;
    if (ct.dnat.port !== undefined && r.sport !== undefined) r.sport = ct.dnat.port;
  }
  return r;
}

/** NAT status bits the kernel sets for the NAT ranges of a created entry. */
export function natStatus(ct: Conntrack): number {
  return (ct.snat ? IPS.SRC_NAT | IPS.SRC_NAT_DONE : 0) | (ct.dnat ? IPS.DST_NAT | IPS.DST_NAT_DONE : 0);
}

/** Fills snat/dnat of a kernel entry from its reply tuple (what a sender puts on the wire). */
export function natFromReply(ct: Conntrack): void {
  const { orig, reply } = ct;
  if (!reply || ct.status === undefined) return;
  if (ct.status & IPS.SRC_NAT) {
    const snat: NatRange = { addr: reply.dst };
    if (reply.dport !== undefined && reply.dport !== orig.sport) snat.port = reply.dport;
    ct.snat = snat;
  }
  if (ct.status & IPS.DST_NAT) {
    const dnat: NatRange = { addr: reply.src };
    if (reply.sport !== undefined && reply.sport !== orig.dport) dnat.port = reply.sport;
    ct.dnat = dnat;
  }
}

/** A map key for a tuple in a zone. */
export function tupleKey(t: CtTuple, zone = 0): string {
  return `${zone}|${t.l3}|${t.proto}|${t.src}|${t.dst}|${t.sport ?? ''}|${t.dport ?? ''}|${t.icmpType ?? ''}|${t.icmpCode ?? ''}|${t.icmpId ?? ''}`;
}
