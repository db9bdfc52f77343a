/**
 * Decoder: sync message payloads into record slots (conntrackd `parse.c`, shared/spec/
 * conntrackd.md §1.10 step 7, §1.11; slots as kernel/record.ts defines them). The receiver
 * rebuilds the orig tuple, protocol info, NAT *ranges* (no reply tuple), master tuple and the
 * rest; addresses stay the raw bytes they are on the wire. Any TLV error rejects the whole
 * message: the caller counts it as `bad_payload`.
 */
import {
  CT, EXP, TUP_ICMP, TUP_PORTS, AF_INET, AF_INET6, KIND_CT, KIND_EXP, copyBytes, records, w16, w32, type RecordCodec,
} from '../kernel/record.js';
import { CT_ATTR_LEN, EXP_ATTR_LEN, NTA, NTA_EXP, NTA_HDR, ntaAlign } from './attributes.js';

/**
 * Walks the TLVs of `buf[start, end)`, checking every length against `table` before calling
 * `visit(id, payloadOffset, payloadLength)`. Returns false on the first bad attribute.
 */
function walk(
  buf: Buffer,
  start: number,
  end: number,
  table: Int16Array,
  visit: (id: number, p: number, n: number) => void,
): boolean {
  let off = start;
  while (end - off > NTA_HDR) {
    const len = buf.readUInt16BE(off);
    const id = buf.readUInt16BE(off + 2);
    if (len < NTA_HDR || len > end - off || id >= table.length) return false;
    const want = table[id]!;
    if (want > 0 ? len !== want : len > -want) return false;
    visit(id, off + NTA_HDR, len - NTA_HDR);
    off += ntaAlign(len);
  }
  return true;
}

/**
 * State of one decode (module-level: decoding is synchronous): the message being read, the
 * slot being written, its presence bits, and what the end of the message is checked for.
 */
let R: RecordCodec;
let msg: Buffer;
let out: Buffer;
let at = 0;
let present = 0;
/** Bits of `Seen`: attributes other fields depend on. */
let seen = 0;
const enum Seen {
  ADDR = 1,
  PROTO = 2,
  SNAT_ADDR = 4,
  DNAT_ADDR = 8,
  MASTER_ADDR = 16,
  EXPECT_ADDR = 32,
  EXPECT_PROTO = 64,
  MASK_ADDR = 128,
  MASK_PROTO = 256,
  NAT_ADDR = 512,
}

function begin(buf: Buffer, into: Buffer, o: number): void {
  R ??= records();
  msg = buf;
  out = into;
  at = o;
  present = 0;
  seen = 0;
  into.fill(0, o, o + R.slot);
}

/** The addresses of `n` bytes each at `p` into the tuple at `t`. */
function addresses(t: number, p: number, n: number): void {
  const T = R.L.tuple;
  out[t + T.family] = n === 4 ? AF_INET : AF_INET6;
  copyBytes(msg, p, out, t + T.src, n);
  copyBytes(msg, p + n, out, t + T.dst, n);
}

function ports(t: number, p: number): void {
  const T = R.L.tuple;
  out[t + T.flags]! |= TUP_PORTS;
  w16(out, t + T.sport, msg.readUInt16BE(p));
  w16(out, t + T.dport, msg.readUInt16BE(p + 2));
}

/** A NAT address: the range's address (`n` bytes). */
function natAddress(nat: number, p: number, n: number): void {
  copyBytes(msg, p, out, nat + R.L.nat.addr, n);
}

/** A NAT port (host-order quirk, §1.12). */
function natPort(nat: number, p: number): void {
  const N = R.L.nat;
  out[nat + N.has_port] = 1;
  w16(out, nat + N.port, msg.readUInt16LE(p));
}

function be32(field: number, p: number): void {
  w32(out, field, msg.readUInt32BE(p));
}

function visitCt(id: number, p: number, n: number): void {
  const C = R.L.ct;
  const T = R.L.tuple;
  const o = at;
  switch (id) {
    case NTA.IPV4:
    case NTA.IPV6:
      addresses(o + C.orig, p, id === NTA.IPV4 ? 4 : 16);
      seen |= Seen.ADDR;
      break;
    case NTA.L4PROTO:
      out[o + C.orig + T.proto] = msg[p]!;
      seen |= Seen.PROTO;
      break;
    case NTA.PORT:
      ports(o + C.orig, p);
      break;
    case NTA.TCP_STATE:
      out[o + C.tcp_state] = msg[p]!;
      present |= CT.TCP_STATE;
      break;
    case NTA.STATUS:
      be32(o + C.status, p);
      present |= CT.STATUS;
      break;
    case NTA.TIMEOUT:
      be32(o + C.timeout, p);
      present |= CT.TIMEOUT;
      break;
    case NTA.MARK:
      be32(o + C.mark, p);
      present |= CT.MARK;
      break;
    case NTA.MASTER_IPV4:
    case NTA.MASTER_IPV6:
      addresses(o + C.master, p, id === NTA.MASTER_IPV4 ? 4 : 16);
      present |= CT.MASTER;
      break;
    case NTA.MASTER_L4PROTO:
      out[o + C.master + T.proto] = msg[p]!;
      break;
    case NTA.MASTER_PORT:
      ports(o + C.master, p);
      break;
    case NTA.SNAT_IPV4:
    case NTA.SNAT_IPV6:
      natAddress(o + C.snat, p, id === NTA.SNAT_IPV4 ? 4 : 16);
      seen |= Seen.SNAT_ADDR;
      present |= CT.SNAT;
      break;
    case NTA.DNAT_IPV4:
    case NTA.DNAT_IPV6:
      natAddress(o + C.dnat, p, id === NTA.DNAT_IPV4 ? 4 : 16);
      seen |= Seen.DNAT_ADDR;
      present |= CT.DNAT;
      break;
    case NTA.SPAT_PORT:
      natPort(o + C.snat, p);
      present |= CT.SNAT;
      break;
    case NTA.DPAT_PORT:
      natPort(o + C.dnat, p);
      present |= CT.DNAT;
      break;
    case NTA.NAT_SEQ_ADJ:
      for (let i = 0; i < 3; i++) {
        be32(o + C.seqadj_orig + 4 * i, p + 4 * i);
        be32(o + C.seqadj_repl + 4 * i, p + 12 + 4 * i);
      }
      present |= CT.SEQADJ_ORIG | CT.SEQADJ_REPL;
      break;
    case NTA.SCTP_STATE:
      out[o + C.sctp_state] = msg[p]!;
      present |= CT.SCTP_STATE;
      break;
    case NTA.SCTP_VTAG_ORIG:
      be32(o + C.sctp_vtag_orig, p);
      present |= CT.SCTP_VTAG;
      break;
    case NTA.SCTP_VTAG_REPL:
      be32(o + C.sctp_vtag_repl, p);
      present |= CT.SCTP_VTAG;
      break;
    case NTA.DCCP_STATE:
      out[o + C.dccp_state] = msg[p]!;
      present |= CT.DCCP_STATE;
      break;
    case NTA.DCCP_ROLE:
      out[o + C.dccp_role] = msg[p]!;
      present |= CT.DCCP_ROLE;
      break;
    case NTA.ICMP_TYPE:
      out[o + C.orig + T.icmp_type] = msg[p]!;
      out[o + C.orig + T.flags]! |= TUP_ICMP;
      break;
    case NTA.ICMP_CODE:
      out[o + C.orig + T.icmp_code] = msg[p]!;
      break;
    case NTA.ICMP_ID:
      w16(out, o + C.orig + T.icmp_id, msg.readUInt16LE(p)); // host-order quirk, §1.12
      break;
    case NTA.TCP_WSCALE_ORIG:
      out[o + C.tcp_wscale_orig] = msg[p]!;
      present |= CT.TCP_WSCALE;
      break;
    case NTA.TCP_WSCALE_REPL:
      out[o + C.tcp_wscale_repl] = msg[p]!;
      present |= CT.TCP_WSCALE;
      break;
    case NTA.HELPER_NAME:
      if (cstring(o + C.helper, 16, p, n)) present |= CT.HELPER;
      break;
    case NTA.LABELS:
      for (let i = 0; i < 4 && 4 * i + 4 <= n; i++) {
        const w = msg.readUInt32BE(p + 4 * i);
        w32(out, o + C.labels + 4 * i, w);
        if (w !== 0) present |= CT.LABELS;
      }
      break;
    case NTA.SYNPROXY:
      // wire: its, isn, tsoff; slot: isn, its, tsoff
      be32(o + C.synproxy, p + 4);
      be32(o + C.synproxy + 4, p);
      be32(o + C.synproxy + 8, p + 8);
      present |= CT.SYNPROXY;
      break;
    case NTA.ZONE:
      w16(out, o + C.zone, msg.readUInt16BE(p));
      present |= CT.ZONE;
      break;
  }
}

/** Copies a NUL-terminated string of at most `n` bytes into a char field of `room` bytes; false if empty. */
function cstring(field: number, room: number, p: number, n: number): boolean {
  let len = 0;
  while (len < n && len < room - 1 && msg[p + len] !== 0) len++;
  copyBytes(msg, p, out, field, len);
  return len > 0;
}

/**
 * `msg2ct`: decodes the TLVs of one CT_* message body `buf[start, end)` into the slot at
 * `into[o]`. False on a bad payload (§1.10 step 7) or when the message names no address or
 * protocol.
 */
export function parseConntrack(buf: Buffer, start: number, end: number, into: Buffer, o: number): boolean {
  begin(buf, into, o);
  if (!walk(buf, start, end, CT_ATTR_LEN, visitCt)) return false;
  if ((seen & (Seen.ADDR | Seen.PROTO)) !== (Seen.ADDR | Seen.PROTO)) return false;
  const C = R.L.ct;
  const T = R.L.tuple;
  const n = out[o + C.orig + T.family] === AF_INET ? 4 : 16;
  // NAT ranges: an absent address means the NAT kept it (reply dst == orig src, §1.7 item 8).
  if (present & CT.SNAT && !(seen & Seen.SNAT_ADDR)) copyBytes(out, o + C.orig + T.src, out, o + C.snat + R.L.nat.addr, n);
  if (present & CT.DNAT && !(seen & Seen.DNAT_ADDR)) copyBytes(out, o + C.orig + T.dst, out, o + C.dnat + R.L.nat.addr, n);
  w32(out, o + R.L.head.present, present | CT.ORIG);
  out[o + R.L.head.kind] = KIND_CT;
  return true;
}

function visitExp(id: number, p: number, n: number): void {
  const E = R.L.exp;
  const T = R.L.tuple;
  const o = at;
  switch (id) {
    case NTA_EXP.MASTER_IPV4:
    case NTA_EXP.MASTER_IPV6:
      addresses(o + E.master, p, id === NTA_EXP.MASTER_IPV4 ? 4 : 16);
      seen |= Seen.MASTER_ADDR;
      break;
    case NTA_EXP.MASTER_L4PROTO:
      out[o + E.master + T.proto] = msg[p]!;
      seen |= Seen.PROTO;
      break;
    case NTA_EXP.MASTER_PORT:
      ports(o + E.master, p);
      break;
    case NTA_EXP.EXPECT_IPV4:
    case NTA_EXP.EXPECT_IPV6:
      addresses(o + E.tuple, p, id === NTA_EXP.EXPECT_IPV4 ? 4 : 16);
      seen |= Seen.EXPECT_ADDR;
      break;
    case NTA_EXP.EXPECT_L4PROTO:
      out[o + E.tuple + T.proto] = msg[p]!;
      seen |= Seen.EXPECT_PROTO;
      break;
    case NTA_EXP.EXPECT_PORT:
      ports(o + E.tuple, p);
      break;
    case NTA_EXP.MASK_IPV4:
    case NTA_EXP.MASK_IPV6:
      addresses(o + E.mask, p, id === NTA_EXP.MASK_IPV4 ? 4 : 16);
      seen |= Seen.MASK_ADDR;
      break;
    case NTA_EXP.MASK_L4PROTO:
      out[o + E.mask + T.proto] = msg[p]!;
      seen |= Seen.MASK_PROTO;
      break;
    case NTA_EXP.MASK_PORT:
      ports(o + E.mask, p);
      break;
    case NTA_EXP.TIMEOUT:
      be32(o + E.timeout, p);
      present |= EXP.TIMEOUT;
      break;
    case NTA_EXP.FLAGS:
      be32(o + E.flags, p);
      present |= EXP.FLAGS;
      break;
    case NTA_EXP.CLASS:
      be32(o + E.klass, p);
      present |= EXP.CLASS;
      break;
    case NTA_EXP.NAT_IPV4:
      addresses(o + E.nat_tuple, p, 4);
      seen |= Seen.NAT_ADDR;
      break;
    case NTA_EXP.NAT_L4PROTO:
      out[o + E.nat_tuple + T.proto] = msg[p]!;
      break;
    case NTA_EXP.NAT_PORT:
      ports(o + E.nat_tuple, p);
      break;
    case NTA_EXP.NAT_DIR:
      be32(o + E.nat_dir, p);
      break;
    case NTA_EXP.HELPER_NAME:
      if (cstring(o + E.helper, 16, p, n)) present |= EXP.HELPER;
      break;
    case NTA_EXP.FN:
      if (cstring(o + E.fn, 32, p, n)) present |= EXP.FN;
      break;
  }
}

const EXP_TUPLES = Seen.MASTER_ADDR | Seen.PROTO | Seen.EXPECT_ADDR | Seen.EXPECT_PROTO | Seen.MASK_ADDR | Seen.MASK_PROTO;

/** `msg2exp`: decodes one EXP_* message body into the slot at `into[o]`. False on a bad payload or missing tuples. */
export function parseExpectation(buf: Buffer, start: number, end: number, into: Buffer, o: number): boolean {
  begin(buf, into, o);
  if (!walk(buf, start, end, EXP_ATTR_LEN, visitExp)) return false;
  if ((seen & EXP_TUPLES) !== EXP_TUPLES) return false;
  if (seen & Seen.NAT_ADDR) present |= EXP.NAT;
  w32(out, o + R.L.head.present, present | EXP.MASTER | EXP.TUPLE | EXP.MASK);
  out[o + R.L.head.kind] = KIND_EXP;
  return true;
}
