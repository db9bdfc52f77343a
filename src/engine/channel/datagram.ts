/**
 * What the UDP and Multicast links share (conntrackd `channel_udp.c` / `channel_mcast.c`):
 * one datagram socket that receives and sends, a source filter on receive (the ctsync
 * addition: what fails it is counted as `spoofed`, never parsed), counters, and the socket
 * options the kernel took. The links differ only in how the socket is bound
 * and which sources they accept.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket, SocketOptions } from 'node:dgram';
import { jsBuffer } from '../../common/js-buffer.js';
import type { LinkConfig } from '../config/types.js';
import type { Channel, SocketBuffers } from './channel.js';
import { newCounters, payloadLimitFor, sendDatagram, unscoped } from './channel.js';

/**
 * The addresses of a link are IP literals of its family (the config grammar takes nothing
 * else): resolved as they are, at once. Node's default resolver answers a literal on the next
 * tick, a deferral (and an async-hooks scope) per datagram sent.
 */
function literal(family: 4 | 6): NonNullable<SocketOptions['lookup']> {
  return (address, _options, callback) => callback(null, address, family);
}

export abstract class DatagramChannel implements Channel {
  readonly payloadLimit: number;
  readonly counters = newCounters();
  onReceive: (payload: Buffer) => void = () => undefined;
  private socket: Socket | undefined;
  private buffers: SocketBuffers = {};

  constructor(
    readonly config: LinkConfig,
    kind: 'udp' | 'multicast',
    readonly mtu: number,
    /** Where datagrams go (scoped for IPv6 link-local). */
    private readonly destination: string,
  ) {
    this.payloadLimit = payloadLimitFor(kind, mtu);
  }

  /** Bind the socket (and join a group) with the link's socket options; throws a ChannelError. */
  protected abstract bind(socket: Socket): Promise<SocketBuffers>;

  /** Whether a datagram from `address` (unscoped) comes from a sync peer. */
  protected abstract accepts(address: string): boolean;

  async open(): Promise<void> {
    const v6 = this.config.family === 'ipv6';
    const socket = createSocket({ type: v6 ? 'udp6' : 'udp4', reuseAddr: true, lookup: literal(v6 ? 6 : 4) });
    socket.on('message', (msg, rinfo) => this.message(msg, rinfo));
    // Receive errors (ICMP reports on some kernels) are counted, never fatal (§4.1).
    socket.on('error', () => this.counters.errorRecv++);
    try {
      this.buffers = await this.bind(socket);
    } catch (e) {
      socket.close();
      throw e;
    }
    this.socket = socket;
  }

  private message(msg: Buffer, rinfo: RemoteInfo): void {
    if (!this.accepts(unscoped(rinfo.address))) {
      this.counters.spoofed++;
      return;
    }
    this.counters.bytesRecv += msg.length;
    this.counters.packetsRecv++;
    this.onReceive(jsBuffer(msg));
  }

  send(payload: Buffer): void {
    sendDatagram(this.socket, payload, this.config.port, this.destination, this.counters);
  }

  socketBuffers(): SocketBuffers {
    return this.buffers;
  }

  close(): void {
    this.socket?.close();
    this.socket = undefined;
  }
}
