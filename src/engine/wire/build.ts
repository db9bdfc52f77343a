/**
 * Encoder: conntrack and expectation records into sync messages (conntrackd `build.c`,
 * shared/spec/conntrackd.md §1.5–1.8, §1.12). Entries come as record slots (kernel/record.ts,
 * as the caches and kernel events hold them): addresses are copied as the raw bytes they
 * are. Messages are written into one reusable buffer; the caller copies the bytes out (into a
 * datagram batch) before building the next one.
 */
import { IPPROTO, IPS } from '../model/conntrack.js';
import type { SyncConfig } from '../config/types.js';
import { CT, EXP, TUP_ICMP, TUP_PORTS, AF_INET, copyBytes, records, u16, u32, type RecordCodec } from '../kernel/record.js';
import { NTA, NTA_EXP, NTA_HDR, HELPER_NAME_MAX, EXP_FN_MAX, ntaAlign } from './attributes.js';
import { NETHDR_ACK_SIZ, NETHDR_SIZ, NET_T, writeHeader } from './nethdr.js';

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
/** No l4 value (a tuple without ports or ICMP fields). */
const NONE = -1;

export class MessageBuilder {
  /** The last built message occupies `buf[0 .. length)`. */
  readonly buf: Buffer = Buffer.alloc(MAX_MESSAGE + 1024);
  private off = 0;
  private readonly R: RecordCodec = records();

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

  /** `ct2msg` of the conntrack slot at `rec[o]`: type is CT_NEW / CT_UPD / CT_DEL. Returns the message length. */
  conntrack(type: number, flags: number, seq: number, rec: Buffer, o: number): number {
    const C = this.R.L.ct;
    const T = this.R.L.tuple;
    const p = this.R.present(rec, o);
    const orig = o + C.orig;
    this.begin();
    this.tuple(rec, orig, NTA.IPV4, NTA.IPV6);
    this.u32(NTA.STATUS, p & CT.STATUS ? u32(rec, o + C.status) : 0);
    this.u8(NTA.L4PROTO, rec[orig + T.proto]!);
    this.l4(rec, o, p);
    if (this.options.sendTimeout && p & CT.TIMEOUT) this.u32(NTA.TIMEOUT, u32(rec, o + C.timeout));
    if (p & CT.MARK) this.u32(NTA.MARK, u32(rec, o + C.mark));
    if (p & CT.MASTER) {
      const m = o + C.master;
      this.tuple(rec, m, NTA.MASTER_IPV4, NTA.MASTER_IPV6);
      this.u8(NTA.MASTER_L4PROTO, rec[m + T.proto]!);
      if (rec[m + T.flags]! & TUP_PORTS) this.ports(NTA.MASTER_PORT, u16(rec, m + T.sport), u16(rec, m + T.dport));
    }
    this.nat(rec, o, p);
    if ((p & (CT.SEQADJ_ORIG | CT.SEQADJ_REPL)) === (CT.SEQADJ_ORIG | CT.SEQADJ_REPL)) {
      const at = this.attr(NTA.NAT_SEQ_ADJ, 24);
      for (let i = 0; i < 3; i++) {
        this.buf.writeUInt32BE(u32(rec, o + C.seqadj_orig + 4 * i), at + 4 * i);
        this.buf.writeUInt32BE(u32(rec, o + C.seqadj_repl + 4 * i), at + 12 + 4 * i);
      }
    }
    if (p & CT.HELPER) this.str(NTA.HELPER_NAME, rec, o + C.helper, 16, HELPER_NAME_MAX);
    if (p & CT.LABELS) this.labels(rec, o + C.labels);
    if (p & CT.SYNPROXY) {
      // slot: isn, its, tsoff; wire: its, isn, tsoff
      const at = this.attr(NTA.SYNPROXY, 12);
      this.buf.writeUInt32BE(u32(rec, o + C.synproxy + 4), at);
      this.buf.writeUInt32BE(u32(rec, o + C.synproxy), at + 4);
      this.buf.writeUInt32BE(u32(rec, o + C.synproxy + 8), at + 8);
    }
    if (p & CT.ZONE) this.u16(NTA.ZONE, u16(rec, o + C.zone));
    return this.end(type, flags, seq);
  }

  /** `exp2msg` of the expectation slot at `rec[o]`: EXP_NEW / EXP_UPD / EXP_DEL (§1.8 emission order). */
  expectation(type: number, flags: number, seq: number, rec: Buffer, o: number): number {
    const E = this.R.L.exp;
    const T = this.R.L.tuple;
    const p = this.R.present(rec, o);
    this.begin();
    const ported = hasPorts(rec[o + E.master + T.proto]!);
    this.expTuple(rec, o + E.master, NTA_EXP.MASTER_IPV4, NTA_EXP.MASTER_IPV6, NTA_EXP.MASTER_L4PROTO, ported ? NTA_EXP.MASTER_PORT : NONE);
    this.expTuple(rec, o + E.tuple, NTA_EXP.EXPECT_IPV4, NTA_EXP.EXPECT_IPV6, NTA_EXP.EXPECT_L4PROTO, ported ? NTA_EXP.EXPECT_PORT : NONE);
    this.expTuple(rec, o + E.mask, NTA_EXP.MASK_IPV4, NTA_EXP.MASK_IPV6, NTA_EXP.MASK_L4PROTO, ported ? NTA_EXP.MASK_PORT : NONE);
    if (this.options.sendTimeout && p & EXP.TIMEOUT) this.u32(NTA_EXP.TIMEOUT, u32(rec, o + E.timeout));
    this.u32(NTA_EXP.FLAGS, p & EXP.FLAGS ? u32(rec, o + E.flags) : 0);
    if (p & EXP.CLASS) this.u32(NTA_EXP.CLASS, u32(rec, o + E.klass));
    const n = o + E.nat_tuple;
    if (p & EXP.NAT && rec[n + T.family] === AF_INET) {
      const at = this.attr(NTA_EXP.NAT_IPV4, 8);
      copyBytes(rec, n + T.src, this.buf, at, 4);
      copyBytes(rec, n + T.dst, this.buf, at + 4, 4);
      this.u8(NTA_EXP.NAT_L4PROTO, rec[n + T.proto]!);
      this.ports(NTA_EXP.NAT_PORT, u16(rec, n + T.sport), u16(rec, n + T.dport));
      this.u32(NTA_EXP.NAT_DIR, u32(rec, o + E.nat_dir));
    }
    if (p & EXP.HELPER) this.str(NTA_EXP.HELPER_NAME, rec, o + E.helper, 16, HELPER_NAME_MAX);
    if (p & EXP.FN) this.str(NTA_EXP.FN, rec, o + E.fn, 32, EXP_FN_MAX);
    return this.end(type, flags, seq);
  }

  private begin(): void {
    this.off = NETHDR_SIZ;
  }

  private end(type: number, flags: number, seq: number): number {
    if (this.off > MAX_MESSAGE) return 0;
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

  /** The addresses of the tuple at `rec[t]`, as the IPv4 or the IPv6 attribute. */
  private tuple(rec: Buffer, t: number, id4: number, id6: number): void {
    const T = this.R.L.tuple;
    const n = rec[t + T.family] === AF_INET ? 4 : 16;
    const at = this.attr(n === 4 ? id4 : id6, 2 * n);
    copyBytes(rec, t + T.src, this.buf, at, n);
    copyBytes(rec, t + T.dst, this.buf, at + n, n);
  }

  /** A tuple of an expectation: addresses, l4 protocol and, for ported masters, the ports (0 when absent). */
  private expTuple(rec: Buffer, t: number, id4: number, id6: number, idProto: number, idPort: number): void {
    const T = this.R.L.tuple;
    this.tuple(rec, t, id4, id6);
    this.u8(idProto, rec[t + T.proto]!);
    if (idPort !== NONE) this.ports(idPort, portsOf(rec, t, T.sport, T.flags), portsOf(rec, t, T.dport, T.flags));
  }

  private addr(rec: Buffer, at: number, v4: boolean, id4: number, id6: number): void {
    const n = v4 ? 4 : 16;
    copyBytes(rec, at, this.buf, this.attr(v4 ? id4 : id6, n), n);
  }

  /** Item 4 of §1.7: per-protocol attributes. */
  private l4(rec: Buffer, o: number, p: number): void {
    const C = this.R.L.ct;
    const T = this.R.L.tuple;
    const t = o + C.orig;
    const sport = portsOf(rec, t, T.sport, T.flags);
    const dport = portsOf(rec, t, T.dport, T.flags);
    switch (rec[t + T.proto]) {
      case IPPROTO.TCP:
        this.ports(NTA.PORT, sport, dport);
        if (p & CT.TCP_STATE) {
          this.u8(NTA.TCP_STATE, rec[o + C.tcp_state]!);
          if (this.options.tcpWindowTracking) {
            const ws = (p & CT.TCP_WSCALE) !== 0;
            this.u8(NTA.TCP_WSCALE_ORIG, ws ? rec[o + C.tcp_wscale_orig]! : 0);
            this.u8(NTA.TCP_WSCALE_REPL, ws ? rec[o + C.tcp_wscale_repl]! : 0);
          }
        }
        break;
      case IPPROTO.SCTP:
        this.ports(NTA.PORT, sport, dport);
        if (p & CT.SCTP_STATE) {
          const vt = (p & CT.SCTP_VTAG) !== 0;
          this.u8(NTA.SCTP_STATE, rec[o + C.sctp_state]!);
          this.u32(NTA.SCTP_VTAG_ORIG, vt ? u32(rec, o + C.sctp_vtag_orig) : 0);
          this.u32(NTA.SCTP_VTAG_REPL, vt ? u32(rec, o + C.sctp_vtag_repl) : 0);
        }
        break;
      case IPPROTO.DCCP:
        this.ports(NTA.PORT, sport, dport);
        if (p & CT.DCCP_STATE) {
          this.u8(NTA.DCCP_STATE, rec[o + C.dccp_state]!);
          this.u8(NTA.DCCP_ROLE, p & CT.DCCP_ROLE ? rec[o + C.dccp_role]! : 0);
        }
        break;
      case IPPROTO.UDP:
        this.ports(NTA.PORT, sport, dport);
        break;
      case IPPROTO.ICMP:
      case IPPROTO.ICMPV6:
        if (rec[t + T.flags]! & TUP_ICMP) {
          this.u8(NTA.ICMP_TYPE, rec[t + T.icmp_type]!);
          this.u8(NTA.ICMP_CODE, rec[t + T.icmp_code]!);
          this.u16le(NTA.ICMP_ID, u16(rec, t + T.icmp_id));
        }
        break;
      default:
        break; // UDPLITE, GRE, …: no l4 attributes at all
    }
  }

  /**
   * Item 8 of §1.7. A kernel entry carries its reply tuple: the NAT attributes are derived
   * from it as libnfct does. An entry rebuilt from the wire has no reply tuple but the NAT
   * ranges it was sent with: those are re-emitted as received.
   */
  private nat(rec: Buffer, o: number, p: number): void {
    const C = this.R.L.ct;
    const T = this.R.L.tuple;
    const N = this.R.L.nat;
    const orig = o + C.orig;
    const v4 = rec[orig + T.family] === AF_INET;
    const n = v4 ? 4 : 16;
    if (p & CT.REPLY) {
      const r = o + C.reply;
      const status = p & CT.STATUS ? u32(rec, o + C.status) : undefined;
      const src = natDone(status, IPS.SRC_NAT_DONE);
      const dst = natDone(status, IPS.DST_NAT_DONE);
      if (src && !sameBytes(rec, r + T.dst, orig + T.src, n)) this.addr(rec, r + T.dst, v4, NTA.SNAT_IPV4, NTA.SNAT_IPV6);
      if (dst && !sameBytes(rec, r + T.src, orig + T.dst, n)) this.addr(rec, r + T.src, v4, NTA.DNAT_IPV4, NTA.DNAT_IPV6);
      const rd = l4dst(rec, r, this.R);
      const rs = l4src(rec, r, this.R);
      if (src && rd !== NONE && rd !== l4src(rec, orig, this.R)) this.u16le(NTA.SPAT_PORT, rd);
      if (dst && rs !== NONE && rs !== l4dst(rec, orig, this.R)) this.u16le(NTA.DPAT_PORT, rs);
      return;
    }
    const s = o + C.snat;
    const d = o + C.dnat;
    if (p & CT.SNAT && !sameBytes(rec, s + N.addr, orig + T.src, n)) this.addr(rec, s + N.addr, v4, NTA.SNAT_IPV4, NTA.SNAT_IPV6);
    if (p & CT.DNAT && !sameBytes(rec, d + N.addr, orig + T.dst, n)) this.addr(rec, d + N.addr, v4, NTA.DNAT_IPV4, NTA.DNAT_IPV6);
    if (p & CT.SNAT && rec[s + N.has_port]) this.u16le(NTA.SPAT_PORT, u16(rec, s + N.port));
    if (p & CT.DNAT && rec[d + N.has_port]) this.u16le(NTA.DPAT_PORT, u16(rec, d + N.port));
  }

  /** NUL-terminated string of the slot's char field; a name the receiver would reject (§1.6 id 27) is not sent. */
  private str(id: number, rec: Buffer, at: number, room: number, max: number): void {
    let bytes = 0;
    while (bytes < room && rec[at + bytes] !== 0) bytes++;
    if (NTA_HDR + bytes + 1 > max) return;
    const p = this.attr(id, bytes + 1);
    copyBytes(rec, at, this.buf, p, bytes);
    this.buf[p + bytes] = 0;
  }

  /** Label bitmap words (the slot's four; the slot holds labels only when a bit is set, §1.6 id 28). */
  private labels(rec: Buffer, at: number): void {
    const p = this.attr(NTA.LABELS, 16);
    for (let i = 0; i < 4; i++) this.buf.writeUInt32BE(u32(rec, at + 4 * i), p + 4 * i);
  }
}

/** The NAT bits that let a NAT attribute be emitted (libnfct `nfct_getobjopt` helpers, §1.7 item 8). */
function natDone(status: number | undefined, bit: number): boolean {
  return status === undefined || (status & bit) !== 0;
}

/** A port of the tuple at `rec[t]` (field offset `at`), 0 when the tuple has none. */
function portsOf(rec: Buffer, t: number, at: number, flagsAt: number): number {
  return rec[t + flagsAt]! & TUP_PORTS ? u16(rec, t + at) : 0;
}

/** The raw 16-bit l4 source of a tuple: the port, or the ICMP id (§1.7 item 8 quirk); NONE without either. */
function l4src(rec: Buffer, t: number, R: RecordCodec): number {
  const T = R.L.tuple;
  const f = rec[t + T.flags]!;
  if (f & TUP_PORTS) return u16(rec, t + T.sport);
  return f & TUP_ICMP ? u16(rec, t + T.icmp_id) : NONE;
}

/** The raw 16-bit l4 destination: the port, or ICMP type/code as one network-order word. */
function l4dst(rec: Buffer, t: number, R: RecordCodec): number {
  const T = R.L.tuple;
  const f = rec[t + T.flags]!;
  if (f & TUP_PORTS) return u16(rec, t + T.dport);
  return f & TUP_ICMP ? (rec[t + T.icmp_type]! << 8) | rec[t + T.icmp_code]! : NONE;
}

function sameBytes(buf: Buffer, a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

/** Master protocols whose expectations carry port attributes (§1.8). */
function hasPorts(proto: number): boolean {
  return proto === IPPROTO.TCP || proto === IPPROTO.UDP || proto === IPPROTO.SCTP || proto === IPPROTO.DCCP;
}
