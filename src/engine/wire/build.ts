/**
 * Encoder: conntrack and expectation objects into sync messages (conntrackd `build.c`,
 * shared/spec/conntrackd.md §1.5–1.8, §1.12). Messages are written into one reusable buffer;
 * the caller copies the bytes out (into a datagram batch) before building the next one.
 */
import type { Conntrack, CtTuple, Expectation } from '../model/conntrack.js';
import { IPPROTO, IPS } from '../model/conntrack.js';
import type { SyncConfig } from '../config/types.js';
import { NTA, NTA_EXP, NTA_HDR, HELPER_NAME_MAX, EXP_FN_MAX, LABELS_MAX, ntaAlign } from './attributes.js';
import { NETHDR_ACK_SIZ, NETHDR_SIZ, NET_T, writeHeader } from './nethdr.js';
import { writeIpv4, writeIpv6 } from '../model/address.js';

/** Sender-side options that change the wire (§1.7 items 4–5). */
export interface BuildOptions {
  /** NTA_TIMEOUT / NTA_EXP_TIMEOUT are sent only when the sender's CommitTimeout is unset. */
  sendTimeout: boolean;
  /** `Options { TCPWindowTracking on }`: also send the window scale factors. */
  tcpWindowTracking: boolean;
}

export function buildOptionsFrom(sync: Pick<SyncConfig, 'commitTimeout' | 'tcpWindowTracking'>): BuildOptions {
  return { sendTimeout: !sync.commitTimeout, tcpWindowTracking: sync.tcpWindowTracking };
}

/** Largest message the builder accepts (`nethdr.len` is 16 bits). */
const MAX_MESSAGE = 0xffff;

/** The NAT bits that let a NAT attribute be emitted (libnfct `nfct_getobjopt` helpers, §1.7 item 8). */
function natDone(status: number | undefined, bit: number): boolean {
  return status === undefined || (status & bit) !== 0;
}

/** The raw 16-bit l4 source of a tuple: the port, or the ICMP id (§1.7 item 8 quirk). */
function l4src(t: CtTuple): number | undefined {
  return t.sport ?? t.icmpId;
}

/** The raw 16-bit l4 destination: the port, or ICMP type/code as one network-order word. */
function l4dst(t: CtTuple): number | undefined {
  if (t.dport !== undefined) return t.dport;
  if (t.icmpType === undefined) return undefined;
  return (t.icmpType << 8) | (t.icmpCode ?? 0);
}

export class MessageBuilder {
  /** The last built message occupies `buf[0 .. length)`. */
  readonly buf: Buffer = Buffer.alloc(MAX_MESSAGE + 1024);
  private off = 0;
  private failed = false;

  constructor(public options: BuildOptions) {}

  /** 8-byte CTL message (ALIVE, or ALARM's malformed RESYNC quirk, §1.4). Returns its length. */
  control(flags: number, seq: number): number {
    writeHeader(this.buf, 0, NET_T.CTL, flags, NETHDR_SIZ, seq);
    return NETHDR_SIZ;
  }

  /** 16-byte CTL message with a seq range (ACK, NACK, RESYNC with 0/0). Returns its length. */
  controlRange(flags: number, seq: number, from: number, to: number): number {
    writeHeader(this.buf, 0, NET_T.CTL, flags, NETHDR_ACK_SIZ, seq);
    this.buf.writeUInt32BE(from >>> 0, 8);
    this.buf.writeUInt32BE(to >>> 0, 12);
    return NETHDR_ACK_SIZ;
  }

  /**
   * `ct2msg`: type is CT_NEW / CT_UPD / CT_DEL. Returns the message length, or 0 when the
   * object cannot be encoded (an address that is not valid text): count it as a send error.
   */
  conntrack(type: number, flags: number, seq: number, ct: Conntrack): number {
    this.begin();
    const o = ct.orig;
    this.tuple(o, NTA.IPV4, NTA.IPV6);
    this.u32(NTA.STATUS, ct.status ?? 0);
    this.u8(NTA.L4PROTO, o.proto);
    this.l4(ct);
    if (this.options.sendTimeout && ct.timeout !== undefined) this.u32(NTA.TIMEOUT, ct.timeout);
    if (ct.mark !== undefined) this.u32(NTA.MARK, ct.mark);
    const m = ct.master;
    if (m !== undefined) {
      this.tuple(m, NTA.MASTER_IPV4, NTA.MASTER_IPV6);
      this.u8(NTA.MASTER_L4PROTO, m.proto);
      if (m.sport !== undefined && m.dport !== undefined) this.ports(NTA.MASTER_PORT, m.sport, m.dport);
    }
    this.nat(ct);
    if (ct.seqAdjOrig !== undefined && ct.seqAdjRepl !== undefined) {
      const p = this.attr(NTA.NAT_SEQ_ADJ, 24);
      const a = ct.seqAdjOrig;
      const r = ct.seqAdjRepl;
      const b = this.buf;
      b.writeUInt32BE(a.correctionPos >>> 0, p);
      b.writeUInt32BE(a.offsetBefore >>> 0, p + 4);
      b.writeUInt32BE(a.offsetAfter >>> 0, p + 8);
      b.writeUInt32BE(r.correctionPos >>> 0, p + 12);
      b.writeUInt32BE(r.offsetBefore >>> 0, p + 16);
      b.writeUInt32BE(r.offsetAfter >>> 0, p + 20);
    }
    if (ct.helper !== undefined) this.str(NTA.HELPER_NAME, ct.helper, HELPER_NAME_MAX);
    if (ct.labels !== undefined) this.labels(ct.labels);
    const sp = ct.synproxy;
    if (sp !== undefined) {
      const p = this.attr(NTA.SYNPROXY, 12);
      this.buf.writeUInt32BE(sp.its >>> 0, p);
      this.buf.writeUInt32BE(sp.isn >>> 0, p + 4);
      this.buf.writeUInt32BE(sp.tsoff >>> 0, p + 8);
    }
    if (ct.zone !== undefined) this.u16(NTA.ZONE, ct.zone);
    return this.end(type, flags, seq);
  }

  /** `exp2msg`: type is EXP_NEW / EXP_UPD / EXP_DEL (§1.8 emission order). */
  expectation(type: number, flags: number, seq: number, exp: Expectation): number {
    this.begin();
    const m = exp.master;
    this.tuple(m, NTA_EXP.MASTER_IPV4, NTA_EXP.MASTER_IPV6);
    this.u8(NTA_EXP.MASTER_L4PROTO, m.proto);
    const ported = hasPorts(m.proto);
    if (ported) this.ports(NTA_EXP.MASTER_PORT, m.sport ?? 0, m.dport ?? 0);
    const t = exp.tuple;
    this.tuple(t, NTA_EXP.EXPECT_IPV4, NTA_EXP.EXPECT_IPV6);
    this.u8(NTA_EXP.EXPECT_L4PROTO, t.proto);
    if (ported) this.ports(NTA_EXP.EXPECT_PORT, t.sport ?? 0, t.dport ?? 0);
    const k = exp.mask;
    this.tuple(k, NTA_EXP.MASK_IPV4, NTA_EXP.MASK_IPV6);
    this.u8(NTA_EXP.MASK_L4PROTO, k.proto);
    if (ported) this.ports(NTA_EXP.MASK_PORT, k.sport ?? 0, k.dport ?? 0);
    if (this.options.sendTimeout && exp.timeout !== undefined) this.u32(NTA_EXP.TIMEOUT, exp.timeout);
    this.u32(NTA_EXP.FLAGS, exp.flags ?? 0);
    if (exp.class !== undefined) this.u32(NTA_EXP.CLASS, exp.class);
    const n = exp.natTuple;
    if (n !== undefined && n.l3 === 'ipv4') {
      const p = this.attr(NTA_EXP.NAT_IPV4, 8);
      if (!writeIpv4(this.buf, p, n.src) || !writeIpv4(this.buf, p + 4, n.dst)) this.failed = true;
      this.u8(NTA_EXP.NAT_L4PROTO, n.proto);
      this.ports(NTA_EXP.NAT_PORT, n.sport ?? 0, n.dport ?? 0);
      this.u32(NTA_EXP.NAT_DIR, exp.natDir ?? 0);
    }
    if (exp.helper !== undefined) this.str(NTA_EXP.HELPER_NAME, exp.helper, HELPER_NAME_MAX);
    if (exp.fn !== undefined) this.str(NTA_EXP.FN, exp.fn, EXP_FN_MAX);
    return this.end(type, flags, seq);
  }

  private begin(): void {
    this.off = NETHDR_SIZ;
    this.failed = false;
  }

  private end(type: number, flags: number, seq: number): number {
    if (this.failed || this.off > MAX_MESSAGE) return 0;
    writeHeader(this.buf, 0, type, flags, this.off, seq);
    return this.off;
  }

  /** Writes a TLV header and zeroes the padding; returns the payload offset. */
  private attr(id: number, size: number): number {
    const b = this.buf;
    const at = this.off;
    const len = NTA_HDR + size;
    b.writeUInt16BE(len, at);
    b.writeUInt16BE(id, at + 2);
    const padded = ntaAlign(len);
    for (let i = at + len; i < at + padded; i++) b[i] = 0;
    this.off = at + padded;
    return at + NTA_HDR;
  }

  private u8(id: number, v: number): void {
    this.buf[this.attr(id, 1)] = v;
  }

  private u16(id: number, v: number): void {
    this.buf.writeUInt16BE(v, this.attr(id, 2));
  }

  /** SPAT/DPAT/ICMP_ID: libnfct's network order swapped again by `htons` → LE on x86 (§1.12). */
  private u16le(id: number, v: number): void {
    this.buf.writeUInt16LE(v, this.attr(id, 2));
  }

  private u32(id: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, this.attr(id, 4));
  }

  private ports(id: number, sport: number, dport: number): void {
    const p = this.attr(id, 4);
    this.buf.writeUInt16BE(sport, p);
    this.buf.writeUInt16BE(dport, p + 2);
  }

  private tuple(t: CtTuple, id4: number, id6: number): void {
    if (t.l3 === 'ipv4') {
      const p = this.attr(id4, 8);
      if (!writeIpv4(this.buf, p, t.src) || !writeIpv4(this.buf, p + 4, t.dst)) this.failed = true;
    } else {
      const p = this.attr(id6, 32);
      if (!writeIpv6(this.buf, p, t.src) || !writeIpv6(this.buf, p + 16, t.dst)) this.failed = true;
    }
  }

  private addr(l3: 'ipv4' | 'ipv6', id4: number, id6: number, text: string): void {
    if (l3 === 'ipv4') {
      if (!writeIpv4(this.buf, this.attr(id4, 4), text)) this.failed = true;
    } else if (!writeIpv6(this.buf, this.attr(id6, 16), text)) {
      this.failed = true;
    }
  }

  /** Item 4 of §1.7: per-protocol attributes. */
  private l4(ct: Conntrack): void {
    const o = ct.orig;
    switch (o.proto) {
      case IPPROTO.TCP:
        this.ports(NTA.PORT, o.sport ?? 0, o.dport ?? 0);
        if (ct.tcp?.state !== undefined) {
          this.u8(NTA.TCP_STATE, ct.tcp.state);
          if (this.options.tcpWindowTracking) {
            this.u8(NTA.TCP_WSCALE_ORIG, ct.tcp.wscaleOrig ?? 0);
            this.u8(NTA.TCP_WSCALE_REPL, ct.tcp.wscaleRepl ?? 0);
          }
        }
        break;
      case IPPROTO.SCTP:
        this.ports(NTA.PORT, o.sport ?? 0, o.dport ?? 0);
        if (ct.sctp?.state !== undefined) {
          this.u8(NTA.SCTP_STATE, ct.sctp.state);
          this.u32(NTA.SCTP_VTAG_ORIG, ct.sctp.vtagOrig ?? 0);
          this.u32(NTA.SCTP_VTAG_REPL, ct.sctp.vtagRepl ?? 0);
        }
        break;
      case IPPROTO.DCCP:
        this.ports(NTA.PORT, o.sport ?? 0, o.dport ?? 0);
        if (ct.dccp?.state !== undefined) {
          this.u8(NTA.DCCP_STATE, ct.dccp.state);
          this.u8(NTA.DCCP_ROLE, ct.dccp.role ?? 0);
        }
        break;
      case IPPROTO.UDP:
        this.ports(NTA.PORT, o.sport ?? 0, o.dport ?? 0);
        break;
      case IPPROTO.ICMP:
      case IPPROTO.ICMPV6:
        if (o.icmpType !== undefined) {
          this.u8(NTA.ICMP_TYPE, o.icmpType);
          this.u8(NTA.ICMP_CODE, o.icmpCode ?? 0);
          this.u16le(NTA.ICMP_ID, o.icmpId ?? 0);
        }
        break;
      default:
        break; // UDPLITE, GRE, …: no l4 attributes at all
    }
  }

  /**
   * Item 8 of §1.7. A kernel entry carries its reply tuple: the NAT attributes are derived
   * from it as libnfct does. An object rebuilt from the wire has no reply tuple but the NAT
   * ranges it was sent with: those are re-emitted as received.
   */
  private nat(ct: Conntrack): void {
    const o = ct.orig;
    const r = ct.reply;
    const l3 = o.l3;
    if (r !== undefined) {
      const src = natDone(ct.status, IPS.SRC_NAT_DONE);
      const dst = natDone(ct.status, IPS.DST_NAT_DONE);
      if (src && r.dst !== o.src) this.addr(l3, NTA.SNAT_IPV4, NTA.SNAT_IPV6, r.dst);
      if (dst && r.src !== o.dst) this.addr(l3, NTA.DNAT_IPV4, NTA.DNAT_IPV6, r.src);
      const rd = l4dst(r);
      const rs = l4src(r);
      if (src && rd !== undefined && rd !== l4src(o)) this.u16le(NTA.SPAT_PORT, rd);
      if (dst && rs !== undefined && rs !== l4dst(o)) this.u16le(NTA.DPAT_PORT, rs);
      return;
    }
    const s = ct.snat;
    const d = ct.dnat;
    if (s !== undefined && s.addr !== o.src) this.addr(l3, NTA.SNAT_IPV4, NTA.SNAT_IPV6, s.addr);
    if (d !== undefined && d.addr !== o.dst) this.addr(l3, NTA.DNAT_IPV4, NTA.DNAT_IPV6, d.addr);
    if (s?.port !== undefined) this.u16le(NTA.SPAT_PORT, s.port);
    if (d?.port !== undefined) this.u16le(NTA.DPAT_PORT, d.port);
  }

  /** NUL-terminated string; a name the receiver would reject (§1.6 id 27) is not sent. */
  private str(id: number, s: string, max: number): void {
    const bytes = Buffer.byteLength(s);
    if (NTA_HDR + bytes + 1 > max) return;
    const p = this.attr(id, bytes + 1);
    this.buf.write(s, p, 'utf8');
    this.buf[p + bytes] = 0;
  }

  /** Label bitmap words; omitted when no bit is set (§1.6 id 28). */
  private labels(words: number[]): void {
    if (words.every((w) => w === 0) || NTA_HDR + 4 * words.length > LABELS_MAX) return;
    const p = this.attr(NTA.LABELS, 4 * words.length);
    for (let i = 0; i < words.length; i++) this.buf.writeUInt32BE(words[i]! >>> 0, p + 4 * i);
  }
}

/** Master protocols whose expectations carry port attributes (§1.8). */
function hasPorts(proto: number): boolean {
  return proto === IPPROTO.TCP || proto === IPPROTO.UDP || proto === IPPROTO.SCTP || proto === IPPROTO.DCCP;
}
