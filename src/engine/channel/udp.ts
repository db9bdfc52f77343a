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
import type { Socket } from 'node:dgram';
import type { LinkConfig } from '../config/types.js';
import { bindDgram, channelError, peerFilter, readMtu, scoped } from './channel.js';
import type { SocketBuffers } from './channel.js';
import { DatagramChannel } from './datagram.js';

export class UdpChannel extends DatagramChannel {
  private readonly peer: (source: string) => boolean;

  constructor(config: LinkConfig, mtu = readMtu(config.interface)) {
    if (config.destination === undefined) throw channelError(config, 'no destination address');
    super(config, 'udp', mtu, scoped(config.family, config.destination, config.interface));
    this.peer = peerFilter(config.family, config.destination);
  }

  protected async bind(socket: Socket): Promise<SocketBuffers> {
    const c = this.config;
    const any = c.family === 'ipv6' ? '::' : '0.0.0.0';
    try {
      return await bindDgram(socket, c, c.port, scoped(c.family, c.address ?? any, c.interface));
    } catch (e) {
      throw channelError(c, `bind ${c.address ?? any}:${c.port}`, e);
    }
  }

  protected accepts(address: string): boolean {
    return this.peer(address);
  }
}
