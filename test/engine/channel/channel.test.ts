import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isCtsyncError } from '../../../src/common/errors.js';
import type { LinkConfig } from '../../../src/engine/config/types.js';
import { payloadLimitFor, readMtu } from '../../../src/engine/channel/channel.js';
import { ErrorQueue } from '../../../src/engine/channel/error-queue.js';
import { SysfsLinkMonitor, linkStatus } from '../../../src/engine/channel/link-monitor.js';
import { TcpChannel } from '../../../src/engine/channel/tcp.js';
import { UdpChannel } from '../../../src/engine/channel/udp.js';
import { addonAvailable } from '../../../src/engine/kernel/addon.js';

const sysfs = mkdtempSync(join(tmpdir(), 'ctsync-sysfs-'));
afterAll(() => rmSync(sysfs, { recursive: true, force: true }));

function fakeDev(name: string, files: Record<string, string>): void {
  mkdirSync(join(sysfs, name), { recursive: true });
  for (const [f, v] of Object.entries(files)) writeFileSync(join(sysfs, name, f), `${v}\n`);
}

describe('MTU and payload limit (§1.1)', () => {
  it('reads the MTU and subtracts 28 (UDP, multicast) or 40 (TCP)', () => {
    fakeDev('sync0', { mtu: '9000' });
    const mtu = readMtu('sync0', sysfs);
    expect(mtu).toBe(9000);
    expect(payloadLimitFor('udp', mtu)).toBe(8972);
    expect(payloadLimitFor('multicast', 1500)).toBe(1472);
    expect(payloadLimitFor('tcp', 1500)).toBe(1460);
  });

  it('a missing interface is ENGINE_CHANNEL with conntrackd’s sentence', () => {
    let err: unknown;
    try {
      readMtu('nosuch0', sysfs);
    } catch (e) {
      err = e;
    }
    expect(isCtsyncError(err, 'ENGINE_CHANNEL')).toBe(true);
    expect((err as Error).message).toMatch(/^can't open channel socket/);
  });

  it('the real lo MTU gives UDP and TCP channel limits', () => {
    const lo = readMtu('lo');
    const base: LinkConfig = { kind: 'udp', isDefault: false, family: 'ipv4', destination: '127.0.0.1', port: 1, interface: 'lo', checksum: true, errorQueueLength: 4 };
    expect(new UdpChannel(base).payloadLimit).toBe(lo - 28);
    expect(new TcpChannel({ ...base, kind: 'tcp' }).payloadLimit).toBe(lo - 40);
  });
});

describe('link status (§5.4)', () => {
  it('RUNNING / NO-CARRIER / DOWN from flags and operstate', async () => {
    fakeDev('a0', { flags: '0x1003', operstate: 'up' });
    fakeDev('b0', { flags: '0x1003', operstate: 'lowerlayerdown' });
    fakeDev('c0', { flags: '0x1002', operstate: 'down' });
    const m = new SysfsLinkMonitor(10, sysfs);
    let changes = 0;
    m.start(['a0', 'b0', 'c0', 'gone0'], () => changes++);
    expect(['a0', 'b0', 'c0', 'gone0'].map((d) => linkStatus(m.flags(d)))).toEqual(['RUNNING', 'NO-CARRIER', 'DOWN', 'DOWN']);
    fakeDev('a0', { flags: '0x1002', operstate: 'down' });
    await new Promise((r) => setTimeout(r, 60));
    m.stop();
    expect(changes).toBe(1);
    expect(linkStatus(m.flags('a0'))).toBe('DOWN');
  });
});

describe('error queue (§4.4)', () => {
  it('keeps the newest ErrorQueueLength payloads and drains oldest first', () => {
    const q = new ErrorQueue(2);
    for (const s of ['1', '2', '3']) q.push(Buffer.from(s));
    expect(q.stats()).toEqual({ name: 'errorq', current: 2, max: 2, noSpace: 1 });
    const out: string[] = [];
    expect(q.drain((p) => (out.push(String(p)), out.length < 1))).toBe(false);
    expect(q.drain((p) => (out.push(String(p)), true))).toBe(true);
    expect(out).toEqual(['2', '2', '3']);
  });
});

describe('TcpChannel on loopback', () => {
  it('queues while the peer is away, retries the queue before newer data, reconnects', async () => {
    const port = 20000 + (process.pid % 20000);
    const link: LinkConfig = {
      kind: 'tcp', isDefault: false, family: 'ipv4', address: '127.0.0.1', destination: '127.0.0.1', port, interface: 'lo', checksum: true, errorQueueLength: 2,
    };
    // Our channel listens on the same port it connects to: its client reaches its own server.
    const ch = new TcpChannel(link, 1500);
    const got: string[] = [];
    ch.onReceive = (p) => got.push(p.toString());
    await ch.open();
    expect(ch.tcpState()).toEqual({ server: false, client: false });
    // Before the first connect completes, sends fail and are queued (2 max: '1' dropped).
    for (const s of ['1', '2', '3']) ch.send(Buffer.from(s));
    expect(ch.counters.errorSend).toBe(3);
    expect(ch.errorq.stats()).toMatchObject({ current: 2, noSpace: 1 });
    const deadline = Date.now() + 3000;
    while (got.join('') !== '23' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(got.join('')).toBe('23');
    ch.send(Buffer.from('4'));
    while (!got.join('').endsWith('4') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(got.join('')).toBe('234');
    expect(ch.tcpState()).toEqual({ server: true, client: true });
    expect(ch.counters).toMatchObject({ packetsSent: 3, bytesSent: 3, bytesRecv: 3 });
    ch.close();
  });

  it('a new connection replaces the current one; reconnects at most once per second', async () => {
    const port = 20001 + (process.pid % 20000);
    const peer = createServer();
    const accepted: Socket[] = [];
    peer.on('connection', (s) => accepted.push(s));
    await new Promise<void>((r) => peer.listen(port + 1, '127.0.0.1', r));
    const link: LinkConfig = {
      kind: 'tcp', isDefault: false, family: 'ipv4', address: '127.0.0.2', destination: '127.0.0.1', port: port + 1, interface: 'lo', checksum: true, errorQueueLength: 8,
    };
    const ch = new TcpChannel(link, 1500);
    try {
      await ch.open();
      const until = (f: () => boolean) =>
        new Promise<void>((resolve, reject) => {
          const t0 = Date.now();
          const i = setInterval(() => {
            if (f()) (clearInterval(i), resolve());
            else if (Date.now() - t0 > 4000) (clearInterval(i), reject(new Error('timeout')));
          }, 10);
        });
      await until(() => accepted.length === 1 && ch.tcpState().client);
      const t0 = Date.now();
      accepted[0]!.destroy();
      await until(() => accepted.length === 2);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      expect(accepted[1]!.remoteAddress).toBe('127.0.0.2');
      // Our server takes one peer at a time: a second client replaces the first.
      const { createConnection } = await import('node:net');
      const c1 = createConnection({ host: '127.0.0.2', port: port + 1, localAddress: '127.0.0.1' });
      await until(() => ch.tcpState().server);
      const c2 = createConnection({ host: '127.0.0.2', port: port + 1, localAddress: '127.0.0.1' });
      const c1closed = new Promise((r) => c1.once('close', r));
      await c1closed;
      c2.write('hi');
      const got: string[] = [];
      ch.onReceive = (p) => got.push(String(p));
      await until(() => got.join('') === 'hi');
      c2.destroy();
      // A connection from another address is refused and counted.
      const bad = createConnection({ host: '127.0.0.2', port: port + 1, localAddress: '127.0.0.3' });
      await new Promise((r) => bad.once('close', r));
      expect(ch.counters.spoofed).toBe(1);
    } finally {
      ch.close();
      for (const s of accepted) s.destroy();
      peer.close();
    }
  });
});

const optionsSkip = process.getuid?.() !== 0 ? 'needs root (CAP_NET_ADMIN for SO_*BUFFORCE)' : !addonAvailable() ? 'the ctnetlink addon is not built' : '';

/** Past both net.core.wmem_max and rmem_max: only the FORCE options give it. */
const pastSysctl = () => 2 * Math.max(Number(readFileSync('/proc/sys/net/core/wmem_max', 'utf8')), Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8')));

/** Two ends of a loopback link (127.0.0.1 ↔ 127.0.0.2) asking for buffers of `wanted` bytes. */
function forcedPair(kind: 'udp' | 'tcp', port: number, wanted: number): [LinkConfig, LinkConfig] {
  const link = (local: string, peer: string): LinkConfig => ({
    kind, isDefault: false, family: 'ipv4', address: local, destination: peer, port, interface: 'lo', checksum: kind === 'tcp',
    errorQueueLength: 4, sndSocketBuffer: wanted, rcvSocketBuffer: wanted,
  });
  return [link('127.0.0.1', '127.0.0.2'), link('127.0.0.2', '127.0.0.1')];
}

/** What `b` received, once `a` sent `text` (up to 2 s). */
async function carries(a: { send(p: Buffer): void }, b: { onReceive: (p: Buffer) => void }, text: string): Promise<string[]> {
  const got: string[] = [];
  b.onReceive = (p) => got.push(String(p));
  a.send(Buffer.from(text));
  for (let i = 0; i < 200 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  return got;
}

describe.skipIf(optionsSkip !== '')(`link socket options, as conntrackd sets them (§4.6)${optionsSkip ? ` (skipped: ${optionsSkip})` : ''}`, () => {
  it('SndSocketBuffer/RcvSocketBuffer are forced past wmem_max/rmem_max and `Checksum off` is in force; the link still works', async () => {
    const wanted = pastSysctl();
    const [la, lb] = forcedPair('udp', 31000 + (process.pid % 1000), wanted);
    const a = new UdpChannel(la);
    const b = new UdpChannel(lb);
    await a.open();
    await b.open();
    try {
      // the kernel doubles what it is given
      expect(a.socketBuffers()).toEqual({ snd: 2 * wanted, rcv: 2 * wanted, checksumOff: true });
      expect(await carries(a, b, 'over a wrapped socket')).toEqual(['over a wrapped socket']);
      expect(a.counters.packetsSent).toBe(1);
    } finally {
      a.close();
      b.close();
    }
  });

  it('on a TCP link both connections (client and accepted) carry the forced sizes, as ss reads them; data flows', async () => {
    const wanted = pastSysctl();
    const port = 32000 + (process.pid % 1000);
    const [la, lb] = forcedPair('tcp', port, wanted);
    const a = new TcpChannel(la);
    const b = new TcpChannel(lb);
    await a.open();
    await b.open();
    try {
      for (let i = 0; i < 300 && !(a.tcpState().client && a.tcpState().server && b.tcpState().client && b.tcpState().server); i++) {
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(a.socketBuffers()).toEqual({ snd: 2 * wanted, rcv: 2 * wanted });
      expect(await carries(a, b, 'over a forced TCP link')).toEqual(['over a forced TCP link']);
      // every established connection on the link's port, both ends, as the kernel reports them
      const ss = execFileSync('ss', ['-tmnH', 'state', 'established', `( sport = :${port} or dport = :${port} )`], { encoding: 'utf8' });
      const mem = [...ss.matchAll(/skmem:\(r\d+,rb(\d+),t\d+,tb(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
      expect(mem).toHaveLength(4);
      expect(mem.every(([rb, tb]) => rb === 2 * wanted && tb === 2 * wanted)).toBe(true);
    } finally {
      a.close();
      b.close();
    }
  });
});
