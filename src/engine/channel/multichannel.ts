/**
 * The dedicated links of a Sync block (conntrackd `multichannel.c` + `sync-mode.c`'s
 * interface handler, shared/spec/conntrackd.md §4.1, §4.5): up to four channels of one
 * kind, all open and receiving, one current link that transmits. The current link changes
 * when the sync side sees a valid message on another link (`setActive`: a node follows its
 * peer's choice) or when the current link's interface stops being UP and RUNNING.
 */
import { CtsyncError } from '../../common/errors.js';
import type { LinkConfig } from '../config/types.js';
import type { LinkStats, QueueStats } from '../stats.js';
import type { Channel, SocketBuffers } from './channel.js';
import { STATS_KIND } from './channel.js';
import type { LinkStateSource } from './link-monitor.js';
import { SysfsLinkMonitor, linkStatus } from './link-monitor.js';
import { McastChannel } from './multicast.js';
import { TcpChannel } from './tcp.js';
import type { ReceiveHandler, Transport } from './transport.js';
import { UdpChannel } from './udp.js';

/** `MULTICHANNEL_MAX` (§4.1). */
export const MAX_LINKS = 4;

/** The daemon log, as far as the links use it (the daemon's EngineLog fits). */
export interface LinkLog {
  notice(message: string): void;
  warning(message: string): void;
  error(message: string): void;
}

/** Static facts of one link, for the operator and the JSON stats. */
export interface LinkInfo {
  device: string;
  mtu: number;
  payloadLimit: number;
  socketBuffers: SocketBuffers;
}

export interface MultichannelOptions {
  log: LinkLog;
  monitor?: LinkStateSource;
  /** Builds the channel of one link (tests substitute fakes). */
  createChannel?: (link: LinkConfig) => Channel;
}

export function createChannel(link: LinkConfig): Channel {
  switch (link.kind) {
    case 'udp':
      return new UdpChannel(link);
    case 'multicast':
      return new McastChannel(link);
    case 'tcp':
      return new TcpChannel(link);
  }
}

export class Multichannel implements Transport {
  readonly stream: boolean;
  /** Where every link delivers (the sync side's ReceiveHandler); set before open(). */
  onReceive: ReceiveHandler = () => undefined;
  private readonly channels: Channel[];
  private readonly monitor: LinkStateSource;
  private readonly log: LinkLog;
  private currentIndex: number;

  /** Builds every channel (reads the MTUs); nothing is opened yet. */
  constructor(links: readonly LinkConfig[], opts: MultichannelOptions) {
    if (links.length === 0 || links.length > MAX_LINKS) {
      throw new CtsyncError('ENGINE_CHANNEL', `${links.length} dedicated links configured, 1 to ${MAX_LINKS} are supported`);
    }
    const make = opts.createChannel ?? createChannel;
    this.channels = links.map((l) => make(l));
    this.stream = links[0]!.kind === 'tcp';
    this.log = opts.log;
    this.monitor = opts.monitor ?? new SysfsLinkMonitor();
    const preferred = links.findIndex((l) => l.isDefault);
    this.currentIndex = preferred < 0 ? 0 : preferred;
  }

  /** Index (config order) of the link that transmits. */
  get current(): number {
    return this.currentIndex;
  }

  get payloadLimit(): number {
    return this.channels[this.currentIndex]!.payloadLimit;
  }

  /**
   * Opens every link (all receive), then starts monitoring. A link that cannot be opened
   * fails the start-up like conntrackd's "can't open channel socket"; the links already
   * opened are closed again.
   */
  async open(): Promise<void> {
    const opened: Channel[] = [];
    try {
      for (const [i, ch] of this.channels.entries()) {
        ch.onReceive = (payload) => this.onReceive(payload, i);
        await ch.open();
        opened.push(ch);
        this.checkBuffers(ch);
      }
    } catch (e) {
      for (const ch of opened) ch.close();
      throw e;
    }
    this.monitor.start(
      this.channels.map((c) => c.config.interface),
      () => this.linkChanged(),
    );
  }

  /**
   * What a link's socket did not take of its config, said once at start (§4.6): buffer sizes
   * capped by net.core.wmem_max/rmem_max (no FORCE without the addon), none on TCP links
   * without the addon, and `Checksum off` where SO_NO_CHECK is not in force (no addon, or
   * IPv6: its UDP needs one).
   */
  private checkBuffers(ch: Channel): void {
    const c = ch.config;
    const got = ch.socketBuffers();
    const check = (option: string, wanted: number | undefined, effective: number | undefined, sysctl: string): void => {
      if (wanted === undefined) return;
      if (effective === undefined) {
        this.log.warning(`${option} is not applied on TCP link \`${c.interface}' (no ctnetlink addon)`);
      } else if (effective < 2 * wanted) {
        this.log.warning(`${option} ${wanted} on \`${c.interface}' capped to ${effective / 2} by ${sysctl}`);
      }
    };
    check('SndSocketBuffer', c.sndSocketBuffer, got.snd, 'net.core.wmem_max');
    check('RcvSocketBuffer', c.rcvSocketBuffer, got.rcv, 'net.core.rmem_max');
    if (!c.checksum && c.kind !== 'tcp' && !got.checksumOff) this.log.warning(`\`Checksum off' is not in force on \`${c.interface}': checksums stay on`);
  }

  send(payload: Buffer): void {
    this.channels[this.currentIndex]!.send(payload);
  }

  /** A valid message arrived on `link`: it becomes the transmit link (§4.5). */
  setActive(link: number): void {
    if (link >= 0 && link < this.channels.length) this.currentIndex = link;
  }

  /**
   * conntrackd's interface handler: when the current link is not both UP and RUNNING, the
   * first other link (config order, other device) that is UP or RUNNING takes over.
   */
  private linkChanged(): void {
    const device = this.channels[this.currentIndex]!.config.interface;
    const f = this.monitor.flags(device);
    if (f.up && f.running) return;
    for (const [i, ch] of this.channels.entries()) {
      const other = ch.config.interface;
      if (other === device) continue;
      const g = this.monitor.flags(other);
      if (g.up || g.running) {
        this.currentIndex = i;
        this.log.notice(`device \`${other}' becomes dedicated link`);
        return;
      }
    }
    this.log.error('no dedicated links available!');
  }

  /** `-s link`, config order; the current link has `active`. */
  stats(): LinkStats[] {
    return this.channels.map((ch, i) => {
      const c = ch.counters;
      const tcp = ch.tcpState?.();
      return {
        kind: STATS_KIND[ch.config.kind],
        device: ch.config.interface,
        status: linkStatus(this.monitor.flags(ch.config.interface)),
        active: i === this.currentIndex,
        bytesSent: BigInt(c.bytesSent),
        bytesRecv: BigInt(c.bytesRecv),
        packetsSent: BigInt(c.packetsSent),
        packetsRecv: BigInt(c.packetsRecv),
        errorSend: BigInt(c.errorSend),
        errorRecv: BigInt(c.errorRecv),
        spoofed: c.spoofed,
        ...(tcp ? { tcpServerConnected: tcp.server, tcpClientConnected: tcp.client } : {}),
      };
    });
  }

  /** The error queues of TCP links (`-s queue`), config order; empty for datagram links. */
  queues(): QueueStats[] {
    return this.channels.flatMap((ch) => (ch.queueStats ? [ch.queueStats()] : []));
  }

  info(): LinkInfo[] {
    return this.channels.map((ch) => ({
      device: ch.config.interface,
      mtu: ch.mtu,
      payloadLimit: ch.payloadLimit,
      socketBuffers: ch.socketBuffers(),
    }));
  }

  close(): void {
    this.monitor.stop();
    for (const ch of this.channels) ch.close();
  }
}
