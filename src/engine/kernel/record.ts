/**
 * The engine's binary form of a conntrack entry or an expectation: the addon's fixed-size
 * record slots (native/src/record.h; offsets come from the addon's `layout`, presence bits
 * mirror CtBit/ExpBit there). Kernel events arrive as slots, the caches keep their entries as
 * slots, and the wire codec reads and writes slots: an entry becomes a model object only where
 * one is shown or handled one at a time. This module packs and unpacks model objects; the
 * hot paths read slots through `records()` and the host-order readers below.
 */
import { endianness } from 'node:os';
import {
  synproxyOf, type Conntrack, type CtEvent, type CtEventType, type CtTuple, type ExpEvent, type Expectation, type L3,
  type NatRange, type SeqAdjDir, type Synproxy, type TcpInfo,
} from '../model/conntrack.js';
import { loadAddon, type RecordLayout } from './addon.js';
import { readAddress, writeAddress } from '../model/address.js';
import { natFromReply } from './tuples.js';

const LE = endianness() === 'LE';
export const AF_INET = 2;
export const AF_INET6 = 10;
/** TupleFlag of record.h. */
export const TUP_PORTS = 1;
export const TUP_ICMP = 2;

/** CtBit of record.h. */
export const CT = {
  ORIG: 1 << 0, REPLY: 1 << 1, MASTER: 1 << 2, STATUS: 1 << 3, TIMEOUT: 1 << 4, MARK: 1 << 5, ZONE: 1 << 6,
  TCP_STATE: 1 << 7, TCP_WSCALE: 1 << 8, TCP_FLAGS: 1 << 9, SCTP_STATE: 1 << 10, SCTP_VTAG: 1 << 11,
  DCCP_STATE: 1 << 12, DCCP_ROLE: 1 << 13, SNAT: 1 << 14, DNAT: 1 << 15, SEQADJ_ORIG: 1 << 16,
  SEQADJ_REPL: 1 << 17, HELPER: 1 << 18, LABELS: 1 << 19, SYNPROXY: 1 << 20, ID: 1 << 21, USE: 1 << 22,
  SECMARK: 1 << 23, COUNTERS: 1 << 24,
} as const;

/** ExpBit of record.h. */
export const EXP = {
  MASTER: 1 << 0, TUPLE: 1 << 1, MASK: 1 << 2, TIMEOUT: 1 << 3, FLAGS: 1 << 4, CLASS: 1 << 5, NAT: 1 << 6,
  HELPER: 1 << 7, FN: 1 << 8, ZONE: 1 << 9, ID: 1 << 10,
} as const;

const TCP_ALL = CT.TCP_STATE | CT.TCP_WSCALE | CT.TCP_FLAGS;

export const KIND_CT = 1;
export const KIND_EXP = 2;
const EVENT_TYPES: readonly (CtEventType | undefined)[] = [undefined, 'new', 'update', 'destroy'];
/** EventType of record.h by event name. */
const EVENT_CODES: Readonly<Record<CtEventType, number>> = { new: 1, update: 2, destroy: 3 };

let shared: RecordCodec | undefined;

/** The codec of this build's slot layout (loads the addon on first use). */
export function records(): RecordCodec {
  return (shared ??= new RecordCodec(loadAddon().layout));
}

export class RecordCodec {
  readonly slot: number;
  /** Bytes of a TupleRec (up to the end of its two 16-byte addresses). */
  readonly tupleSize: number;

  constructor(readonly L: RecordLayout) {
    this.slot = L.slot;
    this.tupleSize = L.tuple.dst + 16;
  }

  /** A zeroed buffer of `n` slots. */
  alloc(n: number): Buffer {
    return Buffer.alloc(n * this.slot);
  }

  present(buf: Buffer, o: number): number {
    return u32(buf, o + this.L.head.present);
  }

  /** A batch of event slots as model events (tests, tools; the engine reads the slots). */
  events(buf: Buffer, count: number): { cts: CtEvent[]; exps: ExpEvent[] } {
    const cts: CtEvent[] = [];
    const exps: ExpEvent[] = [];
    for (let i = 0, o = 0; i < count; i++, o += this.slot) {
      const type = this.event(buf, o)!;
      const portId = this.portId(buf, o);
      if (this.kind(buf, o) === KIND_CT) cts.push({ type, ct: this.decodeCt(buf, o), portId });
      else exps.push({ type, exp: this.unpackExp(buf, o), portId });
    }
    return { cts, exps };
  }

  kind(buf: Buffer, o: number): number {
    return buf[o + this.L.head.kind]!;
  }

  event(buf: Buffer, o: number): CtEventType | undefined {
    return EVENT_TYPES[buf[o + this.L.head.event]!];
  }

  portId(buf: Buffer, o: number): number {
    return u32(buf, o + this.L.head.port_id);
  }

  /** Marks the slot as an event of `type` requested by `portId` (as the addon's reader does). */
  markEvent(buf: Buffer, o: number, type: CtEventType, portId: number): void {
    buf[o + this.L.head.event] = EVENT_CODES[type];
    w32(buf, o + this.L.head.port_id, portId);
  }

  /**
   * Packs into a zeroed slot. False when an address is not valid text of its family (the
   * slot then holds zeros there).
   */
  packCt(ct: Conntrack, buf: Buffer, o: number): boolean {
    const L = this.L.ct;
    let p = CT.ORIG;
    let ok = this.packTuple(ct.orig, buf, o + L.orig);
    if (ct.reply) {
      p |= CT.REPLY;
      ok = this.packTuple(ct.reply, buf, o + L.reply) && ok;
    }
    if (ct.master) {
      p |= CT.MASTER;
      ok = this.packTuple(ct.master, buf, o + L.master) && ok;
    }
    if (ct.status !== undefined) { p |= CT.STATUS; w32(buf, o + L.status, ct.status); }
    if (ct.timeout !== undefined) { p |= CT.TIMEOUT; w32(buf, o + L.timeout, ct.timeout); }
    if (ct.mark !== undefined) { p |= CT.MARK; w32(buf, o + L.mark, ct.mark); }
    if (ct.zone !== undefined) { p |= CT.ZONE; w16(buf, o + L.zone, ct.zone); }
    const tcp = ct.tcp;
    if (tcp) {
      if (tcp.state !== undefined) { p |= CT.TCP_STATE; buf[o + L.tcp_state] = tcp.state; }
      if (tcp.wscaleOrig !== undefined && tcp.wscaleRepl !== undefined) {
        p |= CT.TCP_WSCALE;
        buf[o + L.tcp_wscale_orig] = tcp.wscaleOrig;
        buf[o + L.tcp_wscale_repl] = tcp.wscaleRepl;
      }
      if (tcp.flagsOrig !== undefined || tcp.flagsRepl !== undefined) {
        p |= CT.TCP_FLAGS;
        buf[o + L.tcp_flags_orig] = tcp.flagsOrig ?? 0;
        buf[o + L.tcp_flags_repl] = tcp.flagsRepl ?? 0;
      }
    }
    if (ct.sctp?.state !== undefined) {
      p |= CT.SCTP_STATE;
      buf[o + L.sctp_state] = ct.sctp.state;
      // The kernel takes the state only together with both vtags (0 when unknown).
      w32(buf, o + L.sctp_vtag_orig, ct.sctp.vtagOrig ?? 0);
      w32(buf, o + L.sctp_vtag_repl, ct.sctp.vtagRepl ?? 0);
      if (ct.sctp.vtagOrig !== undefined && ct.sctp.vtagRepl !== undefined) p |= CT.SCTP_VTAG;
    }
    if (ct.dccp?.state !== undefined) { p |= CT.DCCP_STATE; buf[o + L.dccp_state] = ct.dccp.state; }
    if (ct.dccp?.role !== undefined) { p |= CT.DCCP_ROLE; buf[o + L.dccp_role] = ct.dccp.role; }
    if (ct.snat) { p |= CT.SNAT; ok = this.packNat(ct.orig.l3, ct.snat, buf, o + L.snat) && ok; }
    if (ct.dnat) { p |= CT.DNAT; ok = this.packNat(ct.orig.l3, ct.dnat, buf, o + L.dnat) && ok; }
    if (ct.seqAdjOrig) { p |= CT.SEQADJ_ORIG; packSeqAdj(ct.seqAdjOrig, buf, o + L.seqadj_orig); }
    if (ct.seqAdjRepl) { p |= CT.SEQADJ_REPL; packSeqAdj(ct.seqAdjRepl, buf, o + L.seqadj_repl); }
    if (ct.helper !== undefined) {
      p |= CT.HELPER;
      buf.write(ct.helper.slice(0, 15), o + L.helper, 'latin1');
    }
    if (ct.labels && ct.labels.some((w) => w !== 0)) {
      p |= CT.LABELS;
      for (let i = 0; i < 4; i++) w32(buf, o + L.labels + 4 * i, ct.labels[i] ?? 0);
    }
    if (ct.synproxy) {
      p |= CT.SYNPROXY;
      w32(buf, o + L.synproxy, ct.synproxy.isn);
      w32(buf, o + L.synproxy + 4, ct.synproxy.its);
      w32(buf, o + L.synproxy + 8, ct.synproxy.tsoff);
    }
    w32(buf, o + this.L.head.present, p);
    buf[o + this.L.head.kind] = KIND_CT;
    return ok;
  }

  /** The entry as the engine shows it: NAT ranges read from the reply tuple where there is one. */
  decodeCt(buf: Buffer, o: number): Conntrack {
    const ct = this.unpackCt(buf, o);
    natFromReply(ct);
    return ct;
  }

  unpackCt(buf: Buffer, o: number): Conntrack {
    const L = this.L.ct;
    const p = u32(buf, o + this.L.head.present);
    const orig = this.unpackTuple(buf, o + L.orig);
    // The fields kernel events and dumps carry, in one literal: they stay in the object instead
    // of a property array grown field by field (an absent one is undefined, as if not there).
    const ct: Conntrack = {
      orig,
      reply: p & CT.REPLY ? this.unpackTuple(buf, o + L.reply, orig, o + L.orig) : undefined,
      status: p & CT.STATUS ? u32(buf, o + L.status) : undefined,
      timeout: p & CT.TIMEOUT ? u32(buf, o + L.timeout) : undefined,
      mark: p & CT.MARK ? u32(buf, o + L.mark) : undefined,
      tcp: this.unpackTcp(buf, o, p),
      synproxy: p & CT.SYNPROXY ? this.unpackSynproxy(buf, o) : undefined,
      id: p & CT.ID ? u32(buf, o + L.id) : undefined,
    };
    if (p & CT.ZONE) ct.zone = u16(buf, o + L.zone);
    if (p & (CT.SCTP_STATE | CT.SCTP_VTAG)) {
      ct.sctp = {};
      if (p & CT.SCTP_STATE) ct.sctp.state = buf[o + L.sctp_state]!;
      if (p & CT.SCTP_VTAG) {
        ct.sctp.vtagOrig = u32(buf, o + L.sctp_vtag_orig);
        ct.sctp.vtagRepl = u32(buf, o + L.sctp_vtag_repl);
      }
    }
    if (p & (CT.DCCP_STATE | CT.DCCP_ROLE)) {
      ct.dccp = {};
      if (p & CT.DCCP_STATE) ct.dccp.state = buf[o + L.dccp_state]!;
      if (p & CT.DCCP_ROLE) ct.dccp.role = buf[o + L.dccp_role]!;
    }
    if (p & CT.SNAT) ct.snat = this.unpackNat(buf, o + L.snat, orig.l3);
    if (p & CT.DNAT) ct.dnat = this.unpackNat(buf, o + L.dnat, orig.l3);
    if (p & CT.SEQADJ_ORIG) ct.seqAdjOrig = unpackSeqAdj(buf, o + L.seqadj_orig);
    if (p & CT.SEQADJ_REPL) ct.seqAdjRepl = unpackSeqAdj(buf, o + L.seqadj_repl);
    if (p & CT.HELPER) ct.helper = cstring(buf, o + L.helper, 16);
    if (p & CT.LABELS) ct.labels = [0, 1, 2, 3].map((i) => u32(buf, o + L.labels + 4 * i));
    if (p & CT.MASTER) ct.master = this.unpackTuple(buf, o + L.master);
    if (p & CT.USE) ct.use = u32(buf, o + L.use);
    if (p & CT.SECMARK) ct.secmark = u32(buf, o + L.secmark);
    if (p & CT.COUNTERS) {
      const c = o + L.counters;
      ct.counters = { origPackets: u64(buf, c), origBytes: u64(buf, c + 8), replyPackets: u64(buf, c + 16), replyBytes: u64(buf, c + 24) };
    }
    return ct;
  }

  private unpackTcp(buf: Buffer, o: number, p: number): TcpInfo | undefined {
    const L = this.L.ct;
    if ((p & (CT.TCP_STATE | CT.TCP_WSCALE | CT.TCP_FLAGS)) === 0) return undefined;
    if ((p & TCP_ALL) === TCP_ALL) {
      return {
        state: buf[o + L.tcp_state]!,
        wscaleOrig: buf[o + L.tcp_wscale_orig]!,
        wscaleRepl: buf[o + L.tcp_wscale_repl]!,
        flagsOrig: buf[o + L.tcp_flags_orig]!,
        flagsRepl: buf[o + L.tcp_flags_repl]!,
      };
    }
    const tcp: TcpInfo = {};
    if (p & CT.TCP_STATE) tcp.state = buf[o + L.tcp_state]!;
    if (p & CT.TCP_WSCALE) {
      tcp.wscaleOrig = buf[o + L.tcp_wscale_orig]!;
      tcp.wscaleRepl = buf[o + L.tcp_wscale_repl]!;
    }
    if (p & CT.TCP_FLAGS) {
      tcp.flagsOrig = buf[o + L.tcp_flags_orig]!;
      tcp.flagsRepl = buf[o + L.tcp_flags_repl]!;
    }
    return tcp;
  }

  private unpackSynproxy(buf: Buffer, o: number): Synproxy {
    const at = o + this.L.ct.synproxy;
    return synproxyOf(u32(buf, at), u32(buf, at + 4), u32(buf, at + 8));
  }

  /** Packs into a zeroed slot; false when an address is not valid text (see packCt). */
  packExp(exp: Expectation, buf: Buffer, o: number): boolean {
    const L = this.L.exp;
    let p = EXP.MASTER | EXP.TUPLE | EXP.MASK;
    let ok = this.packTuple(exp.master, buf, o + L.master);
    ok = this.packTuple(exp.tuple, buf, o + L.tuple) && ok;
    ok = this.packTuple(exp.mask, buf, o + L.mask) && ok;
    if (exp.timeout !== undefined) { p |= EXP.TIMEOUT; w32(buf, o + L.timeout, exp.timeout); }
    if (exp.flags !== undefined) { p |= EXP.FLAGS; w32(buf, o + L.flags, exp.flags); }
    if (exp.class !== undefined) { p |= EXP.CLASS; w32(buf, o + L.klass, exp.class); }
    if (exp.zone !== undefined) { p |= EXP.ZONE; w16(buf, o + L.zone, exp.zone); }
    if (exp.helper !== undefined) { p |= EXP.HELPER; buf.write(exp.helper.slice(0, 15), o + L.helper, 'latin1'); }
    if (exp.fn !== undefined) { p |= EXP.FN; buf.write(exp.fn.slice(0, 31), o + L.fn, 'latin1'); }
    if (exp.natTuple && exp.natDir !== undefined) {
      p |= EXP.NAT;
      ok = this.packTuple(exp.natTuple, buf, o + L.nat_tuple) && ok;
      w32(buf, o + L.nat_dir, exp.natDir);
    }
    w32(buf, o + this.L.head.present, p);
    buf[o + this.L.head.kind] = KIND_EXP;
    return ok;
  }

  unpackExp(buf: Buffer, o: number): Expectation {
    const L = this.L.exp;
    const p = u32(buf, o + this.L.head.present);
    const exp: Expectation = {
      master: this.unpackTuple(buf, o + L.master),
      tuple: this.unpackTuple(buf, o + L.tuple),
      mask: this.unpackTuple(buf, o + L.mask),
    };
    if (p & EXP.TIMEOUT) exp.timeout = u32(buf, o + L.timeout);
    if (p & EXP.FLAGS) exp.flags = u32(buf, o + L.flags);
    if (p & EXP.CLASS) exp.class = u32(buf, o + L.klass);
    if (p & EXP.ZONE) exp.zone = u16(buf, o + L.zone);
    if (p & EXP.HELPER) exp.helper = cstring(buf, o + L.helper, 16);
    if (p & EXP.FN) exp.fn = cstring(buf, o + L.fn, 32);
    if (p & EXP.NAT) {
      exp.natTuple = this.unpackTuple(buf, o + L.nat_tuple);
      exp.natDir = u32(buf, o + L.nat_dir);
    }
    return exp;
  }

  private packTuple(t: CtTuple, buf: Buffer, o: number): boolean {
    const T = this.L.tuple;
    buf[o + T.family] = t.l3 === 'ipv4' ? AF_INET : AF_INET6;
    buf[o + T.proto] = t.proto;
    let flags = 0;
    if (t.sport !== undefined || t.dport !== undefined) {
      flags |= TUP_PORTS;
      w16(buf, o + T.sport, t.sport ?? 0);
      w16(buf, o + T.dport, t.dport ?? 0);
    }
    if (t.icmpType !== undefined) {
      flags |= TUP_ICMP;
      buf[o + T.icmp_type] = t.icmpType;
      buf[o + T.icmp_code] = t.icmpCode ?? 0;
      w16(buf, o + T.icmp_id, t.icmpId ?? 0);
    }
    buf[o + T.flags] = flags;
    return writeAddress(t.l3, t.src, buf, o + T.src) && writeAddress(t.l3, t.dst, buf, o + T.dst);
  }

  /**
   * A tuple. A reply tuple (`orig` decoded from offset `origAt`) shares orig's address strings
   * where the bytes are the same: one string per address, not two.
   */
  private unpackTuple(buf: Buffer, o: number, orig?: CtTuple, origAt = 0): CtTuple {
    const T = this.L.tuple;
    const l3: L3 = buf[o + T.family] === AF_INET ? 'ipv4' : 'ipv6';
    const n = l3 === 'ipv4' ? 4 : 16;
    const same = orig !== undefined && orig.l3 === l3;
    const src = same && sameBytes(buf, origAt + T.dst, o + T.src, n) ? orig.dst : readAddress(l3, buf, o + T.src);
    const dst = same && sameBytes(buf, origAt + T.src, o + T.dst, n) ? orig.src : readAddress(l3, buf, o + T.dst);
    const proto = buf[o + T.proto]!;
    const flags = buf[o + T.flags]!;
    if (flags === TUP_PORTS) return { l3, src, dst, proto, sport: u16(buf, o + T.sport), dport: u16(buf, o + T.dport) };
    const t: CtTuple = { l3, src, dst, proto };
    if (flags & TUP_PORTS) {
      t.sport = u16(buf, o + T.sport);
      t.dport = u16(buf, o + T.dport);
    }
    if (flags & TUP_ICMP) {
      t.icmpType = buf[o + T.icmp_type]!;
      t.icmpCode = buf[o + T.icmp_code]!;
      t.icmpId = u16(buf, o + T.icmp_id);
    }
    return t;
  }

  private packNat(l3: L3, nat: NatRange, buf: Buffer, o: number): boolean {
    const N = this.L.nat;
    if (nat.port !== undefined) {
      buf[o + N.has_port] = 1;
      w16(buf, o + N.port, nat.port);
    }
    return writeAddress(l3, nat.addr, buf, o + N.addr);
  }

  private unpackNat(buf: Buffer, o: number, l3: L3): NatRange {
    const N = this.L.nat;
    const addr = readAddress(l3, buf, o + N.addr);
    return buf[o + N.has_port] ? { addr, port: u16(buf, o + N.port) } : { addr };
  }
}

function packSeqAdj(s: SeqAdjDir, buf: Buffer, o: number): void {
  w32(buf, o, s.correctionPos);
  w32(buf, o + 4, s.offsetBefore);
  w32(buf, o + 8, s.offsetAfter);
}

function unpackSeqAdj(buf: Buffer, o: number): SeqAdjDir {
  return { correctionPos: u32(buf, o), offsetBefore: u32(buf, o + 4), offsetAfter: u32(buf, o + 8) };
}

function sameBytes(buf: Buffer, a: number, b: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (buf[a + i] !== buf[b + i]) return false;
  return true;
}

function cstring(buf: Buffer, o: number, max: number): string {
  const end = buf.indexOf(0, o);
  return buf.toString('latin1', o, end < 0 || end > o + max ? o + max : end);
}

// Host byte order, as the addon writes the slots. Plain byte arithmetic: on the event path it
// is faster than Buffer's checked readers.
export const u16: (b: Buffer, o: number) => number = LE
  ? (b, o) => b[o]! | (b[o + 1]! << 8)
  : (b, o) => (b[o]! << 8) | b[o + 1]!;
export const u32: (b: Buffer, o: number) => number = LE
  ? (b, o) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000
  : (b, o) => b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
export function u64(b: Buffer, o: number): number {
  return LE ? u32(b, o) + u32(b, o + 4) * 0x100000000 : u32(b, o) * 0x100000000 + u32(b, o + 4);
}
/**
 * Copies `n` bytes of `src[so]` to `dst[d]`. For the few bytes of an address or a field a
 * byte loop: Buffer.copy costs a typed-array view per call, more than the copy itself.
 */
export function copyBytes(src: Buffer, so: number, dst: Buffer, d: number, n: number): void {
  for (let i = 0; i < n; i++) dst[d + i] = src[so + i]!;
}
export function w16(b: Buffer, o: number, v: number): void {
  if (LE) b.writeUInt16LE(v, o);
  else b.writeUInt16BE(v, o);
}
export function w32(b: Buffer, o: number, v: number): void {
  if (LE) b.writeUInt32LE(v >>> 0, o);
  else b.writeUInt32BE(v >>> 0, o);
}
