/**
 * `Multicast {}` link (conntrackd `channel_mcast.c`, shared/spec/conntrackd.md §4.2): one
 * UDP socket bound to `group:Group` (the port), member of the group on the sync interface
 * (IPv4: `IPv4_interface`; IPv6: the interface's index), loopback off, multicast interface
 * set, TTL 1. It also sends (to group:Group); conntrackd uses a second socket, which only
 * changes the source port the peer never looks at.
 *
 * Source filter: conntrackd parses anything that reaches the port. A sync peer is on the
 * link, so ctsyncd drops datagrams whose source is not on one of the interface's subnets.
 * The precise test would be the arrival interface (IP_PKTINFO), which node:dgram does not
 * expose; binding to the group already keeps unicast out, and the subnet test keeps out what
 * was routed in from elsewhere.
 */
import type { Socket } from 'node:dgram';
import { BlockList } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { LinkConfig } from '../config/types.js';
import { bindDgram, channelError, readMtu, scoped, unscoped } from './channel.js';
import type { SocketBuffers } from './channel.js';
import { DatagramChannel } from './datagram.js';

/** Subnets are re-read at most this often, when a datagram fails the test (addresses change). */
const SUBNET_REFRESH_MS = 1000;

export class McastChannel extends DatagramChannel {
  private readonly group: string;
  private subnets = new BlockList();
  private subnetsReadAt = 0;
  /** The source text last found on the subnets (a check costs a SocketAddress; see peerFilter). */
  private known: string | undefined;

  constructor(config: LinkConfig, mtu = readMtu(config.interface)) {
    if (config.address === undefined) throw channelError(config, 'no multicast group address');
    if (config.family === 'ipv4' && config.ipv4Interface === undefined) throw channelError(config, 'no IPv4_interface');
    const group = scoped(config.family, config.address, config.interface);
    super(config, 'multicast', mtu, group);
    this.group = group;
  }

  /** IPv4: the `IPv4_interface` address; IPv6: `::%ifname` (libuv takes the scope as index). */
  private get localInterface(): string {
    return this.config.family === 'ipv4' ? this.config.ipv4Interface! : `::%${this.config.interface}`;
  }

  protected async bind(socket: Socket): Promise<SocketBuffers> {
    const c = this.config;
    let buffers: SocketBuffers;
    try {
      buffers = await bindDgram(socket, c, c.port, this.group);
      socket.addMembership(this.group, this.localInterface);
      socket.setMulticastInterface(this.localInterface);
      socket.setMulticastLoopback(false);
      socket.setMulticastTTL(1);
    } catch (e) {
      throw channelError(c, `multicast ${c.address}:${c.port}`, e);
    }
    this.readSubnets();
    return buffers;
  }

  private readSubnets(): void {
    const list = new BlockList();
    for (const a of networkInterfaces()[this.config.interface] ?? []) {
      if (a.cidr === null) continue;
      const [net, prefix] = a.cidr.split('/');
      list.addSubnet(unscoped(net!), Number(prefix), a.family === 'IPv6' ? 'ipv6' : 'ipv4');
    }
    this.subnets = list;
    this.subnetsReadAt = Date.now();
    this.known = undefined;
  }

  protected accepts(address: string): boolean {
    if (address === this.known) return true;
    const type = this.config.family;
    if (!this.subnets.check(address, type)) {
      if (Date.now() - this.subnetsReadAt < SUBNET_REFRESH_MS) return false;
      this.readSubnets();
      if (!this.subnets.check(address, type)) return false;
    }
    this.known = address;
    return true;
  }
}
