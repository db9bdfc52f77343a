/**
 * `TCP {}` link (conntrackd `channel_tcp.c`, shared/spec/conntrackd.md §4.4). Each node has
 * a server and a client: the server listens on `IPvX_address:Port` (backlog 1, one peer at
 * a time, a new connection replaces the current one) and *receives*; the client connects to
 * `IPvX_Destination_Address:Port` and *sends*. So each direction has its own connection,
 * exactly as between two conntrackd (checked against conntrackd 1.4.7 in
 * test/integration/channel-conntrackd.test.ts).
 *
 * A payload that cannot be written (client not connected, or the socket's backlog past the
 * send buffer size, conntrackd's EAGAIN) is a send error and goes to the error queue, which
 * is retried before newer data. While disconnected the client reconnects at most once per
 * second (`TCP_CONNECT_TIMEOUT`); conntrackd only retries when it has something to send,
 * ctsyncd retries on a timer so that the queue drains and the stats show the real state.
 *
 * Snd/RcvSocketBuffer are set with conntrackd's FORCE options on the listening socket (the
 * accepted one inherits them) and on the client once connected; SndSocketBuffer also bounds
 * the write backlog above.
 */
import { createConnection, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import type { LinkConfig } from '../config/types.js';
import type { QueueStats } from '../stats.js';
import type { Channel, SocketBuffers, TcpState } from './channel.js';
import { channelError, newCounters, payloadLimitFor, peerFilter, readMtu, scoped, setStreamBuffers, unscoped } from './channel.js';
import { ErrorQueue } from './error-queue.js';

/** `TCP_CONNECT_TIMEOUT`: one connect attempt per second at most. */
export const RECONNECT_MS = 1000;
/** Write backlog treated as "would block" when SndSocketBuffer is not set (Linux wmem_default). */
const DEFAULT_SNDBUF = 212992;

export class TcpChannel implements Channel {
  readonly mtu: number;
  readonly payloadLimit: number;
  readonly counters = newCounters();
  readonly errorq: ErrorQueue;
  onReceive: (payload: Buffer) => void = () => undefined;
  private server: Server | undefined;
  private peerSocket: Socket | undefined;
  private client: Socket | undefined;
  private clientUp = false;
  private lastConnect = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly peer: (source: string) => boolean;
  private readonly destination: string;
  private readonly backlogLimit: number;
  private buffers: SocketBuffers = {};

  constructor(
    readonly config: LinkConfig,
    mtu = readMtu(config.interface),
  ) {
    if (config.destination === undefined) throw channelError(config, 'no destination address');
    this.mtu = mtu;
    this.payloadLimit = payloadLimitFor('tcp', mtu);
    this.destination = scoped(config.family, config.destination, config.interface);
    this.peer = peerFilter(config.family, config.destination);
    this.errorq = new ErrorQueue(config.errorQueueLength);
    this.backlogLimit = config.sndSocketBuffer ?? DEFAULT_SNDBUF;
  }

  async open(): Promise<void> {
    const c = this.config;
    const host = scoped(c.family, c.address ?? (c.family === 'ipv6' ? '::' : '0.0.0.0'), c.interface);
    const server = createServer({ keepAlive: true }, (s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(channelError(c, `listen ${host}:${c.port}`, e)));
      server.listen({ host, port: c.port, backlog: 1 }, () => resolve());
    });
    server.on('error', () => this.counters.errorRecv++);
    this.buffers = setStreamBuffers(server, c);
    this.server = server;
    this.connect();
  }

  /** One peer at a time: a new connection replaces the current one (§4.4). */
  private accept(s: Socket): void {
    if (!this.peer(unscoped(s.remoteAddress ?? ''))) {
      this.counters.spoofed++;
      s.destroy();
      return;
    }
    this.peerSocket?.destroy();
    this.peerSocket = s;
    s.on('data', (chunk: Buffer) => {
      this.counters.bytesRecv += chunk.length;
      this.counters.packetsRecv++;
      this.onReceive(chunk);
    });
    s.on('error', () => this.counters.errorRecv++);
    s.on('close', () => {
      if (this.peerSocket === s) this.peerSocket = undefined;
    });
  }

  private connect(): void {
    if (this.closed) return;
    this.lastConnect = Date.now();
    const c = this.config;
    const s = createConnection({
      host: this.destination,
      port: c.port,
      keepAlive: true,
      noDelay: true,
      ...(c.address !== undefined ? { localAddress: scoped(c.family, c.address, c.interface) } : {}),
    });
    this.client = s;
    s.on('connect', () => {
      setStreamBuffers(s, c);
      this.clientUp = true;
      this.errorq.drain((p) => this.write(p));
    });
    // Whatever the peer writes on our client connection is not for us (it sends on its own).
    s.resume();
    s.on('error', () => undefined);
    s.on('close', () => {
      if (this.client !== s) return;
      this.client = undefined;
      this.clientUp = false;
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    const wait = Math.max(0, this.lastConnect + RECONNECT_MS - Date.now());
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect();
    }, wait);
    this.reconnectTimer.unref();
  }

  /** Writes one payload if the client can take it now; false is conntrackd's failed send(). */
  private write(payload: Buffer): boolean {
    const s = this.client;
    if (!this.clientUp || s === undefined || s.writableLength > this.backlogLimit) return false;
    s.write(payload);
    this.counters.bytesSent += payload.length;
    this.counters.packetsSent++;
    return true;
  }

  send(payload: Buffer): void {
    if (this.errorq.drain((p) => this.write(p)) && this.write(payload)) return;
    this.counters.errorSend++;
    this.errorq.push(payload);
  }

  socketBuffers(): SocketBuffers {
    return this.buffers;
  }

  tcpState(): TcpState {
    return { server: this.peerSocket !== undefined, client: this.clientUp };
  }

  queueStats(): QueueStats {
    return this.errorq.stats();
  }

  close(): void {
    this.closed = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.client?.destroy();
    this.client = undefined;
    this.clientUp = false;
    this.peerSocket?.destroy();
    this.peerSocket = undefined;
    this.server?.close();
    this.server = undefined;
  }
}
