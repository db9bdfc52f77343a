/**
 * Every text the control socket answers with, in one place: the `conntrackd -s …` blocks
 * (shared/spec/conntrackd.md §5.4) and the cache dump lines of flows and expectations, plain
 * and XML (§5.5, the libnetfilter_conntrack NFCT_O_DEFAULT / NFCT_O_XML formats). Byte-for-byte
 * what conntrackd 1.4.7 prints: the printf widths are reproduced by `u12`/`u20`.
 */
import type { Conntrack, CtTuple, Expectation } from '../model/conntrack.js';
import { EXPECT_FLAGS, IPPROTO, IPS, TCP_STATE_NAMES, l4ProtoName } from '../model/conntrack.js';
import type {
  BypassStats,
  CacheStats,
  LinkStats,
  NetworkStats,
  QueueStats,
  RsQueueEntry,
  RuntimeStats,
  SequenceStats,
  TrafficStats,
} from '../stats.js';

/** printf("%12u"). */
const u12 = (n: number | bigint): string => String(n).padStart(12);
/** printf("%20llu"). */
const u20 = (n: number | bigint): string => String(n).padStart(20);

// ---- -s (STATS) ---------------------------------------------------------------------------

/** First block of `-s`: the internal cache, or its bypass counters with DisableInternalCache. */
export type InternalView = { kind: 'cache'; stats: CacheStats } | { kind: 'bypass'; stats: BypassStats };
/** Second block of `-s`: the external cache, or its inject counters with DisableExternalCache. */
export type ExternalView = { kind: 'cache'; stats: CacheStats } | { kind: 'inject'; stats: BypassStats };

export interface SyncStatsView {
  internal: InternalView;
  external: ExternalView;
  traffic: TrafficStats;
  /** The current (active) link. */
  link: LinkStats;
  /** "message tracking": malformed messages received, and messages lost (sequence gaps). */
  malformed: bigint;
  lost: bigint;
}

function cacheBlock(head: string, s: { created: number; createdFailed: number; updated: number; updatedFailed: number; destroyed: number; destroyedFailed: number }): string {
  return (
    head +
    `connections created:\t\t${u12(s.created)}\tfailed:\t${u12(s.createdFailed)}\n` +
    `connections updated:\t\t${u12(s.updated)}\tfailed:\t${u12(s.updatedFailed)}\n` +
    `connections destroyed:\t\t${u12(s.destroyed)}\tfailed:\t${u12(s.destroyedFailed)}\n\n`
  );
}

function cacheCounters(s: CacheStats) {
  return {
    created: s.createdOk,
    createdFailed: s.createdFailed,
    updated: s.updatedOk,
    updatedFailed: s.updatedFailed,
    destroyed: s.deletedOk,
    destroyedFailed: s.deletedFailed,
  };
}

/** `cache internal:` / `cache external:` (also the `cache stats:` block of stats mode). */
export function formatCacheSummary(name: string, s: CacheStats): string {
  return cacheBlock(`cache ${name}:\ncurrent active connections:\t${u12(s.active)}\n`, cacheCounters(s));
}

function formatInternal(v: InternalView): string {
  if (v.kind === 'cache') return formatCacheSummary('internal', v.stats);
  return (
    'internal bypass:\n' +
    `connections new:\t\t${u12(v.stats.created)}\n` +
    `connections updated:\t\t${u12(v.stats.updated)}\n` +
    `connections destroyed:\t\t${u12(v.stats.destroyed)}\n\n`
  );
}

function formatExternal(v: ExternalView): string {
  if (v.kind === 'cache') return formatCacheSummary('external', v.stats);
  return cacheBlock('external inject:\n', v.stats);
}

export function formatTraffic(t: TrafficStats): string {
  return `traffic processed:\n${u20(t.bytes)} Bytes      ${u20(t.packets)} Pckts\n\n`;
}

function linkCounters(l: LinkStats): string {
  return (
    `${u20(l.bytesSent)} Bytes sent ${u20(l.bytesRecv)} Bytes recv\n` +
    `${u20(l.packetsSent)} Pckts sent ${u20(l.packetsRecv)} Pckts recv\n` +
    `${u20(l.errorSend)} Error send ${u20(l.errorRecv)} Error recv\n\n`
  );
}

const connected = (b: boolean | undefined): string => (b ? 'connected' : 'disconnected');

/** The current-link block closing `-s` and `-s network`. */
export function formatCurrentLink(l: LinkStats): string {
  const head =
    l.kind === 'TCP'
      ? `TCP traffic (active device=${l.device}) server=${connected(l.tcpServerConnected)} client=${connected(l.tcpClientConnected)}:\n`
      : `${l.kind} traffic (active device=${l.device}):\n`;
  return head + linkCounters(l);
}

/** `-s` / `-s ct` / `-s expect` in sync mode. */
export function formatSyncStats(v: SyncStatsView): string {
  return (
    formatInternal(v.internal) +
    formatExternal(v.external) +
    formatTraffic(v.traffic) +
    formatCurrentLink(v.link) +
    `message tracking:\n${u20(v.malformed)} Malformed msgs ${u20(v.lost)} Lost msgs\n\n`
  );
}

/** `-s network`. */
export function formatNetworkStats(n: NetworkStats, seq: SequenceStats, link: LinkStats): string {
  return (
    'network statistics:\n\trecv:\n' +
    `\t\tMalformed messages:\t${u20(n.malformed)}\n` +
    `\t\tWrong protocol version:\t${u20(n.badVersion)}\n` +
    `\t\tMalformed header:\t${u20(n.badHeader)}\n` +
    `\t\tMalformed payload:\t${u20(n.badPayload)}\n` +
    `\t\tBad message type:\t${u20(n.badType)}\n` +
    `\t\tTruncated message:\t${u20(n.truncated)}\n` +
    `\t\tBad message size:\t${u20(n.badSize)}\n` +
    '\tsend:\n' +
    `\t\tMalformed messages:\t${u20(n.sendMalformed)}\n\n` +
    'sequence tracking statistics:\n\trecv:\n' +
    `\t\tPackets lost:\t\t${u20(seq.lost)}\n` +
    `\t\tPackets before:\t\t${u20(seq.before)}\n\n` +
    formatCurrentLink(link)
  );
}

/** `-s cache`: one block per cache (internal then external). */
export function formatCacheStats(name: string, s: CacheStats): string {
  return (
    `cache:${name}\tactive objects:\t\t${u12(s.active)}\n` +
    `\tactive/total entries:\t\t${u12(s.active)}/${u12(s.total)}\n` +
    `\tcreation OK/failed:\t\t${u12(s.createdOk)}/${u12(s.createdFailed)}\n` +
    `\t\tno memory available:\t${u12(s.noMemory)}\n` +
    `\t\tno space left in cache:\t${u12(s.noSpace)}\n` +
    `\tupdate OK/failed:\t\t${u12(s.updatedOk)}/${u12(s.updatedFailed)}\n` +
    `\t\tentry not found:\t${u12(s.updateNotFound)}\n` +
    `\tdeletion created/failed:\t${u12(s.deletedOk)}/${u12(s.deletedFailed)}\n` +
    `\t\tentry not found:\t${u12(s.deleteNotFound)}\n\n`
  );
}

/** conntrackd's uptime(): `[N day(s) ]` then `H h M min` or `M min`. */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86400);
  const hours = Math.floor(s / 3600) % 24;
  const minutes = Math.floor(s / 60) % 60;
  const dayPart = days ? `${days} day${days !== 1 ? 's' : ''} ` : '';
  return dayPart + (hours ? `${hours} h ${minutes} min` : `${minutes} min`);
}

/** `-s runtime`; `now` in seconds (Date.now()/1000), RuntimeStats.startedAt likewise. */
export function formatRuntimeStats(r: RuntimeStats, now: number): string {
  return (
    `daemon uptime: ${formatUptime(now - r.startedAt)}\n\n` +
    'netlink stats:\n' +
    `\tevents received:\t${u20(r.eventsReceived)}\n` +
    `\tevents filtered:\t${u20(r.eventsFiltered)}\n` +
    `\tevents unknown type:\t\t${u12(r.eventsUnknownType)}\n` +
    `\tcatch event failed:\t\t${u12(r.catchEventFailed)}\n` +
    `\tdump unknown type:\t\t${u12(r.dumpUnknownType)}\n` +
    `\tnetlink overrun:\t\t${u12(r.netlinkOverrun)}\n` +
    `\tflush kernel table:\t\t${u12(r.flushKernelTable)}\n` +
    `\tresync with kernel table:\t${u12(r.resyncWithKernel)}\n` +
    `\tcurrent buffer size (in bytes):\t${u12(r.netlinkBufferSize)}\n\n` +
    'runtime stats:\n' +
    `\tchild process failed:\t\t${u12(r.childFailed)}\n` +
    `\t\tchild process segfault:\t${u12(r.childSegfault)}\n` +
    `\t\tchild process termsig:\t${u12(r.childTermsig)}\n` +
    `\tselect failed:\t\t\t${u12(r.selectFailed)}\n` +
    `\twait failed:\t\t\t${u12(r.waitFailed)}\n` +
    `\tlocal read failed:\t\t${u12(r.localReadFailed)}\n` +
    `\tlocal unknown request:\t\t${u12(r.localUnknownRequest)}\n\n`
  );
}

/** `-s link`: every link in config order. */
export function formatLinkStats(links: readonly LinkStats[]): string {
  return links
    .map((l) => `${l.kind} traffic device=${l.device} status=${l.status} role=${l.active ? 'ACTIVE' : 'BACKUP'}:\n${linkCounters(l)}`)
    .join('');
}

/** `-s rsqueue` (FT-FW). */
export function formatRsQueue(entries: readonly RsQueueEntry[]): string {
  let out = `resent queue (len=${entries.length})\n`;
  for (const e of entries) {
    out += e.kind === 'control' ? `control -> seq:${e.seq} flags:${e.flags}\n` : `object -> seq:${e.seq}\n`;
  }
  return out;
}

/** `-s queue`: queues most recently created first (txqueue, errorq, rsqueue). */
export function formatQueueStats(allocatedNodes: number, queues: readonly QueueStats[]): string {
  let out = `allocated queue nodes:\t\t${u12(allocatedNodes)}\n\n`;
  for (const q of queues) {
    out +=
      `queue ${q.name}:\n` +
      `current elements:\t\t${u12(q.current)}\n` +
      `maximum elements:\t\t${u12(q.max)}\n` +
      `not enough space errors:\t${u12(q.noSpace)}\n\n`;
  }
  return out;
}

export interface ChildProcessInfo {
  pid: number;
  type: 'any' | 'flush' | 'commit';
}

/** `-s process`: one line per live child. */
export function formatProcessStats(children: readonly ChildProcessInfo[]): string {
  return children.map((c) => `PID=${c.pid} type=${c.type}\n`).join('');
}

// ---- cache dumps (-i / -e) -----------------------------------------------------------------

const SCTP_STATE_NAMES = [
  'NONE', 'CLOSED', 'COOKIE_WAIT', 'COOKIE_ECHOED', 'ESTABLISHED', 'SHUTDOWN_SENT',
  'SHUTDOWN_RECD', 'SHUTDOWN_ACK_SENT', 'HEARTBEAT_SENT', 'HEARTBEAT_ACKED',
];
const DCCP_STATE_NAMES = ['NONE', 'REQUEST', 'RESPOND', 'PARTOPEN', 'OPEN', 'CLOSEREQ', 'CLOSING', 'TIMEWAIT', 'IGNORE', 'INVALID'];

function stateName(ct: Conntrack): string | undefined {
  const p = ct.orig.proto;
  if (p === IPPROTO.TCP && ct.tcp?.state !== undefined) return TCP_STATE_NAMES[ct.tcp.state] ?? 'UNKNOWN';
  if (p === IPPROTO.SCTP && ct.sctp?.state !== undefined) return SCTP_STATE_NAMES[ct.sctp.state] ?? 'UNKNOWN';
  if (p === IPPROTO.DCCP && ct.dccp?.state !== undefined) return DCCP_STATE_NAMES[ct.dccp.state] ?? 'UNKNOWN';
  return undefined;
}

const isIcmp = (p: number): boolean => p === IPPROTO.ICMP || p === IPPROTO.ICMPV6;
const hasPorts = (p: number): boolean =>
  p === IPPROTO.TCP || p === IPPROTO.UDP || p === IPPROTO.SCTP || p === IPPROTO.DCCP || p === IPPROTO.UDPLITE;

/** The `src= dst= sport= dport=` (or ICMP `type= code= id=`) words of one tuple. */
function tupleWords(t: CtTuple, prefix = ''): string[] {
  const w = [`${prefix}src=${t.src}`, `${prefix}dst=${t.dst}`];
  if (isIcmp(t.proto)) {
    if (t.icmpType !== undefined) w.push(`type=${t.icmpType}`, `code=${t.icmpCode ?? 0}`, `id=${t.icmpId ?? 0}`);
  } else if (hasPorts(t.proto) && t.sport !== undefined && t.dport !== undefined) {
    w.push(`sport=${t.sport}`, `dport=${t.dport}`);
  }
  return w;
}

/** Suffixes conntrackd appends to a cache dump line (§5.5). */
export interface DumpSuffix {
  /** ALARM external cache: seconds until the object expires. */
  expiresIn?: number;
  /** Seconds since the object was created in the cache. */
  activeSince?: number;
}

/**
 * One `-i`/`-e` line: nfct_snprintf(NFCT_O_DEFAULT) of the object without its timeout, then
 * the suffixes, then a newline.
 */
export function formatConntrackLine(ct: Conntrack, suffix: DumpSuffix = {}): string {
  const w: string[] = [`${l4ProtoName(ct.orig.proto).padEnd(8)} ${ct.orig.proto}`];
  const state = stateName(ct);
  if (state !== undefined) w.push(state);
  w.push(...tupleWords(ct.orig));
  if (ct.counters) w.push(`packets=${ct.counters.origPackets}`, `bytes=${ct.counters.origBytes}`);
  if (ct.status !== undefined && !(ct.status & IPS.SEEN_REPLY)) w.push('[UNREPLIED]');
  if (ct.reply) w.push(...tupleWords(ct.reply));
  if (ct.counters && ct.reply) w.push(`packets=${ct.counters.replyPackets}`, `bytes=${ct.counters.replyBytes}`);
  if (ct.status !== undefined) {
    if (ct.status & IPS.HW_OFFLOAD) w.push('[HW_OFFLOAD]');
    else if (ct.status & IPS.OFFLOAD) w.push('[OFFLOAD]');
    else if (ct.status & IPS.ASSURED) w.push('[ASSURED]');
  }
  if (ct.mark !== undefined) w.push(`mark=${ct.mark}`);
  if (ct.secmark !== undefined) w.push(`secmark=${ct.secmark}`);
  if (ct.zone !== undefined) w.push(`zone=${ct.zone}`);
  if (ct.helper !== undefined) w.push(`helper=${ct.helper}`);
  if (ct.use !== undefined) w.push(`use=${ct.use}`);
  let line = w.join(' ');
  if (suffix.expiresIn !== undefined) line += ` [expires in ${suffix.expiresIn}s]`;
  if (suffix.activeSince !== undefined) line += ` [active since ${suffix.activeSince}s]`;
  return `${line}\n`;
}

const L3_XML = { ipv4: 'protonum="2" protoname="ipv4"', ipv6: 'protonum="10" protoname="ipv6"' } as const;

/** libnetfilter_conntrack's `<src>…</src><dst>…</dst>` of one tuple. */
const xmlAddrs = (t: CtTuple): string => `<src>${t.src}</src><dst>${t.dst}</dst>`;

/** `<sport>…</sport><dport>…</dport>`: ports only, its XML prints no ICMP type/code/id. */
function xmlPorts(t: CtTuple): string {
  return hasPorts(t.proto) && t.sport !== undefined && t.dport !== undefined ? `<sport>${t.sport}</sport><dport>${t.dport}</dport>` : '';
}

function xmlDirection(dir: 'original' | 'reply', t: CtTuple | undefined, packets?: number, bytes?: number): string {
  if (!t) {
    // Objects rebuilt from the wire have no reply tuple: libnetfilter prints an empty one.
    return `<meta direction="${dir}"><layer3 protonum="0" protoname="unknown"><src></src><dst></dst></layer3><layer4 protonum="0" protoname="unknown"></layer4></meta>`;
  }
  const counters = packets !== undefined ? `<counters><packets>${packets}</packets><bytes>${bytes}</bytes></counters>` : '';
  return (
    `<meta direction="${dir}"><layer3 ${L3_XML[t.l3]}>${xmlAddrs(t)}</layer3>` +
    `<layer4 protonum="${t.proto}" protoname="${l4ProtoName(t.proto)}">${xmlPorts(t)}</layer4>${counters}</meta>`
  );
}

/** One `-i -x`/`-e -x` line: nfct_snprintf(NFCT_O_XML) of the object without its timeout. */
export function formatConntrackXml(ct: Conntrack): string {
  const c = ct.counters;
  let ind = '';
  const state = stateName(ct);
  if (state !== undefined) ind += `<state>${state}</state>`;
  if (ct.mark !== undefined) ind += `<mark>${ct.mark}</mark>`;
  if (ct.secmark !== undefined) ind += `<secmark>${ct.secmark}</secmark>`;
  if (ct.zone !== undefined) ind += `<zone>${ct.zone}</zone>`;
  if (ct.use !== undefined) ind += `<use>${ct.use}</use>`;
  if (ct.id !== undefined) ind += `<id>${ct.id}</id>`;
  if (ct.status !== undefined && ct.status & IPS.ASSURED) ind += '<assured/>';
  if (ct.status !== undefined && !(ct.status & IPS.SEEN_REPLY)) ind += '<unreplied/>';
  if (ct.helper !== undefined) ind += `<helper>${ct.helper}</helper>`;
  return (
    '<flow>' +
    xmlDirection('original', ct.orig, c?.origPackets, c?.origBytes) +
    xmlDirection('reply', ct.reply, ct.reply ? c?.replyPackets : undefined, c?.replyBytes) +
    `<meta direction="independent">${ind}</meta></flow>\n`
  );
}

/**
 * One `-i expect -x`/`-e expect -x` line: nfexp_snprintf(NFCT_O_XML) of the expectation without
 * its timeout. Layer 3 then layer 4, each with the expected, mask and master tuples, then the
 * meta block; the flags print as empty elements.
 */
export function formatExpectationXml(exp: Expectation): string {
  const tuples = (part: (t: CtTuple) => string): string =>
    `<expected>${part(exp.tuple)}</expected><mask>${part(exp.mask)}</mask><master>${part(exp.master)}</master>`;
  let meta = '';
  if (exp.helper !== undefined) meta += `<helper-name>${exp.helper}</helper-name>`;
  if (exp.class !== undefined) meta += `<class>${exp.class}</class>`;
  if (exp.zone !== undefined) meta += `<zone>${exp.zone}</zone>`;
  const flags = exp.flags ?? 0;
  if (flags & EXPECT_FLAGS.PERMANENT) meta += '<permanent/>';
  if (flags & EXPECT_FLAGS.INACTIVE) meta += '<inactive/>';
  if (flags & EXPECT_FLAGS.USERSPACE) meta += '<userspace/>';
  const p = exp.tuple.proto;
  return (
    `<flow><layer3 ${L3_XML[exp.tuple.l3]}>${tuples(xmlAddrs)}</layer3>` +
    `<layer4 protonum="${p}" protoname="${l4ProtoName(p)}">${tuples(xmlPorts)}</layer4>` +
    `<meta>${meta}</meta></flow>\n`
  );
}

/** One expectation line of `-i expect`/`-e expect` (nfexp_snprintf NFCT_O_DEFAULT + suffix). */
export function formatExpectationLine(exp: Expectation, suffix: DumpSuffix = {}): string {
  const w: string[] = [`proto=${exp.tuple.proto}`, ...tupleWords(exp.tuple)];
  w.push(...tupleWords(exp.mask, 'mask-'));
  w.push(...tupleWords(exp.master, 'master-'));
  if (exp.zone !== undefined) w.push(`zone=${exp.zone}`);
  const flags: string[] = [];
  if (exp.flags !== undefined) {
    if (exp.flags & EXPECT_FLAGS.PERMANENT) flags.push('PERMANENT');
    if (exp.flags & EXPECT_FLAGS.INACTIVE) flags.push('INACTIVE');
    if (exp.flags & EXPECT_FLAGS.USERSPACE) flags.push('USERSPACE');
  }
  if (flags.length) w.push(flags.join(','));
  if (exp.class !== undefined) w.push(`class=${exp.class}`);
  if (exp.helper !== undefined) w.push(`helper=${exp.helper}`);
  if (exp.fn !== undefined) w.push(`fn=${exp.fn}`);
  let line = w.join(' ');
  if (suffix.expiresIn !== undefined) line += ` [expires in ${suffix.expiresIn}s]`;
  if (suffix.activeSince !== undefined) line += ` [active since ${suffix.activeSince}s]`;
  return `${line}\n`;
}
