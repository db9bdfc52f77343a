/**
 * The one model of a conntrack entry and of an expectation, shared by the kernel tables,
 * the caches and the wire codec (shared/spec/conntrackd.md §1.6–1.8, §7).
 *
 * Addresses are canonical text (IPv4 dotted quad, IPv6 RFC 5952 lower case): they are what
 * the operator sees, what dumps print and what cache keys are built from. Every optional
 * field is absent when the source (kernel event, wire message) did not carry it, so that
 * "unknown" and "zero" stay different, as libnetfilter_conntrack's attribute bits do.
 */

/** IP protocol numbers the engine treats specially. */
export const IPPROTO = {
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  DCCP: 33,
  GRE: 47,
  ICMPV6: 58,
  SCTP: 132,
  UDPLITE: 136,
} as const;

export type L3 = 'ipv4' | 'ipv6';

/** One direction of a flow. Ports for TCP/UDP/SCTP/DCCP/UDPLITE, type/code/id for ICMP(v6). */
export interface CtTuple {
  l3: L3;
  src: string;
  dst: string;
  proto: number;
  sport?: number;
  dport?: number;
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
}

/** conntrack status bits (IPS_*), as the kernel and NTA_STATUS carry them. */
export const IPS = {
  EXPECTED: 0x1,
  SEEN_REPLY: 0x2,
  ASSURED: 0x4,
  CONFIRMED: 0x8,
  SRC_NAT: 0x10,
  DST_NAT: 0x20,
  NAT_MASK: 0x30,
  SEQ_ADJUST: 0x40,
  SRC_NAT_DONE: 0x80,
  DST_NAT_DONE: 0x100,
  DYING: 0x200,
  FIXED_TIMEOUT: 0x400,
  TEMPLATE: 0x800,
  UNTRACKED: 0x1000,
  HELPER: 0x2000,
  OFFLOAD: 0x4000,
  HW_OFFLOAD: 0x8000,
} as const;

/** TCP_CONNTRACK_* states (NTA_TCP_STATE, CTA_PROTOINFO_TCP_STATE). */
export const TCP_STATE = {
  NONE: 0,
  SYN_SENT: 1,
  SYN_RECV: 2,
  ESTABLISHED: 3,
  FIN_WAIT: 4,
  CLOSE_WAIT: 5,
  LAST_ACK: 6,
  TIME_WAIT: 7,
  CLOSE: 8,
  SYN_SENT2: 9,
} as const;

/** Printable names in the order of TCP_STATE, as conntrack(8) prints them. */
export const TCP_STATE_NAMES = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT',
  'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
] as const;

export interface TcpInfo {
  state?: number;
  wscaleOrig?: number;
  wscaleRepl?: number;
  /** IP_CT_TCP_FLAG_* per direction (kernel side only; never on the wire). */
  flagsOrig?: number;
  flagsRepl?: number;
}

export interface SctpInfo {
  state?: number;
  vtagOrig?: number;
  vtagRepl?: number;
}

export interface DccpInfo {
  state?: number;
  role?: number;
}

/** One NAT manipulation as a range for the kernel (what the receiver builds from the wire). */
export interface NatRange {
  addr: string;
  port?: number;
}

export interface SeqAdjDir {
  correctionPos: number;
  offsetBefore: number;
  offsetAfter: number;
}

export interface Synproxy {
  isn: number;
  its: number;
  tsoff: number;
}

/**
 * The all-zero synproxy state that entries made through ctnetlink (`conntrack -I`, commits)
 * carry: one shared object for all of them (Synproxy values are never changed in place).
 */
export const ZERO_SYNPROXY: Readonly<Synproxy> = Object.freeze({ isn: 0, its: 0, tsoff: 0 });

/** The synproxy state with these values (the shared object when all are zero). */
export function synproxyOf(isn: number, its: number, tsoff: number): Synproxy {
  return isn === 0 && its === 0 && tsoff === 0 ? ZERO_SYNPROXY : { isn, its, tsoff };
}

export interface Counters {
  origPackets: number;
  origBytes: number;
  replyPackets: number;
  replyBytes: number;
}

export interface Conntrack {
  orig: CtTuple;
  /** Present for kernel entries; absent for objects rebuilt from the wire (the kernel mirrors orig). */
  reply?: CtTuple;
  status?: number;
  timeout?: number;
  mark?: number;
  /** Conntrack zone; the kernel omits zone 0. */
  zone?: number;
  tcp?: TcpInfo;
  sctp?: SctpInfo;
  dccp?: DccpInfo;
  /** Source NAT (reply dst differs from orig src), as a range for the kernel. */
  snat?: NatRange;
  /** Destination NAT (reply src differs from orig dst). */
  dnat?: NatRange;
  seqAdjOrig?: SeqAdjDir;
  seqAdjRepl?: SeqAdjDir;
  helper?: string;
  /** Connection labels bitmap as 32-bit words, word i bit b = label 32*i+b. */
  labels?: number[];
  /** Orig tuple of the master flow, for RELATED flows. */
  master?: CtTuple;
  synproxy?: Synproxy;
  counters?: Counters;
  /** Kernel conntrack id (never on the wire). */
  id?: number;
  use?: number;
  secmark?: number;
}

/** Expectation flags (NF_CT_EXPECT_*), as the kernel and NTA_EXP_FLAGS carry them. */
export const EXPECT_FLAGS = { PERMANENT: 0x1, INACTIVE: 0x2, USERSPACE: 0x4 } as const;

export interface Expectation {
  /** Orig tuple of the master conntrack. */
  master: CtTuple;
  /** The expected tuple. */
  tuple: CtTuple;
  mask: CtTuple;
  timeout?: number;
  flags?: number;
  class?: number;
  /** NAT of the expected connection (IPv4 only on the wire). */
  natTuple?: CtTuple;
  natDir?: number;
  helper?: string;
  fn?: string;
  zone?: number;
}

export type CtEventType = 'new' | 'update' | 'destroy';

/** A kernel event with the netlink port id of the requester (origin tracking, spec §3.2). */
export interface CtEvent {
  type: CtEventType;
  ct: Conntrack;
  portId: number;
}

export interface ExpEvent {
  type: CtEventType;
  exp: Expectation;
  portId: number;
}

/** Layer-4 protocol names as libnetfilter_conntrack prints them (`tcp`, `icmpv6`, ...). */
export const L4_PROTO_NAMES: Readonly<Record<number, string>> = {
  [IPPROTO.ICMP]: 'icmp',
  2: 'igmp',
  [IPPROTO.TCP]: 'tcp',
  [IPPROTO.UDP]: 'udp',
  [IPPROTO.DCCP]: 'dccp',
  [IPPROTO.GRE]: 'gre',
  [IPPROTO.ICMPV6]: 'icmpv6',
  [IPPROTO.SCTP]: 'sctp',
  [IPPROTO.UDPLITE]: 'udplite',
};

export function l4ProtoName(proto: number): string {
  return L4_PROTO_NAMES[proto] ?? 'unknown';
}
