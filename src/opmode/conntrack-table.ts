/**
 * `show conntrack table ipv4|ipv6 [detail] [source A[:P]] [destination A[:P]] [protocol P]`
 * (shared/spec/vyos.md §4.3), read from the kernel table through the ctnetlink addon.
 * Plain: the legacy layout of VyOS's conntrack.rst (TCP state-code legend, CONN ID / Source /
 * Destination / Protocol / TIMEOUT, `tcp [6] ES`). `detail`: the columns of VyOS 2026 (T8308),
 * without its Id column, as its script prints. `--json`: `TableEntry[]` (schema/opmode/
 * conntrack-table.schema.json).
 */
import { CtsyncError } from '../common/errors.js';
import { readAddress, writeAddress } from '../engine/model/address.js';
import {
  IPPROTO, IPS, L4_PROTO_NAMES, TCP_STATE, TCP_STATE_NAMES, l4ProtoName, type Conntrack, type CtTuple, type L3, type NatRange,
} from '../engine/model/conntrack.js';
import type { OpmodeContext, OpmodeOptions, Output } from './context.js';
import { fixedTable, simpleTable } from './table.js';

/** One direction of a flow, with conntrack's XML names: ports, or ICMP type/code/id. */
export interface TupleView {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  type?: number;
  code?: number;
  id?: number;
}

/** A direction with its counters: 0 without flow accounting (`system conntrack flow-accounting`). */
export interface FlowEnd extends TupleView {
  packets: number;
  bytes: number;
}

/** A NAT manipulation of a flow: the address (and port) its packets are rewritten to. */
export interface NatView {
  address: string;
  port?: number;
}

export interface TableEntry {
  id: number | null;
  family: L3;
  protocol: string;
  protonum: number;
  /** TCP state name (`ESTABLISHED`), null for other protocols. */
  state: string | null;
  /** Seconds left; null for offloaded entries (T6138). */
  timeout: number | null;
  mark: number;
  zone: number;
  /** The conntrack helper attached (`ftp`), null for none. */
  helper: string | null;
  /** Source / destination NAT; external-cache objects carry it on the wire instead of a reply tuple. */
  snat: NatView | null;
  dnat: NatView | null;
  original: FlowEnd;
  /** Null for objects rebuilt from the sync wire (external cache), which carry no reply tuple. */
  reply: FlowEnd | null;
  assured: boolean;
  unreplied: boolean;
}

/** An `ADDR[:PORT]` selector of the orig tuple. */
export interface Endpoint {
  addr: string;
  port?: number;
}

export interface TableQuery {
  family: L3;
  detail: boolean;
  source?: Endpoint;
  destination?: Endpoint;
  protocol?: number;
}

export function tupleView(t: CtTuple): TupleView {
  return {
    src: t.src,
    dst: t.dst,
    ...(t.sport !== undefined && t.dport !== undefined ? { sport: t.sport, dport: t.dport } : {}),
    ...(t.icmpType !== undefined ? { type: t.icmpType, code: t.icmpCode ?? 0, id: t.icmpId ?? 0 } : {}),
  };
}

function flowEnd(t: CtTuple, packets = 0, bytes = 0): FlowEnd {
  return { ...tupleView(t), packets, bytes };
}

function natView(nat: NatRange | undefined): NatView | null {
  if (!nat) return null;
  return nat.port === undefined ? { address: nat.addr } : { address: nat.addr, port: nat.port };
}

export function tableEntry(ct: Conntrack): TableEntry {
  const c = ct.counters;
  const status = ct.status ?? 0;
  const tcpState = ct.orig.proto === IPPROTO.TCP ? ct.tcp?.state : undefined;
  return {
    id: ct.id ?? null,
    family: ct.orig.l3,
    protocol: l4ProtoName(ct.orig.proto),
    protonum: ct.orig.proto,
    state: tcpState === undefined ? null : (TCP_STATE_NAMES[tcpState] ?? 'UNKNOWN'),
    timeout: status & (IPS.OFFLOAD | IPS.HW_OFFLOAD) ? null : (ct.timeout ?? null),
    mark: ct.mark ?? 0,
    zone: ct.zone ?? 0,
    helper: ct.helper ?? null,
    snat: natView(ct.snat),
    dnat: natView(ct.dnat),
    original: flowEnd(ct.orig, c?.origPackets, c?.origBytes),
    reply: ct.reply ? flowEnd(ct.reply, c?.replyPackets, c?.replyBytes) : null,
    assured: (status & IPS.ASSURED) !== 0,
    unreplied: ct.status !== undefined && (status & IPS.SEEN_REPLY) === 0,
  };
}

/** `addr`, `addr:port`, or `[v6addr]:port`: IPv6 is bracketed only when a port follows. */
export function endpointText(family: L3, addr: string, port: number | undefined): string {
  if (port === undefined) return addr;
  return family === 'ipv6' ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function badValue(what: string, value: string): CtsyncError {
  return new CtsyncError('CONFIG_INVALID_VALUE', `Invalid ${what}: ${value}`);
}

/** Parses `ADDR[:PORT]` for `family`: `10.0.0.1:80`, `2001:db8::1`, `[2001:db8::1]:80`. */
export function parseEndpoint(family: L3, word: string): Endpoint {
  let addr = word;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(word);
  if (bracketed) {
    addr = bracketed[1]!;
    port = bracketed[2];
  } else if (family === 'ipv4' && word.includes(':')) {
    addr = word.slice(0, word.indexOf(':'));
    port = word.slice(word.indexOf(':') + 1);
  }
  const bytes = new Uint8Array(16);
  if (!writeAddress(family, addr, bytes, 0)) throw badValue(`${family} address`, word);
  const canonical = readAddress(family, bytes, 0);
  if (port === undefined) return { addr: canonical };
  const n = Number(port);
  if (!/^\d+$/.test(port) || n > 65535) throw badValue('port', word);
  return { addr: canonical, port: n };
}

function protocolNumber(word: string): number {
  if (/^\d+$/.test(word) && Number(word) <= 255) return Number(word);
  const name = word.toLowerCase();
  const found = Object.entries(L4_PROTO_NAMES).find(([, n]) => n === name || (name === 'ipv6-icmp' && n === 'icmpv6'));
  if (!found) throw badValue('protocol', word);
  return Number(found[0]);
}

/** The words after `show conntrack table ipv4|ipv6`, with their help. */
export const TABLE_OPTIONS: Readonly<Record<string, string>> = {
  destination: 'Show entries with this original destination <ADDR[:PORT]>',
  detail: 'Show both directions, counters, mark and zone',
  protocol: 'Show entries of this protocol <name|number>',
  source: 'Show entries with this original source <ADDR[:PORT]>',
};
/** What the valued words take. */
const OPTION_VALUES: Readonly<Record<string, string>> = { source: '<ADDR[:PORT]>', destination: '<ADDR[:PORT]>', protocol: '<name|number>' };

function tableWordsError(family: L3, words: readonly string[], valid: string, kind = 'Invalid'): CtsyncError {
  return new CtsyncError('OPMODE_UNKNOWN_COMMAND', `${kind} command: show conntrack table ${family} ${words.join(' ')}\nValid next words: ${valid}`);
}

export function parseTableQuery(family: L3, words: readonly string[]): TableQuery {
  const q: TableQuery = { family, detail: false };
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (word === 'detail') {
      q.detail = true;
      continue;
    }
    if (!Object.hasOwn(OPTION_VALUES, word)) throw tableWordsError(family, words.slice(0, i + 1), Object.keys(TABLE_OPTIONS).join(', '));
    const value = words[++i];
    if (value === undefined) throw tableWordsError(family, words, OPTION_VALUES[word]!, 'Incomplete');
    if (word === 'source') q.source = parseEndpoint(family, value);
    else if (word === 'destination') q.destination = parseEndpoint(family, value);
    else q.protocol = protocolNumber(value);
  }
  return q;
}

function matches(ep: Endpoint | undefined, addr: string, port: number | undefined): boolean {
  return !ep || (ep.addr === addr && (ep.port === undefined || ep.port === port));
}

function selected(q: TableQuery, ct: Conntrack): boolean {
  const o = ct.orig;
  return (
    o.l3 === q.family &&
    (q.protocol === undefined || o.proto === q.protocol) &&
    matches(q.source, o.src, o.sport) &&
    matches(q.destination, o.dst, o.dport)
  );
}

/** The kernel's entries of one family that match the query, oldest id first. */
export async function readTable(ctx: OpmodeContext, q: TableQuery): Promise<TableEntry[]> {
  const kernel = await ctx.kernel();
  const entries: TableEntry[] = [];
  try {
    // The addon dumps both families at once (AF_UNSPEC); the family is a filter here.
    await kernel.dump((batch) => {
      for (const ct of batch) if (selected(q, ct)) entries.push(tableEntry(ct));
    });
  } finally {
    kernel.close();
  }
  return entries.sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
}

/** Two-letter TCP state codes of the legacy layout, by TCP_CONNTRACK_* (SYN_SENT2 is the old LISTEN slot). */
const TCP_CODES: Record<number, string> = {
  [TCP_STATE.SYN_SENT]: 'SS',
  [TCP_STATE.SYN_RECV]: 'SR',
  [TCP_STATE.ESTABLISHED]: 'ES',
  [TCP_STATE.FIN_WAIT]: 'FW',
  [TCP_STATE.CLOSE_WAIT]: 'CW',
  [TCP_STATE.LAST_ACK]: 'LA',
  [TCP_STATE.TIME_WAIT]: 'TW',
  [TCP_STATE.CLOSE]: 'CL',
  [TCP_STATE.SYN_SENT2]: 'LI',
};

export const TCP_LEGEND = [
  'TCP state codes: SS - SYN SENT, SR - SYN RECEIVED, ES - ESTABLISHED,',
  '                 FW - FIN WAIT, CW - CLOSE WAIT, LA - LAST ACK,',
  '                 TW - TIME WAIT, CL - CLOSE, LI - LISTEN',
].join('\n');

const LEGACY_COLUMNS = [
  { header: 'CONN ID', width: 10 },
  { header: 'Source', width: 22 },
  { header: 'Destination', width: 22 },
  { header: 'Protocol', width: 16 },
  { header: 'TIMEOUT', width: 0 },
];

function legacyProtocol(e: TableEntry): string {
  const code = e.state === null ? undefined : TCP_CODES[TCP_STATE_NAMES.indexOf(e.state as (typeof TCP_STATE_NAMES)[number])];
  return `${e.protocol} [${e.protonum}]${code ? ` ${code}` : ''}`;
}

export function formatLegacyTable(entries: readonly TableEntry[]): string {
  const rows = entries.map((e) => [
    e.id ?? '',
    endpointText(e.family, e.original.src, e.original.sport),
    endpointText(e.family, e.original.dst, e.original.dport),
    legacyProtocol(e),
    e.timeout ?? 'n/a',
  ]);
  return `${TCP_LEGEND}\n\n${fixedTable(LEGACY_COLUMNS, rows)}`;
}

const DETAIL_HEADERS = [
  'Original src', 'Original dst', 'Original packets', 'Original bytes',
  'Reply src', 'Reply dst', 'Reply packets', 'Reply bytes',
  'Protocol', 'State', 'Timeout', 'Mark', 'Zone',
];

export function formatDetailTable(entries: readonly TableEntry[]): string {
  const rows = entries.map((e) => [
    endpointText(e.family, e.original.src, e.original.sport),
    endpointText(e.family, e.original.dst, e.original.dport),
    e.original.packets,
    e.original.bytes,
    e.reply ? endpointText(e.family, e.reply.src, e.reply.sport) : '',
    e.reply ? endpointText(e.family, e.reply.dst, e.reply.dport) : '',
    e.reply?.packets ?? 0,
    e.reply?.bytes ?? 0,
    e.protocol,
    e.state ?? '',
    e.timeout ?? 'n/a',
    e.mark,
    e.zone,
  ]);
  return simpleTable(DETAIL_HEADERS, rows);
}

/** VyOS's text for an empty dump. */
export const NO_ENTRIES = 'Entries not found';

export async function showConntrackTable(ctx: OpmodeContext, q: TableQuery, opts: OpmodeOptions): Promise<Output> {
  const entries = await readTable(ctx, q);
  if (opts.json) return entries;
  if (entries.length === 0) return NO_ENTRIES;
  return q.detail ? formatDetailTable(entries) : formatLegacyTable(entries);
}
