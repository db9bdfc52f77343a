/**
 * ctsyncd as a process (issue 4): a live daemon in a namespace takes malformed, random and
 * stranger datagrams without crashing or taking state, counting them in `-s network` (and the
 * strangers in the JSON stats); SIGTERM and SIGINT shut it down cleanly (log line, control
 * socket and lock file removed), and each config warning is logged once.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestText } from '../../src/engine/control/client.js';
import { REQUEST } from '../../src/engine/control/requests.js';
import type { Conntrack } from '../../src/engine/model/conntrack.js';
import { MessageBuilder } from '../../src/engine/wire/build.js';
import { NET_F, NET_T } from '../../src/engine/wire/nethdr.js';
import { prng } from '../engine/sync/harness.js';
import { slot } from '../helpers/records.js';
import { Netns, cleanup, skipNote, skipReason, veth, waitFor } from '../helpers/netns.js';
import { SYNC_PORT, writeNodeConf } from './interop/conf.js';
import { CONNTRACKD, DAEMONS, nsExec, SyncNode } from './interop/node.js';

const reason = skipReason([CONNTRACKD, 'conntrack']);

const DAEMON_ADDR = '10.200.0.1';
const PEER_ADDR = '10.200.0.2';
const STRANGER_ADDR = '10.200.0.3';

/** Sends each hex payload as one UDP datagram from `from` to the daemon's sync port. */
const SENDER = `
const dgram = require('node:dgram');
const [from, to, port, ...payloads] = process.argv.slice(1);
const s = dgram.createSocket('udp4');
s.bind({ address: from }, async () => {
  for (const p of payloads) await new Promise((r) => s.send(Buffer.from(p, 'hex'), Number(port), to, r));
  s.close();
});`;

const flow: Conntrack = {
  orig: { l3: 'ipv4', src: '10.9.0.1', dst: '10.9.1.1', proto: 6, sport: 40000, dport: 80 },
  status: 0xe,
  timeout: 600,
  tcp: { state: 3 },
};

/** A valid CT_NEW that starts a session (HELLO: accepted whatever seq the daemon expects). */
function ctNew(seq: number): Buffer {
  const b = new MessageBuilder({ sendTimeout: true, tcpWindowTracking: false });
  return Buffer.from(b.buf.subarray(0, b.conntrack(NET_T.CT_NEW, NET_F.HELLO, seq, ...slot(flow))));
}

/** The bad datagrams and what each must count (`-s network`, shared/spec/conntrackd.md §1.10). */
const BAD: Array<[string, Buffer]> = [
  ['Truncated message', Buffer.from([0x12, 0x00, 0x00])],
  ['Bad message size', Buffer.from([0x12, 0x00, 0x01, 0xf4, 0, 0, 0, 1])],
  ['Wrong protocol version', Buffer.from([0x22, 0x00, 0x00, 0x08, 0, 0, 0, 1])],
];

function networkCounter(text: string, name: string): number {
  const m = new RegExp(`${name}:\\s+(\\d+)`).exec(text);
  return m ? Number(m[1]) : -1;
}

describe.skipIf(reason !== '')(`ctsyncd as a process${skipNote(reason)}`, () => {
  let a: Netns;
  let b: Netns;
  let dir: string;
  let seq = 0;

  beforeAll(() => {
    a = new Netns('pa');
    b = new Netns('pb');
    veth(a, 'sync0', b, 'sync0');
    a.addr('sync0', `${DAEMON_ADDR}/24`);
    b.addr('sync0', `${PEER_ADDR}/24`);
    b.addr('sync0', `${STRANGER_ADDR}/24`);
    dir = mkdtempSync(join(tmpdir(), 'ctsync-process-'));
  });

  afterAll(async () => {
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const daemon = (name: string) =>
    new SyncNode('ctsyncd', a, writeNodeConf({ name, dir, mode: 'FTFW', transport: 'UDP', local: DAEMON_ADDR, peer: PEER_ADDR, iface: 'sync0' }));

  const send = (from: string, payloads: Buffer[]) => {
    const r = nsExec(b, [process.execPath, '-e', SENDER, from, DAEMON_ADDR, String(SYNC_PORT), ...payloads.map((p) => p.toString('hex'))]);
    expect(r.stderr).toBe('');
  };

  it('malformed, random and stranger datagrams are counted and dropped: no crash, no state', async () => {
    const node = daemon('strangers');
    await node.start();
    try {
      const [pid] = node.pids();
      const rnd = prng(7);
      const random = Array.from({ length: 200 }, () => Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 1400) }, () => Math.floor(rnd() * 256))));
      send(PEER_ADDR, [...BAD.map(([, d]) => d), ...random]);
      // a valid message, but from an address that is not the configured peer
      send(STRANGER_ADDR, [ctNew(++seq)]);
      let json: { network: { spoofed: number; malformed: number | string } } | undefined;
      const stats = async () => (json = JSON.parse(await requestText(node.paths.ctl, REQUEST.JSON_STATS)));
      expect(await waitFor(async () => (await stats()).network.spoofed === 1, 5000, 50)).toBe(true);
      for (const client of DAEMONS) {
        const text = node.request(['-s', 'network'], client).stdout;
        for (const [name] of BAD) expect(networkCounter(text, name), `${name} via ${client}`).toBeGreaterThanOrEqual(1);
        expect(networkCounter(text, 'Malformed messages')).toBeGreaterThanOrEqual(BAD.length);
        expect(node.counts(client)).toEqual({ internal: 0, external: 0 });
      }
      expect(node.pids()).toEqual([pid]);
      // the same message from the peer is taken: the link itself works
      send(PEER_ADDR, [ctNew(++seq)]);
      expect(await waitFor(async () => (await node.poll())?.external === 1, 5000, 50)).toBe(true);
      expect(json!.network.spoofed).toBe(1);
    } finally {
      await node.stop();
    }
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s: clean shutdown (log line, socket and lock removed), warnings logged once', async (signal) => {
    const node = daemon(signal.toLowerCase());
    await node.start();
    try {
      const pids = node.pids();
      expect(pids).toHaveLength(1);
      expect(existsSync(node.paths.lock)).toBe(true);
      process.kill(pids[0]!, signal);
      expect(await waitFor(() => node.pids().length === 0, 5000, 50)).toBe(true);
      expect(existsSync(node.paths.ctl)).toBe(false);
      expect(existsSync(node.paths.lock)).toBe(false);
      const log = readFileSync(node.paths.log, 'utf8');
      expect(log).toMatch(/\[notice\] ---- shutdown received ----\n/);
      // the config's one warning (HashSize), once
      expect(log.match(/\[warning\] .*`HashSize` has no effect/g)).toHaveLength(1);
    } finally {
      await node.stop();
    }
  });
});
