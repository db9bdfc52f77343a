/**
 * The channels over real veth links between namespaces (shared/spec/conntrackd.md §4): one
 * peer process per namespace (test/engine/channel/peer.mjs) runs a Multichannel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LinkConfig } from '../../src/engine/config/types.js';
import { buildChannels } from '../engine/channel/peer-harness.js';
import type { BuiltChannels, ChannelPeer } from '../engine/channel/peer-harness.js';
import { cleanup, Netns, netnsSupport, veth, waitFor } from '../helpers/netns.js';

const ns = netnsSupport();
const PORT = 3780;

function link(kind: LinkConfig['kind'], iface: string, over: Partial<LinkConfig>): LinkConfig {
  return { kind, isDefault: false, family: 'ipv4', port: PORT, interface: iface, checksum: true, errorQueueLength: 16, ...over };
}

/** The channel-level payloads B received, as strings. */
const texts = (p: ChannelPeer): string[] => p.received().map((r) => r.data.toString());
const hex = (s: string): string => Buffer.from(s).toString('hex');

/** Sends one datagram from `src` in `from` (raw node:dgram, to play a stranger). */
function stranger(from: Netns, src: string, dst: string, opts: { mcastIf?: string } = {}): void {
  const fam = dst.includes(':') ? 'udp6' : 'udp4';
  from.run(process.execPath, [
    '-e',
    `const s = require('node:dgram').createSocket('${fam}');
     s.bind(0, '${src}', () => { ${opts.mcastIf ? `s.setMulticastInterface('${opts.mcastIf}');` : ''}
       s.send(Buffer.from('spoof'), ${PORT}, '${dst}', () => s.close()); });`,
  ]);
}

describe.skipIf(!ns.ok)(`channels between namespaces${ns.ok ? '' : ` (skipped: ${ns.reason})`}`, () => {
  let built: BuiltChannels;
  let a: Netns;
  let b: Netns;
  const peers: ChannelPeer[] = [];
  const start = (n: Netns, links: LinkConfig[]): ChannelPeer => {
    const p = built.start(n, links);
    peers.push(p);
    return p;
  };

  beforeAll(() => {
    built = buildChannels();
    a = new Netns('cha');
    b = new Netns('chb');
    veth(a, 's0', b, 's0');
    veth(a, 's1', b, 's1');
    a.addr('s0', '10.200.0.1/24');
    b.addr('s0', '10.200.0.2/24');
    b.addr('s0', '10.200.0.3/24');
    a.addr('s0', 'fd00:200::1/64');
    b.addr('s0', 'fd00:200::2/64');
    b.addr('s0', 'fd00:200::3/64');
    a.addr('s1', '10.201.0.1/24');
    b.addr('s1', '10.201.0.2/24');
  }, 60_000);

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.quit()));
    await cleanup();
  });

  async function exchange(la: LinkConfig[], lb: LinkConfig[]): Promise<[ChannelPeer, ChannelPeer]> {
    const pa = start(a, la);
    const pb = start(b, lb);
    await Promise.all([pa.ready(), pb.ready()]);
    return [pa, pb];
  }

  /** Sends until the other side got it (TCP needs its client connected first). */
  async function deliver(from: ChannelPeer, to: ChannelPeer, text: string): Promise<void> {
    const ok = await waitFor(() => {
      if (!texts(to).join('').includes(text)) from.command(`send ${hex(text)}`);
      return texts(to).join('').includes(text);
    }, 6000, 200);
    expect(ok, `${text} not delivered; stderr: ${to.stderr.join('')}`).toBe(true);
  }

  it('UDP IPv4: payloads both ways, MTU − 28, a datagram from another address is dropped and counted', async () => {
    const [pa, pb] = await exchange(
      [link('udp', 's0', { address: '10.200.0.1', destination: '10.200.0.2', sndSocketBuffer: 65536, rcvSocketBuffer: 65536 })],
      [link('udp', 's0', { address: '10.200.0.2', destination: '10.200.0.1' })],
    );
    const ready = pa.events.find((e) => e.ev === 'ready')!;
    expect(ready.payloadLimit).toBe(1472);
    // SO_SNDBUF/SO_RCVBUF read back doubled by the kernel.
    expect((ready.info as Array<{ socketBuffers: { snd: number; rcv: number } }>)[0]!.socketBuffers).toEqual({ snd: 131072, rcv: 131072 });
    pa.command(`send ${hex('a->b')}`);
    pb.command(`send ${hex('b->a')}`);
    expect(await waitFor(() => texts(pb).includes('a->b') && texts(pa).includes('b->a'), 5000)).toBe(true);
    stranger(b, '10.200.0.3', '10.200.0.1');
    const s = await waitFor(async () => {
      const st = await pa.stats();
      return st.links[0]!.spoofed === 1 ? st : undefined;
    }, 5000);
    expect(s?.links[0]).toMatchObject({ kind: 'UDP', device: 's0', status: 'RUNNING', active: true, packetsRecv: 1, bytesRecv: 4, packetsSent: 1, bytesSent: 4 });
    expect(texts(pa)).toEqual(['b->a']);
    await Promise.all([pa.quit(), pb.quit()]);
  });

  it('UDP IPv6: payloads both ways, stranger dropped', async () => {
    const [pa, pb] = await exchange(
      [link('udp', 's0', { family: 'ipv6', address: 'fd00:200::1', destination: 'fd00:200::2' })],
      [link('udp', 's0', { family: 'ipv6', address: 'fd00:200::2', destination: 'fd00:200:0:0::1' })],
    );
    pa.command(`send ${hex('a6')}`);
    pb.command(`send ${hex('b6')}`);
    expect(await waitFor(() => texts(pb).includes('a6') && texts(pa).includes('b6'), 5000)).toBe(true);
    stranger(b, 'fd00:200::3', 'fd00:200::1');
    expect(await waitFor(async () => (await pa.stats()).links[0]!.spoofed === 1, 5000)).toBe(true);
    expect(texts(pa)).toEqual(['b6']);
    await Promise.all([pa.quit(), pb.quit()]);
  });

  it('Multicast IPv4: group delivery both ways, a source off the link subnets is dropped', async () => {
    const m = (addr: string): LinkConfig => link('multicast', 's0', { address: '225.0.0.50', ipv4Interface: addr });
    const [pa, pb] = await exchange([m('10.200.0.1')], [m('10.200.0.2')]);
    pa.command(`send ${hex('ma')}`);
    pb.command(`send ${hex('mb')}`);
    expect(await waitFor(() => texts(pb).includes('ma') && texts(pa).includes('mb'), 5000)).toBe(true);
    // Loopback is off: a node never hears itself.
    expect(texts(pa)).toEqual(['mb']);
    b.addr('s0', '192.168.77.2/32');
    stranger(b, '192.168.77.2', '225.0.0.50', { mcastIf: '192.168.77.2' });
    expect(await waitFor(async () => (await pa.stats()).links[0]!.spoofed === 1, 5000)).toBe(true);
    expect(texts(pa)).toEqual(['mb']);
    await Promise.all([pa.quit(), pb.quit()]);
  });

  it('Multicast IPv6: group delivery both ways on the interface scope', async () => {
    const m: LinkConfig = link('multicast', 's0', { family: 'ipv6', address: 'ff02::c7:3780' });
    const [pa, pb] = await exchange([m], [m]);
    pa.command(`send ${hex('m6a')}`);
    pb.command(`send ${hex('m6b')}`);
    expect(await waitFor(() => texts(pb).includes('m6a') && texts(pa).includes('m6b'), 5000)).toBe(true);
    await Promise.all([pa.quit(), pb.quit()]);
  });

  it('two links: the active interface goes down → failover to the backup, logged, delivery continues', async () => {
    const la = [
      link('udp', 's0', { isDefault: true, address: '10.200.0.1', destination: '10.200.0.2' }),
      link('udp', 's1', { address: '10.201.0.1', destination: '10.201.0.2' }),
    ];
    const lb = [
      link('udp', 's0', { address: '10.200.0.2', destination: '10.200.0.1' }),
      link('udp', 's1', { address: '10.201.0.2', destination: '10.201.0.1' }),
    ];
    const [pa, pb] = await exchange(la, lb);
    pa.command(`send ${hex('before')}`);
    expect(await waitFor(() => pb.received().some((r) => r.link === 0 && r.data.toString() === 'before'), 5000)).toBe(true);
    a.run('ip', ['link', 'set', 's0', 'down']);
    try {
      expect(await waitFor(() => pa.logs().includes("notice device `s1' becomes dedicated link"), 5000)).toBe(true);
      pa.command(`send ${hex('after')}`);
      expect(await waitFor(() => pb.received().some((r) => r.link === 1 && r.data.toString() === 'after'), 5000)).toBe(true);
      // B's s0 lost its carrier (peer down): B fails over too and answers on s1.
      expect(await waitFor(() => pb.logs().includes("notice device `s1' becomes dedicated link"), 5000)).toBe(true);
      pb.command(`send ${hex('reply')}`);
      expect(await waitFor(() => pa.received().some((r) => r.link === 1 && r.data.toString() === 'reply'), 5000)).toBe(true);
      const st = await pa.stats();
      expect(st.current).toBe(1);
      expect(st.links.map((l) => [l.device, l.status, l.active])).toEqual([
        ['s0', 'DOWN', false],
        ['s1', 'RUNNING', true],
      ]);
      expect((await pb.stats()).links[0]!.status).toBe('NO-CARRIER');
    } finally {
      a.run('ip', ['link', 'set', 's0', 'up']);
      // An interface going down loses its IPv6 addresses (keep_addr_on_down=0).
      a.addr('s0', 'fd00:200::1/64');
    }
    await Promise.all([pa.quit(), pb.quit()]);
  });

  it('TCP IPv4: client sends, server receives, both ways; reconnects after the peer restarts', async () => {
    const la = [link('tcp', 's0', { address: '10.200.0.1', destination: '10.200.0.2' })];
    const lb = [link('tcp', 's0', { address: '10.200.0.2', destination: '10.200.0.1' })];
    const [pa, pb] = await exchange(la, lb);
    await deliver(pa, pb, 'ta');
    await deliver(pb, pa, 'tb');
    expect((await pa.stats()).links[0]).toMatchObject({ kind: 'TCP', tcpServerConnected: true, tcpClientConnected: true });
    await pb.quit();
    expect(await waitFor(async () => (await pa.stats()).links[0]!.tcpClientConnected === false, 5000)).toBe(true);
    // deliver() may have sent before the first connect: count from here.
    const errorsBefore = (await pa.stats()).links[0]!.errorSend as number;
    // While B is away sends fail (counted) and wait in the error queue.
    pa.command(`send ${hex('q1')}`);
    pa.command(`send ${hex('q2')}`);
    const down = await pa.stats();
    expect(down.queues[0]).toMatchObject({ name: 'errorq', current: 2, max: 16 });
    expect(down.links[0]!.errorSend).toBe(errorsBefore + 2);
    const pb2 = start(b, lb);
    await pb2.ready();
    // The client reconnects on its own (≤ 1/s) and the queue goes first, in order.
    expect(await waitFor(() => texts(pb2).join('') === 'q1q2', 5000)).toBe(true);
    await deliver(pa, pb2, 'again');
    expect(texts(pb2).join('')).toBe('q1q2again');
    const st = await pa.stats();
    expect(st.links[0]).toMatchObject({ tcpClientConnected: true });
    expect(st.queues[0]).toMatchObject({ current: 0 });
    await Promise.all([pa.quit(), pb2.quit()]);
  });

  it('TCP IPv6: payloads both ways', async () => {
    const [pa, pb] = await exchange(
      [link('tcp', 's0', { family: 'ipv6', address: 'fd00:200::1', destination: 'fd00:200::2' })],
      [link('tcp', 's0', { family: 'ipv6', address: 'fd00:200::2', destination: 'fd00:200::1' })],
    );
    await deliver(pa, pb, 't6a');
    await deliver(pb, pa, 't6b');
    expect((await pb.stats()).links[0]).toMatchObject({ tcpServerConnected: true, tcpClientConnected: true, spoofed: 0 });
    await Promise.all([pa.quit(), pb.quit()]);
  });
});
