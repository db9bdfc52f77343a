/**
 * One dedicated link (conntrackd `channel.c` + `channel_{mcast,udp,tcp}.c`, shared/spec/
 * conntrackd.md §4): the interface every transport implements, and what they share — the
 * interface MTU and the payload limit it gives, per-link counters, socket buffer sizes and
 * the peer address filter. A channel moves bytes only; it never parses a message.
 */
import { readFileSync } from 'node:fs';
import { BlockList } from 'node:net';
import type { BindOptions, Socket as DgramSocket } from 'node:dgram';
import { loadAddon, type CtnetlinkAddon } from '../kernel/addon.js';
import { errnoName } from '../kernel/kernel-error.js';
import { CtsyncError } from '../../common/errors.js';
import type { L3 } from '../model/conntrack.js';
import type { LinkConfig } from '../config/types.js';
import type { QueueStats, LinkKind as StatsLinkKind } from '../stats.js';

/** Bytes of IP+UDP (28) or IP+TCP (40) headers conntrackd subtracts from the MTU (§1.1). */
export const HEADER_SIZE = { udp: 28, multicast: 28, tcp: 40 } as const;

/** How `-s link` names a link kind. */
export const STATS_KIND: Record<LinkConfig['kind'], StatsLinkKind> = { multicast: 'multicast', udp: 'UDP', tcp: 'TCP' };

/** Per-link counters (`-s link`), plain numbers on the hot path; Multichannel snapshots them. */
export interface ChannelCounters {
  bytesSent: number;
  bytesRecv: number;
  packetsSent: number;
  packetsRecv: number;
  errorSend: number;
  errorRecv: number;
  /** Datagrams (or TCP connections) refused because of their source address. */
  spoofed: number;
}

export function newCounters(): ChannelCounters {
  return { bytesSent: 0, bytesRecv: 0, packetsSent: 0, packetsRecv: 0, errorSend: 0, errorRecv: 0, spoofed: 0 };
}

/** What the kernel took of a link's socket options: buffer sizes read back (it doubles them), SO_NO_CHECK. */
export interface SocketBuffers {
  snd?: number;
  rcv?: number;
  /** `Checksum off` is in force (IPv4 datagram links with the addon). */
  checksumOff?: boolean;
}

/** TCP connection state, shown as `server=… client=…` (§4.4). */
export interface TcpState {
  server: boolean;
  client: boolean;
}

export interface Channel {
  readonly config: LinkConfig;
  /** Interface MTU read when the channel was built. */
  readonly mtu: number;
  /** MTU minus the IP+transport headers: the batch buffer size (§1.1). */
  readonly payloadLimit: number;
  readonly counters: ChannelCounters;
  /** Set by the owner before open(): every received datagram or stream chunk. */
  onReceive: (payload: Buffer) => void;
  open(): Promise<void>;
  /** Sends one datagram or stream write; failures are counted, never thrown. */
  send(payload: Buffer): void;
  socketBuffers(): SocketBuffers;
  /** TCP only. */
  tcpState?(): TcpState;
  /** TCP only: the error queue (`-s queue` "errorq"). */
  queueStats?(): QueueStats;
  close(): void;
}

/** The interface MTU from sysfs (conntrackd uses SIOCGIFMTU at start, §4.1). */
export function readMtu(device: string, sysfs = '/sys/class/net'): number {
  let text: string;
  try {
    text = readFileSync(`${sysfs}/${device}/mtu`, 'utf8');
  } catch (e) {
    throw new CtsyncError('ENGINE_CHANNEL', `can't open channel socket: no such interface \`${device}'`, { cause: e });
  }
  const mtu = Number.parseInt(text, 10);
  if (!Number.isFinite(mtu) || mtu <= 0) {
    throw new CtsyncError('ENGINE_CHANNEL', `can't open channel socket: bad MTU for \`${device}'`);
  }
  return mtu;
}

/** `MTU − 28` for UDP and multicast, `MTU − 40` for TCP (§1.1). */
export function payloadLimitFor(kind: LinkConfig['kind'], mtu: number): number {
  return mtu - HEADER_SIZE[kind];
}

export function channelError(link: LinkConfig, what: string, cause?: unknown): CtsyncError {
  const reason = cause instanceof Error ? `: ${cause.message}` : '';
  return new CtsyncError('ENGINE_CHANNEL', `can't open channel socket on \`${link.interface}': ${what}${reason}`, { cause });
}

const isLinkLocal6 = (addr: string): boolean => /^fe[89ab][0-9a-f]:/i.test(addr) || /^ff[0-9a-f]2:/i.test(addr);

/**
 * An IPv6 address with the interface as scope when it needs one (link-local unicast or
 * multicast): conntrackd sets sin6_scope_id = Interface index (§4.3); Node takes `%ifname`.
 */
export function scoped(family: L3, address: string, device: string): string {
  return family === 'ipv6' && isLinkLocal6(address) && !address.includes('%') ? `${address}%${device}` : address;
}

/** Drops the `%scope` suffix Node may add to IPv6 source addresses. */
export function unscoped(address: string): string {
  const i = address.indexOf('%');
  return i < 0 ? address : address.slice(0, i);
}

/**
 * Whether a source address (text) is the configured peer. BlockList compares canonical forms
 * (`::1` = `0::1`) but builds a SocketAddress per call: the text it last accepted is kept, so
 * a datagram from the peer costs one string compare.
 */
export function peerFilter(family: L3, address: string): (source: string) => boolean {
  const list = new BlockList();
  list.addAddress(unscoped(address), family);
  let known: string | undefined;
  return (source) => {
    if (source === known) return true;
    if (!list.check(source, family)) return false;
    known = source;
    return true;
  };
}

/** The ctnetlink addon, or undefined where it is not built (an unprivileged demo): links then do without FORCE. */
function optionalAddon(): CtnetlinkAddon | undefined {
  try {
    return loadAddon();
  } catch {
    return undefined;
  }
}

/**
 * Snd/RcvSocketBuffer on one of a TCP link's sockets (§4.6), through the descriptor of Node's
 * handle (net has no setter); what the kernel took, {} without the addon or a descriptor.
 */
export function setStreamBuffers(handle: unknown, link: LinkConfig): SocketBuffers {
  const fd = (handle as { _handle?: { fd?: number } | null })._handle?.fd;
  const addon = optionalAddon();
  if (addon === undefined || fd === undefined || fd < 0) return {};
  const r = addon.setSocketBuffers(fd, link.sndSocketBuffer ?? 0, link.rcvSocketBuffer ?? 0);
  return typeof r === 'number' ? {} : { snd: r[0], rcv: r[1] };
}

/**
 * Binds a datagram link's socket to `address` (`%scope` for IPv6 link-local) and `port`, with
 * conntrackd's socket options (§4.6): SO_SNDBUFFORCE/SO_RCVBUFFORCE, past net.core.wmem_max/
 * rmem_max, and SO_NO_CHECK for `Checksum off`. Node can set neither, so with the ctnetlink
 * addon the socket is made and bound there and dgram wraps it; without the addon (an
 * unprivileged demo) dgram binds it and sets the capped SO_SNDBUF/SO_RCVBUF. Returns what
 * the kernel took.
 */
export async function bindDgram(socket: DgramSocket, link: LinkConfig, port: number, address: string): Promise<SocketBuffers> {
  const [addr, scope = ''] = address.split('%') as [string, string?];
  const addon = optionalAddon();
  if (addon === undefined) {
    await dgramBind(socket, { port, address });
    if (link.sndSocketBuffer !== undefined) socket.setSendBufferSize(link.sndSocketBuffer);
    if (link.rcvSocketBuffer !== undefined) socket.setRecvBufferSize(link.rcvSocketBuffer);
    return { snd: socket.getSendBufferSize(), rcv: socket.getRecvBufferSize() };
  }
  const v6 = link.family === 'ipv6';
  const fd = addon.openDatagram(v6, addr, port, scope, link.sndSocketBuffer ?? 0, link.rcvSocketBuffer ?? 0, !link.checksum);
  if (fd < 0) throw Object.assign(new Error(`bind ${address}:${port}: ${errnoName(-fd)}`), { code: errnoName(-fd) });
  await dgramBind(socket, { fd });
  const taken: SocketBuffers = { snd: socket.getSendBufferSize(), rcv: socket.getRecvBufferSize() };
  if (!link.checksum && !v6) taken.checksumOff = true;
  return taken;
}

function dgramBind(socket: DgramSocket, options: BindOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error): void => reject(e);
    socket.once('error', fail);
    socket.bind(options, () => {
      socket.off('error', fail);
      resolve();
    });
  });
}

/**
 * One datagram; a synchronous or asynchronous failure (no route, link down) counts as a send
 * error like conntrackd's failed sendto(). Bytes count when the kernel accepted them.
 */
export function sendDatagram(
  socket: DgramSocket | undefined,
  payload: Buffer,
  port: number,
  address: string,
  counters: { bytesSent: number; packetsSent: number; errorSend: number },
): void {
  if (socket === undefined) {
    counters.errorSend++;
    return;
  }
  try {
    socket.send(payload, port, address, (err) => {
      if (err) {
        counters.errorSend++;
        return;
      }
      counters.bytesSent += payload.length;
      counters.packetsSent++;
    });
  } catch {
    counters.errorSend++;
  }
}
