import { describe, expect, it } from 'vitest';
import type { LinkConfig } from '../../../src/engine/config/types.js';
import type { Channel } from '../../../src/engine/channel/channel.js';
import { newCounters, payloadLimitFor } from '../../../src/engine/channel/channel.js';
import type { LinkFlags, LinkStateSource } from '../../../src/engine/channel/link-monitor.js';
import { Multichannel } from '../../../src/engine/channel/multichannel.js';

function link(iface: string, isDefault = false, kind: LinkConfig['kind'] = 'udp'): LinkConfig {
  return { kind, isDefault, family: 'ipv4', address: '10.0.0.1', destination: '10.0.0.2', port: 3780, interface: iface, checksum: true, errorQueueLength: 128 };
}

class FakeChannel implements Channel {
  readonly counters = newCounters();
  readonly payloadLimit: number;
  readonly sent: Buffer[] = [];
  opened = false;
  closed = false;
  onReceive: (payload: Buffer) => void = () => undefined;
  constructor(readonly config: LinkConfig, readonly mtu: number, private readonly failOpen = false) {
    this.payloadLimit = payloadLimitFor(config.kind, mtu);
  }
  async open(): Promise<void> {
    if (this.failOpen) throw new Error('bind failed');
    this.opened = true;
  }
  send(p: Buffer): void {
    this.sent.push(p);
    this.counters.packetsSent++;
  }
  socketBuffers() {
    if (this.config.kind === 'tcp') return {};
    // SO_NO_CHECK is in force on the links whose device name says so (the addon's sockets)
    return { snd: 4096, rcv: 2 << 20, ...(!this.config.checksum && this.config.interface.endsWith('nc') ? { checksumOff: true } : {}) };
  }
  close(): void {
    this.closed = true;
  }
}

class FakeMonitor implements LinkStateSource {
  state = new Map<string, LinkFlags>();
  onChange: () => void = () => undefined;
  stopped = false;
  flags(d: string): LinkFlags {
    return this.state.get(d) ?? { up: false, running: false };
  }
  start(devices: readonly string[], onChange: () => void): void {
    for (const d of devices) if (!this.state.has(d)) this.state.set(d, { up: true, running: true });
    this.onChange = onChange;
  }
  stop(): void {
    this.stopped = true;
  }
  set(d: string, up: boolean, running: boolean): void {
    this.state.set(d, { up, running });
    this.onChange();
  }
}

function setup(links: LinkConfig[], mtus: number[] = links.map(() => 1500)) {
  const log: string[] = [];
  const monitor = new FakeMonitor();
  const channels: FakeChannel[] = [];
  const mc = new Multichannel(links, {
    log: { notice: (m) => log.push(`notice ${m}`), warning: (m) => log.push(`warning ${m}`), error: (m) => log.push(`ERROR ${m}`) },
    monitor,
    createChannel: (l) => {
      const ch = new FakeChannel(l, mtus[channels.length]!);
      channels.push(ch);
      return ch;
    },
  });
  return { mc, log, monitor, channels };
}

describe('Multichannel selection', () => {
  it('starts on the Default link, else the first', () => {
    expect(setup([link('a'), link('b', true)]).mc.current).toBe(1);
    expect(setup([link('a'), link('b')]).mc.current).toBe(0);
  });

  it('all links receive with their index, only the current one transmits', async () => {
    const { mc, channels } = setup([link('a'), link('b')]);
    const got: Array<[string, number]> = [];
    mc.onReceive = (p, i) => got.push([p.toString(), i]);
    await mc.open();
    channels[1]!.onReceive(Buffer.from('x'));
    channels[0]!.onReceive(Buffer.from('y'));
    expect(got).toEqual([['x', 1], ['y', 0]]);
    mc.send(Buffer.from('out'));
    expect(channels[0]!.sent.map(String)).toEqual(['out']);
    expect(channels[1]!.sent).toEqual([]);
    mc.setActive(1);
    mc.send(Buffer.from('out2'));
    expect(channels[1]!.sent.map(String)).toEqual(['out2']);
    mc.setActive(7); // not a link: ignored
    expect(mc.current).toBe(1);
  });

  it('payloadLimit follows the current link (MTU − 28 datagram, MTU − 40 TCP)', () => {
    const { mc } = setup([link('a'), link('b')], [1500, 9000]);
    expect(mc.payloadLimit).toBe(1472);
    mc.setActive(1);
    expect(mc.payloadLimit).toBe(8972);
    expect(mc.info().map((i) => [i.mtu, i.payloadLimit])).toEqual([[1500, 1472], [9000, 8972]]);
    const tcp = setup([link('a', false, 'tcp')]).mc;
    expect(tcp.payloadLimit).toBe(1460);
    expect(tcp.stream).toBe(true);
  });

  it('a link that fails to open closes the ones already opened', async () => {
    const made: FakeChannel[] = [];
    const mc = new Multichannel([link('a'), link('b')], {
      log: { notice: () => undefined, warning: () => undefined, error: () => undefined },
      monitor: new FakeMonitor(),
      createChannel: (l) => {
        const ch = new FakeChannel(l, 1500, made.length === 1);
        made.push(ch);
        return ch;
      },
    });
    await expect(mc.open()).rejects.toThrow('bind failed');
    expect(made[0]!.closed).toBe(true);
  });

  it('rejects 0 or more than 4 links', () => {
    expect(() => setup([])).toThrow(/dedicated links/);
    expect(() => setup(['a', 'b', 'c', 'd', 'e'].map((d) => link(d)))).toThrow(/dedicated links/);
  });
});

describe('socket buffers (§4.6)', () => {
  it('warns when the kernel capped a size or, without the addon, the link is TCP; silent otherwise', async () => {
    const udp = setup([{ ...link('a'), sndSocketBuffer: 4096, rcvSocketBuffer: 1 << 20 }]);
    await udp.mc.open();
    expect(udp.log).toEqual(["warning SndSocketBuffer 4096 on `a' capped to 2048 by net.core.wmem_max"]);
    expect(udp.mc.info()[0]!.socketBuffers).toEqual({ snd: 4096, rcv: 2 << 20 });
    const tcp = setup([{ ...link('t', false, 'tcp'), rcvSocketBuffer: 1000 }]);
    await tcp.mc.open();
    expect(tcp.log).toEqual(["warning RcvSocketBuffer is not applied on TCP link `t' (no ctnetlink addon)"]);
  });

  it('says when `Checksum off` is not in force (no addon), silent when it is', async () => {
    const off = setup([{ ...link('a'), checksum: false }, { ...link('bnc'), checksum: false }]);
    await off.mc.open();
    expect(off.log).toEqual(["warning `Checksum off' is not in force on `a': checksums stay on"]);
  });
});

describe('Multichannel failover (§4.5)', () => {
  it('current link not UP+RUNNING → first other link UP or RUNNING, logged', async () => {
    const { mc, log, monitor } = setup([link('a'), link('b'), link('c')]);
    await mc.open();
    monitor.set('b', true, false); // NO-CARRIER still qualifies (UP)
    expect(mc.current).toBe(0);
    monitor.set('a', true, false);
    expect(mc.current).toBe(1);
    expect(log).toEqual(["notice device `b' becomes dedicated link"]);
    expect(mc.stats().map((s) => [s.device, s.status, s.active])).toEqual([
      ['a', 'NO-CARRIER', false],
      ['b', 'NO-CARRIER', true],
      ['c', 'RUNNING', false],
    ]);
  });

  it('skips links on the same device and logs when none is left', async () => {
    const { mc, log, monitor } = setup([link('a'), link('a'), link('b')]);
    await mc.open();
    monitor.set('b', false, false);
    expect(log).toEqual([]);
    monitor.set('a', false, false);
    expect(mc.current).toBe(0);
    expect(log).toEqual(['ERROR no dedicated links available!']);
    monitor.set('b', true, true);
    expect(mc.current).toBe(2);
    expect(log.at(-1)).toBe("notice device `b' becomes dedicated link");
  });

  it('stats carry kind, counters as bigint, spoofed; close stops the monitor and closes links', async () => {
    const { mc, monitor, channels } = setup([link('a', false, 'multicast'), link('b', false, 'multicast')]);
    await mc.open();
    channels[1]!.counters.spoofed = 3;
    channels[0]!.counters.bytesRecv = 10;
    const s = mc.stats();
    expect(s[0]).toMatchObject({ kind: 'multicast', device: 'a', bytesRecv: 10n, active: true, spoofed: 0 });
    expect(s[1]).toMatchObject({ spoofed: 3, active: false });
    expect(mc.queues()).toEqual([]);
    mc.close();
    expect(monitor.stopped).toBe(true);
    expect(channels.every((c) => c.closed)).toBe(true);
  });
});
