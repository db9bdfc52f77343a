/**
 * `UDP {}` link (conntrackd `channel_udp.c`, shared/spec/conntrackd.md §4.3): a socket bound
 * to the local `IPvX_address:Port` (IPv6 scope = Interface) receives; datagrams go to
 * `IPvX_Destination_Address:Port`.
 *
 * conntrackd sends from a second, unbound socket. ctsyncd sends from the bound one: the
 * source address is then always the configured local address, which is what the peer's
 * source filter expects (a route-chosen source could be a secondary or VRRP address). A stock
 * conntrackd filters nothing on receive, so the fixed source port (= Port) does not matter.
 *
 * Source filter (ctsync addition; conntrackd parses anything that reaches the port): only
 * datagrams from the configured peer address are passed on, the others are counted as
 * `spoofed`.
 */
import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket } from 'node:dgram';
import type { BlockList } from 'node:net';
import type { LinkConfig } from '../config/types.js';
import type { Channel, SocketBuffers } from './channel.js';
import {
  applyDgramBuffers, bindDgram, channelError, newCounters, payloadLimitFor, peerFilter, readMtu, scoped, sendDatagram, unscoped,
} from './channel.js';

export class UdpChannel implements Channel {
  readonly mtu: number;
  readonly payloadLimit: number;
  readonly counters = newCounters();
  onReceive: (payload: Buffer) => void = () => undefined;
  private socket: Socket | undefined;
  private buffers: SocketBuffers = {};
  private readonly peer: BlockList;
  private readonly destination: string;

  constructor(
    readonly config: LinkConfig,
    mtu = readMtu(config.interface),
  ) {
    if (config.destination === undefined) throw channelError(config, 'no destination address');
    this.mtu = mtu;
    this.payloadLimit = payloadLimitFor('udp', mtu);
    this.destination = scoped(config.family, config.destination, config.interface);
    this.peer = peerFilter(config.family, config.destination);
  }

  async open(): Promise<void> {
    const c = this.config;
    const socket = createSocket({ type: c.family === 'ipv6' ? 'udp6' : 'udp4', reuseAddr: true });
    socket.on('message', (msg, rinfo) => this.message(msg, rinfo));
    // Receive errors (ICMP reports on some kernels) are counted, never fatal (§4.1).
    socket.on('error', () => this.counters.errorRecv++);
    const any = c.family === 'ipv6' ? '::' : '0.0.0.0';
    try {
      await bindDgram(socket, c.port, scoped(c.family, c.address ?? any, c.interface));
    } catch (e) {
      socket.close();
      throw channelError(c, `bind ${c.address ?? any}:${c.port}`, e);
    }
    this.buffers = applyDgramBuffers(socket, c);
    this.socket = socket;
  }

  private message(msg: Buffer, rinfo: RemoteInfo): void {
    if (!this.peer.check(unscoped(rinfo.address), this.config.family)) {
      this.counters.spoofed++;
      return;
    }
    this.counters.bytesRecv += msg.length;
    this.counters.packetsRecv++;
    this.onReceive(msg);
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
