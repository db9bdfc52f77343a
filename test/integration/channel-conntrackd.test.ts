/**
 * Interop of the channels with a real conntrackd 1.4.7 (NOTRACK) over UDP, multicast and
 * TCP: conntrackd in namespace A, a channel peer (test/engine/channel/peer.mjs) in B.
 * conntrackd → ctsync: a `conntrack -I` in A reaches our channel as a CT_NEW/CT_UPD message
 * that src/engine/wire decodes to the same flow. ctsync → conntrackd: a CT_NEW built with
 * MessageBuilder shows up in conntrackd's external cache (`-e`). For TCP this also fixes the
 * direction (§4.4): conntrackd sends on its client connection and reads the accepted one.
 * With two links, conntrackd switches its transmit link to the one our messages use.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LinkConfig } from '../../src/engine/config/types.js';
import type { Conntrack } from '../../src/engine/model/conntrack.js';
import { IPPROTO, IPS, TCP_STATE } from '../../src/engine/model/conntrack.js';
import { NETHDR_SIZ, NET_T, PROTOCOL_VERSION } from '../../src/engine/wire/index.js';
import { parseCt } from '../helpers/records.js';
import { buildChannels } from '../engine/channel/peer-harness.js';
import type { BuiltChannels, ChannelPeer } from '../engine/channel/peer-harness.js';
import { cleanup, hasProgram, Netns, netnsSupport, veth, waitFor } from '../helpers/netns.js';

const CONNTRACKD = '/usr/sbin/conntrackd';
const ns = netnsSupport();
const reason = !ns.ok ? ns.reason : !hasProgram(CONNTRACKD) ? 'no conntrackd' : !hasProgram('conntrack') ? 'no conntrack(8)' : '';
const PORT = 3780;

/** Every conntrack message (CT_NEW/UPD/DEL) in a received payload, decoded. */
function conntracks(payload: Buffer): Array<{ type: number; ct: Conntrack | undefined }> {
  const out: Array<{ type: number; ct: Conntrack | undefined }> = [];
  for (let off = 0; off + NETHDR_SIZ <= payload.length; ) {
    const version = payload[off]! >> 4;
    const type = payload[off]! & 0x0f;
    const len = payload.readUInt16BE(off + 2);
    if (len < NETHDR_SIZ || version !== PROTOCOL_VERSION) break;
    if (type <= NET_T.CT_DEL) out.push({ type, ct: parseCt(payload, off + NETHDR_SIZ, off + len) });
    off += len;
  }
  return out;
}

describe.skipIf(reason !== '')(`channels ↔ conntrackd 1.4.7${reason ? ` (skipped: ${reason})` : ''}`, () => {
  let built: BuiltChannels;
  let a: Netns;
  let b: Netns;
  let dir: string;
  const peers: ChannelPeer[] = [];
  let flowPort = 40000;

  beforeAll(() => {
    built = buildChannels();
    dir = mkdtempSync(join(tmpdir(), 'ctsync-chd-'));
    a = new Netns('cda');
    b = new Netns('cdb');
    veth(a, 'sync0', b, 'sync0');
    veth(a, 'sync1', b, 'sync1');
    a.addr('sync0', '10.200.0.1/24');
    b.addr('sync0', '10.200.0.2/24');
    a.addr('sync1', '10.201.0.1/24');
    b.addr('sync1', '10.201.0.2/24');
  }, 60_000);

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.quit()));
    await cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Starts conntrackd in A with `link` as its only dedicated link; resolves when its socket answers. */
  async function conntrackd(name: string, linkBlock: string): Promise<string> {
    const conf = join(dir, `${name}.conf`);
    writeFileSync(
      conf,
      `Sync {\n\tMode NOTRACK { }\n${linkBlock}\n}\n` +
        `General {\n\tSystemd off\n\tLockFile ${dir}/${name}.lock\n\tLogFile ${dir}/${name}.log\n\tSyslog off\n` +
        `\tUNIX { Path ${dir}/${name}.ctl }\n\tHashSize 1024\n\tHashLimit 8192\n}\n`,
    );
    const child = a.spawn(CONNTRACKD, ['-C', conf]);
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const up = await waitFor(() => a.try(CONNTRACKD, ['-C', conf, '-s']).status === 0 && a.try(CONNTRACKD, ['-C', conf, '-s']).stdout.length > 0, 8000, 100);
    expect(up, `conntrackd did not start: ${err}`).toBe(true);
    return conf;
  }

  async function stop(conf: string): Promise<void> {
    a.try(CONNTRACKD, ['-C', conf, '-k']);
    await waitFor(() => a.try('sh', ['-c', `test -e ${conf.replace('.conf', '.lock')}`]).status !== 0, 5000);
  }

  /** conntrackd → us: insert a flow in A and find it decoded in what our channel received. */
  async function kernelFlowReaches(peer: ChannelPeer, conf: string): Promise<void> {
    const sport = flowPort++;
    const flow = (): boolean =>
      peer.received().some((r) =>
        conntracks(r.data).some(
          (m) => (m.type === NET_T.CT_NEW || m.type === NET_T.CT_UPD) && m.ct?.orig.src === '10.1.200.1' && m.ct.orig.dst === '10.1.200.2' && m.ct.orig.sport === sport && m.ct.orig.dport === 80,
        ),
      );
    a.run('conntrack', ['-I', '-p', 'tcp', '-s', '10.1.200.1', '-d', '10.1.200.2', '--sport', String(sport), '--dport', '80', '--state', 'ESTABLISHED', '-t', '3600', '-u', 'SEEN_REPLY,ASSURED']);
    const ok = await waitFor(flow, 6000, 100);
    expect(ok, `flow not received; conntrackd -s:\n${a.try(CONNTRACKD, ['-C', conf, '-s']).stdout}`).toBe(true);
    // version 1, CT_NEW or CT_UPD; over TCP a read may begin with the ALIVE sent before it
    const first = peer.received().find((r) => conntracks(r.data).length > 0)!;
    expect([NET_T.CT_NEW, NET_T.CT_UPD]).toContain(conntracks(first.data)[0]!.type);
  }

  /** us → conntrackd: a CT_NEW built by MessageBuilder lands in its external cache. */
  async function ourFlowReaches(peer: ChannelPeer, conf: string): Promise<void> {
    const sport = flowPort++;
    const ct: Conntrack = {
      orig: { l3: 'ipv4', src: '10.9.0.1', dst: '10.9.0.2', proto: IPPROTO.TCP, sport, dport: 80 },
      status: IPS.SEEN_REPLY | IPS.ASSURED | IPS.CONFIRMED,
      timeout: 600,
      tcp: { state: TCP_STATE.ESTABLISHED },
    };
    const inCache = (): boolean => a.try(CONNTRACKD, ['-C', conf, '-e']).stdout.includes(`src=10.9.0.1 dst=10.9.0.2 sport=${sport} dport=80`);
    const ok = await waitFor(() => {
      // Resent until seen (a cache update is idempotent): the first may precede the TCP connect.
      peer.command(`ct ${JSON.stringify(ct)}`);
      return inCache();
    }, 8000, 250);
    expect(ok, `external cache:\n${a.try(CONNTRACKD, ['-C', conf, '-e']).stdout}`).toBe(true);
  }

  async function run(linkBlock: string, links: LinkConfig[], name: string): Promise<ChannelPeer> {
    const conf = await conntrackd(name, linkBlock);
    const peer = built.start(b, links);
    peers.push(peer);
    await peer.ready();
    try {
      await kernelFlowReaches(peer, conf);
      await ourFlowReaches(peer, conf);
      if (links[0]!.kind === 'tcp') {
        // conntrackd's own view: both of its connections are up with us.
        expect(a.run(CONNTRACKD, ['-C', conf, '-s'])).toContain('TCP traffic (active device=sync0) server=connected client=connected:');
      }
    } finally {
      await peer.quit();
      await stop(conf);
    }
    return peer;
  }

  const base = { isDefault: false, family: 'ipv4', port: PORT, interface: 'sync0', checksum: true, errorQueueLength: 128 } as const;

  it('UDP', async () => {
    await run(
      '\tUDP {\n\t\tIPv4_address 10.200.0.1\n\t\tIPv4_Destination_Address 10.200.0.2\n\t\tPort 3780\n\t\tInterface sync0\n\t}',
      [{ ...base, kind: 'udp', address: '10.200.0.2', destination: '10.200.0.1' }],
      'udp',
    );
  });

  it('Multicast', async () => {
    await run(
      '\tMulticast {\n\t\tIPv4_address 225.0.0.50\n\t\tGroup 3780\n\t\tIPv4_interface 10.200.0.1\n\t\tInterface sync0\n\t}',
      [{ ...base, kind: 'multicast', address: '225.0.0.50', ipv4Interface: '10.200.0.2' }],
      'mcast',
    );
  });

  it('TCP (conntrackd sends on its client connection, reads the accepted one)', async () => {
    const peer = await run(
      '\tTCP {\n\t\tIPv4_address 10.200.0.1\n\t\tIPv4_Destination_Address 10.200.0.2\n\t\tPort 3780\n\t\tInterface sync0\n\t}',
      [{ ...base, kind: 'tcp', address: '10.200.0.2', destination: '10.200.0.1' }],
      'tcp',
    );
    // What we received came in on our server (the connection conntrackd's client opened).
    expect(peer.received().length).toBeGreaterThan(0);
  });

  it('two UDP links: conntrackd follows the link our messages arrive on (§4.5)', async () => {
    const conf = await conntrackd(
      'udp2',
      '\tUDP Default {\n\t\tIPv4_address 10.200.0.1\n\t\tIPv4_Destination_Address 10.200.0.2\n\t\tPort 3780\n\t\tInterface sync0\n\t}\n' +
        '\tUDP {\n\t\tIPv4_address 10.201.0.1\n\t\tIPv4_Destination_Address 10.201.0.2\n\t\tPort 3780\n\t\tInterface sync1\n\t}',
    );
    const peer = built.start(b, [
      { ...base, kind: 'udp', address: '10.200.0.2', destination: '10.200.0.1' },
      { ...base, kind: 'udp', isDefault: true, interface: 'sync1', address: '10.201.0.2', destination: '10.201.0.1' },
    ]);
    peers.push(peer);
    try {
      await peer.ready();
      expect(a.run(CONNTRACKD, ['-C', conf, '-s', 'link'])).toMatch(/UDP traffic device=sync0 status=RUNNING role=ACTIVE/);
      await ourFlowReaches(peer, conf);
      expect(a.run(CONNTRACKD, ['-C', conf, '-s', 'link'])).toMatch(/UDP traffic device=sync1 status=RUNNING role=ACTIVE/);
      await kernelFlowReaches(peer, conf);
      const got = peer.received().filter((r) => conntracks(r.data).length > 0);
      expect(got.every((r) => r.link === 1)).toBe(true);
    } finally {
      await peer.quit();
      await stop(conf);
    }
  });
});
