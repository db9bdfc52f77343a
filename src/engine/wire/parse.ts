/**
 * Decoder: sync message payloads into the model (conntrackd `parse.c`, shared/spec/
 * conntrackd.md §1.10 step 7, §1.11). The receiver rebuilds the orig tuple, protocol info,
 * NAT *ranges* (no reply tuple), master tuple and the rest. Any TLV error rejects the whole
 * message: the caller counts it as `bad_payload`.
 */
import { synproxyOf, type Conntrack, type CtTuple, type Expectation, type L3, type NatRange, type Synproxy, type TcpInfo } from '../model/conntrack.js';
import { CT_ATTR_LEN, EXP_ATTR_LEN, NTA, NTA_EXP, NTA_HDR, ntaAlign } from './attributes.js';
import { readIpv4, readIpv6 } from '../model/address.js';

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

function cstring(buf: Buffer, p: number, n: number): string {
  const nul = buf.indexOf(0, p);
  return buf.toString('utf8', p, nul >= 0 && nul < p + n ? nul : p + n);
}

/**
 * Scratch state of one conntrack decode (module-level: decoding is synchronous). The fields
 * most messages carry are collected apart and put into the object in one literal at the end
 * (they then live in the object, not in a property array grown one by one; an absent one is
 * undefined, as if not there); the rare ones go into `extra` as they come.
 */
let extra: Partial<Conntrack> | undefined;
let status: number | undefined;
let timeout: number | undefined;
let mark: number | undefined;
let tcp: TcpInfo | undefined;
let synproxy: Synproxy | undefined;
let l3: L3 | undefined;
let src = '';
let dst = '';
let proto: number | undefined;
let sport: number | undefined;
let dport: number | undefined;
let icmpType: number | undefined;
let icmpCode: number | undefined;
let icmpId: number | undefined;
let master: CtTuple | undefined;
let masterProto = 0;
let masterPorts: [number, number] | undefined;
let snatAddr: string | undefined;
let dnatAddr: string | undefined;
let spat: number | undefined;
let dpat: number | undefined;

function rare(): Partial<Conntrack> {
  return (extra ??= {});
}

function visitCt(id: number, p: number, n: number, buf: Buffer): void {
  switch (id) {
    case NTA.IPV4:
      l3 = 'ipv4';
      src = readIpv4(buf, p);
      dst = readIpv4(buf, p + 4);
      break;
    case NTA.IPV6:
      l3 = 'ipv6';
      src = readIpv6(buf, p);
      dst = readIpv6(buf, p + 16);
      break;
    case NTA.L4PROTO:
      proto = buf[p]!;
      break;
    case NTA.PORT:
      sport = buf.readUInt16BE(p);
      dport = buf.readUInt16BE(p + 2);
      break;
    case NTA.TCP_STATE:
      if (tcp === undefined) tcp = { state: buf[p]! };
      else tcp.state = buf[p]!;
      break;
    case NTA.STATUS:
      status = buf.readUInt32BE(p);
      break;
    case NTA.TIMEOUT:
      timeout = buf.readUInt32BE(p);
      break;
    case NTA.MARK:
      mark = buf.readUInt32BE(p);
      break;
    case NTA.MASTER_IPV4:
      master = { l3: 'ipv4', src: readIpv4(buf, p), dst: readIpv4(buf, p + 4), proto: 0 };
      break;
    case NTA.MASTER_IPV6:
      master = { l3: 'ipv6', src: readIpv6(buf, p), dst: readIpv6(buf, p + 16), proto: 0 };
      break;
    case NTA.MASTER_L4PROTO:
      masterProto = buf[p]!;
      break;
    case NTA.MASTER_PORT:
      masterPorts = [buf.readUInt16BE(p), buf.readUInt16BE(p + 2)];
      break;
    case NTA.SNAT_IPV4:
      snatAddr = readIpv4(buf, p);
      break;
    case NTA.DNAT_IPV4:
      dnatAddr = readIpv4(buf, p);
      break;
    case NTA.SNAT_IPV6:
      snatAddr = readIpv6(buf, p);
      break;
    case NTA.DNAT_IPV6:
      dnatAddr = readIpv6(buf, p);
      break;
    case NTA.SPAT_PORT:
      spat = buf.readUInt16LE(p); // host-order quirk, §1.12
      break;
    case NTA.DPAT_PORT:
      dpat = buf.readUInt16LE(p);
      break;
    case NTA.NAT_SEQ_ADJ:
      rare().seqAdjOrig = {
        correctionPos: buf.readUInt32BE(p),
        offsetBefore: buf.readUInt32BE(p + 4),
        offsetAfter: buf.readUInt32BE(p + 8),
      };
      rare().seqAdjRepl = {
        correctionPos: buf.readUInt32BE(p + 12),
        offsetBefore: buf.readUInt32BE(p + 16),
        offsetAfter: buf.readUInt32BE(p + 20),
      };
      break;
    case NTA.SCTP_STATE:
      (rare().sctp ??= {}).state = buf[p]!;
      break;
    case NTA.SCTP_VTAG_ORIG:
      (rare().sctp ??= {}).vtagOrig = buf.readUInt32BE(p);
      break;
    case NTA.SCTP_VTAG_REPL:
      (rare().sctp ??= {}).vtagRepl = buf.readUInt32BE(p);
      break;
    case NTA.DCCP_STATE:
      (rare().dccp ??= {}).state = buf[p]!;
      break;
    case NTA.DCCP_ROLE:
      (rare().dccp ??= {}).role = buf[p]!;
      break;
    case NTA.ICMP_TYPE:
      icmpType = buf[p]!;
      break;
    case NTA.ICMP_CODE:
      icmpCode = buf[p]!;
      break;
    case NTA.ICMP_ID:
      icmpId = buf.readUInt16LE(p); // host-order quirk, §1.12
      break;
    case NTA.TCP_WSCALE_ORIG:
      (tcp ??= {}).wscaleOrig = buf[p]!;
      break;
    case NTA.TCP_WSCALE_REPL:
      (tcp ??= {}).wscaleRepl = buf[p]!;
      break;
    case NTA.HELPER_NAME:
      rare().helper = cstring(buf, p, n);
      break;
    case NTA.LABELS: {
      const words: number[] = [];
      for (let i = 0; i + 4 <= n; i += 4) words.push(buf.readUInt32BE(p + i));
      rare().labels = words;
      break;
    }
    case NTA.SYNPROXY:
      synproxy = synproxyOf(buf.readUInt32BE(p + 4), buf.readUInt32BE(p), buf.readUInt32BE(p + 8));
      break;
    case NTA.ZONE:
      rare().zone = buf.readUInt16BE(p);
      break;
  }
}

let ctBuf: Buffer;

/** Resets the scratch state in a function of its own, so the compiler does not narrow it. */
function resetScratch(buf: Buffer): void {
  extra = undefined;
  status = timeout = mark = undefined;
  tcp = undefined;
  synproxy = undefined;
  l3 = undefined;
  proto = sport = dport = icmpType = icmpCode = icmpId = undefined;
  master = undefined;
  masterProto = 0;
  masterPorts = undefined;
  snatAddr = dnatAddr = spat = dpat = undefined;
  ctBuf = buf;
}
const ctVisitor = (id: number, p: number, n: number): void => visitCt(id, p, n, ctBuf);

/**
 * `msg2ct`: decodes the TLVs of one CT_* message body `buf[start, end)`. Returns undefined on
 * a bad payload (§1.10 step 7) or when the message names no address or protocol.
 */
export function parseConntrack(buf: Buffer, start: number, end: number): Conntrack | undefined {
  resetScratch(buf);
  if (!walk(buf, start, end, CT_ATTR_LEN, ctVisitor)) return undefined;
  if (l3 === undefined || proto === undefined) return undefined;
  let orig: CtTuple;
  if (sport !== undefined && icmpType === undefined && icmpCode === undefined && icmpId === undefined) {
    orig = { l3, src, dst, proto, sport, dport: dport! };
  } else {
    orig = { l3, src, dst, proto };
    if (sport !== undefined) {
      orig.sport = sport;
      orig.dport = dport!;
    }
    if (icmpType !== undefined) orig.icmpType = icmpType;
    if (icmpCode !== undefined) orig.icmpCode = icmpCode;
    if (icmpId !== undefined) orig.icmpId = icmpId;
  }
  const ct: Conntrack = { orig, status, timeout, mark, tcp, synproxy };
  if (extra !== undefined) Object.assign(ct, extra);
  if (master !== undefined) {
    master.proto = masterProto;
    if (masterPorts !== undefined) {
      master.sport = masterPorts[0];
      master.dport = masterPorts[1];
    }
    ct.master = master;
  }
  // NAT ranges: an absent address means the NAT kept it (reply dst == orig src, §1.7 item 8).
  if (snatAddr !== undefined || spat !== undefined) ct.snat = natRange(snatAddr ?? src, spat);
  if (dnatAddr !== undefined || dpat !== undefined) ct.dnat = natRange(dnatAddr ?? dst, dpat);
  return ct;
}

function natRange(addr: string, port: number | undefined): NatRange {
  return port === undefined ? { addr } : { addr, port };
}

function tupleOf(
  buf: Buffer,
  attrs: Map<number, [number, number]>,
  id4: number,
  id6: number,
  idProto: number,
  idPort: number,
): CtTuple | undefined {
  const v4 = attrs.get(id4);
  const v6 = attrs.get(id6);
  const pr = attrs.get(idProto);
  if ((v4 === undefined && v6 === undefined) || pr === undefined) return undefined;
  const t: CtTuple =
    v4 !== undefined
      ? { l3: 'ipv4', src: readIpv4(buf, v4[0]), dst: readIpv4(buf, v4[0] + 4), proto: buf[pr[0]]! }
      : { l3: 'ipv6', src: readIpv6(buf, v6![0]), dst: readIpv6(buf, v6![0] + 16), proto: buf[pr[0]]! };
  const port = attrs.get(idPort);
  if (port !== undefined) {
    t.sport = buf.readUInt16BE(port[0]);
    t.dport = buf.readUInt16BE(port[0] + 2);
  }
  return t;
}

/** `msg2exp`: decodes one EXP_* message body. Undefined on a bad payload or missing tuples. */
export function parseExpectation(buf: Buffer, start: number, end: number): Expectation | undefined {
  const attrs = new Map<number, [number, number]>();
  if (!walk(buf, start, end, EXP_ATTR_LEN, (id, p, n) => attrs.set(id, [p, n]))) return undefined;
  const E = NTA_EXP;
  const master = tupleOf(buf, attrs, E.MASTER_IPV4, E.MASTER_IPV6, E.MASTER_L4PROTO, E.MASTER_PORT);
  const tuple = tupleOf(buf, attrs, E.EXPECT_IPV4, E.EXPECT_IPV6, E.EXPECT_L4PROTO, E.EXPECT_PORT);
  const mask = tupleOf(buf, attrs, E.MASK_IPV4, E.MASK_IPV6, E.MASK_L4PROTO, E.MASK_PORT);
  if (master === undefined || tuple === undefined || mask === undefined) return undefined;
  const exp: Expectation = { master, tuple, mask };
  const u32 = (id: number): number | undefined => {
    const a = attrs.get(id);
    return a === undefined ? undefined : buf.readUInt32BE(a[0]);
  };
  const timeout = u32(E.TIMEOUT);
  if (timeout !== undefined) exp.timeout = timeout;
  const flags = u32(E.FLAGS);
  if (flags !== undefined) exp.flags = flags;
  const cls = u32(E.CLASS);
  if (cls !== undefined) exp.class = cls;
  const nat = attrs.get(E.NAT_IPV4);
  if (nat !== undefined) {
    const np = attrs.get(E.NAT_L4PROTO);
    const nt: CtTuple = {
      l3: 'ipv4',
      src: readIpv4(buf, nat[0]),
      dst: readIpv4(buf, nat[0] + 4),
      proto: np === undefined ? 0 : buf[np[0]]!,
    };
    const port = attrs.get(E.NAT_PORT);
    if (port !== undefined) {
      nt.sport = buf.readUInt16BE(port[0]);
      nt.dport = buf.readUInt16BE(port[0] + 2);
    }
    exp.natTuple = nt;
  }
  const dir = u32(E.NAT_DIR);
  if (dir !== undefined) exp.natDir = dir;
  const helper = attrs.get(E.HELPER_NAME);
  if (helper !== undefined) exp.helper = cstring(buf, helper[0], helper[1]);
  const fn = attrs.get(E.FN);
  if (fn !== undefined) exp.fn = cstring(buf, fn[0], fn[1]);
  return exp;
}
