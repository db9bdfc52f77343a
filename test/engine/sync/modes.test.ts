/**
 * The three sync modes between two in-process nodes on a fake clock and a lossy fake link
 * (shared/spec/conntrackd.md §2): FT-FW converges under loss, overflows and peer restarts
 * behave as conntrackd's do; NOTRACK loses until a RESYNC; ALARM repairs by refreshing.
 */
import { describe, expect, it } from 'vitest';
import type { Conntrack } from '../../../src/engine/model/conntrack.js';
import { NET_F } from '../../../src/engine/wire/nethdr.js';
import { refreshDelayMs } from '../../../src/engine/sync/alarm.js';
import { Node, messageTypes, pair, prng, snapshot, syncConfig, tcpFlow } from './harness.js';
import { slot } from '../../helpers/records.js';

const START = Date.UTC(2026, 10, 22, 0, 0, 0);

/** Random load: creates (fresh tuples only), updates and deletes, `ops` events 20 ms apart. */
function load(node: Node, ops: number, seed: number): void {
  const rnd = prng(seed);
  const live: Conntrack[] = [];
  let next = 1;
  for (let i = 0; i < ops; i++) {
    const r = rnd();
    if (live.length === 0 || r < 0.4) {
      const ct = tcpFlow(next++, { mark: 0 });
      live.push(ct);
      node.event('new', ct);
    } else if (r < 0.8) {
      const ct = live[Math.floor(rnd() * live.length)]!;
      const upd = { ...ct, mark: Math.floor(rnd() * 1000), timeout: 3600 - i, tcp: { state: 1 + Math.floor(rnd() * 8) } };
      live[live.indexOf(ct)] = upd;
      node.event('update', upd);
    } else {
      const k = Math.floor(rnd() * live.length);
      node.event('destroy', live[k]!);
      live.splice(k, 1);
    }
    node.sched.advance(20);
  }
}

const internalRows = (n: Node) => snapshot(n.internal.ct);
const externalRows = (n: Node) => snapshot(n.external.ct, true);

describe('FT-FW', () => {
  it('converges under 20 % datagram loss in both directions: external cache = internal cache', () => {
    const { sched, a, b } = pair('FTFW', START, {}, 7);
    a.lossIn = b.lossIn = 0.2;
    a.mode.start(false);
    b.mode.start(false);
    sched.advance(3000);
    load(a, 1500, 11);
    a.lossIn = b.lossIn = 0;
    sched.advance(10_000);
    const want = internalRows(a);
    expect(Object.keys(want).length).toBeGreaterThan(100);
    expect(externalRows(b)).toEqual(want);
    // every DEL was acknowledged: no DEAD object is left, the resend queue holds controls only
    expect(a.internal.ct.size).toBe(Object.keys(want).length);
    expect(a.mode.resendQueue().every((e) => e.kind === 'control')).toBe(true);
    expect(b.mode.sequence.lost).toBeGreaterThan(0n);
    expect(b.mode.network.malformed).toBe(0n);
  });

  it('over a stream link (TCP) messages split across reads are reassembled', () => {
    const { sched, a, b } = pair('FTFW', START, {}, 3, true);
    a.mode.start(false);
    b.mode.start(false);
    sched.advance(2000);
    load(a, 400, 5);
    sched.advance(3000);
    expect(externalRows(b)).toEqual(internalRows(a));
    expect(b.mode.network.malformed).toBe(0n);
    expect(b.mode.sequence.lost).toBe(0n);
  });

  it('random and mutated datagrams into a running FT-FW node never throw', () => {
    const { sched, wire, a, b } = pair('FTFW', START);
    a.mode.start(false);
    b.mode.start(false);
    for (let i = 1; i <= 20; i++) a.event('new', tcpFlow(i));
    sched.advance(2000);
    const samples = wire.map((s) => s.payload);
    const rnd = prng(99);
    for (let i = 0; i < 5000; i++) {
      const base = samples[Math.floor(rnd() * samples.length)]!;
      const d = Buffer.from(base);
      for (let k = Math.floor(rnd() * 4); k >= 0; k--) d[Math.floor(rnd() * d.length)] = Math.floor(rnd() * 256);
      expect(() => b.mode.receive(d, 0)).not.toThrow();
      if (i % 100 === 0) expect(() => sched.advance(5)).not.toThrow();
    }
    const n = b.mode.network;
    expect(n.malformed).toBe(BigInt(n.badVersion + n.badHeader + n.badPayload + n.badType + n.truncated + n.badSize));
  });

  it.each(Array.from({ length: 24 }, (_, i) => i + 1))('both nodes start together, one datagram in five lost from the first, load at once (seed %i): external = internal', (seed) => {
    const { sched, a, b } = pair('FTFW', START, {}, seed);
    a.lossIn = b.lossIn = 0.2;
    b.mode.start(false);
    a.mode.start(false);
    load(a, 600, seed + 100);
    sched.advance(20_000);
    const want = internalRows(a);
    expect(externalRows(b)).toEqual(want);
    expect(a.mode.resendQueue().every((e) => e.kind === 'control')).toBe(true);
  });

  it('first message ALIVE|HELLO, answer ACK|HELLO|HELLO_BACK, then ACK|HELLO_BACK, then plain ACKs', () => {
    const { sched, wire, a, b } = pair('FTFW', START);
    a.mode.start(false);
    sched.advance(500);
    b.mode.start(false);
    sched.advance(3000);
    const flags = wire.map((s) => `${s.from}:${s.payload[1]!.toString(16)}`);
    expect(flags.slice(0, 5)).toEqual(['a:30', 'b:68', 'a:48', 'b:8', 'a:8']);
    expect(wire[0]!.payload.length).toBe(8);
    expect(wire[1]!.payload.readUInt32BE(8)).toBe(wire[0]!.payload.readUInt32BE(4));
  });

  it('NACKs a gap and resends the object with a fresh seq', () => {
    const { sched, wire, a, b } = pair('FTFW', START);
    a.mode.start(false);
    b.mode.start(false);
    sched.advance(3000);
    let drop = true;
    b.dropIn = (p) => p[0] === 0x10 && drop && !(drop = false);
    a.event('new', tcpFlow(1));
    sched.advance(1);
    a.event('new', tcpFlow(2));
    sched.advance(5);
    const nack = wire.find((s) => s.from === 'b' && s.payload.includes(Buffer.from([0x1a, NET_F.NACK])));
    expect(nack).toBeDefined();
    const sentFlow1 = wire.filter((s) => s.from === 'a' && s.payload[0] === 0x10 && s.payload[15] === 1);
    expect(sentFlow1).toHaveLength(2);
    expect(sentFlow1[1]!.payload.readUInt32BE(4)).toBeGreaterThan(sentFlow1[0]!.payload.readUInt32BE(4));
    expect(b.external.ct.size).toBe(2);
  });

  it('a sender restarting under loss: what its HELLO messages lose is NACKed and resent (conntrackd loses it)', () => {
    const { sched, wire, a, b } = pair('FTFW', START);
    b.mode.start(false);
    sched.advance(3000); // b runs on its own: its HELLO phase is over before a starts
    a.mode.start(false);
    let data = 0;
    b.dropIn = (p) => p[0] === 0x10 && ++data === 2; // flow 2's first copy
    for (let i = 1; i <= 3; i++) {
      a.event('new', tcpFlow(i));
      sched.advance(1);
    }
    // the three first copies went out while a still said HELLO (b's HELLO_BACK had not reached it)
    const firsts = wire.filter((s) => s.from === 'a' && s.payload[0] === 0x10).slice(0, 3);
    expect(firsts.map((s) => s.payload[15])).toEqual([1, 2, 3]);
    expect(firsts.every((s) => (s.payload[1]! & NET_F.HELLO) !== 0)).toBe(true);
    sched.advance(3000);
    expect(b.external.ct.size).toBe(3);
  });

  it('rs_queue overflow drops the oldest entries (and releases DEAD objects)', () => {
    const { sched, a, b } = pair('FTFW', START, { ftfw: { resendQueueSize: 5, ackWindowSize: 300 } });
    b.lossIn = 1;
    a.mode.start(false);
    for (let i = 1; i <= 8; i++) a.event('new', tcpFlow(i));
    a.event('destroy', tcpFlow(1));
    sched.advance(10);
    const rs = a.mode.resendQueue();
    expect(rs).toHaveLength(5);
    expect(rs.every((e) => e.kind === 'object')).toBe(true);
    const q = a.mode.queues().find((x) => x.name === 'rsqueue')!;
    expect(q).toMatchObject({ current: 5, max: 5 });
    expect(q.noSpace).toBeGreaterThan(0);
    // flow 1's DEL was sent first, then pushed out: the DEAD object is gone from the cache
    sched.advance(5000); // ALIVEs push out the rest
    expect(a.internal.ct.size).toBe(7);
    expect(a.internal.ct.stats.total).toBe(7);
  });

  it('a peer restart (HELLO): what it never acknowledged is sent to it again (conntrackd drops it); RESYNC still works', () => {
    const { sched, wire, a, b } = pair('FTFW', START);
    a.mode.start(false);
    b.mode.start(false);
    sched.advance(3000);
    b.up = false;
    for (let i = 1; i <= 20; i++) a.event('new', tcpFlow(i));
    sched.advance(500);
    expect(a.mode.resendQueue().filter((e) => e.kind === 'object')).toHaveLength(20);
    const b2 = new Node('b2', sched, wire, syncConfig('FTFW'), prng(3));
    a.peer = b2;
    b2.peer = a;
    b2.mode.start(false);
    sched.advance(3000);
    expect(b2.external.ct.size).toBe(20);
    expect(a.mode.resendQueue().filter((e) => e.kind === 'object')).toHaveLength(0);
    b2.external.flush();
    b2.mode.requestResync();
    sched.advance(100);
    expect(b2.external.ct.size).toBe(20);
    expect(a.log).toContain('resync requested by other node');
  });

  it('replicates expectations (ExpectationSync) after their master, EXP_NEW then EXP_DEL', () => {
    const { sched, wire, a, b } = pair('FTFW', START, { expectationSync: 'all' });
    a.mode.start(false);
    b.mode.start(false);
    const master = tcpFlow(1, { orig: { ...tcpFlow(1).orig, dport: 21 } });
    const exp = {
      master: master.orig,
      tuple: { l3: 'ipv4' as const, src: '10.1.0.1', dst: '10.0.2.10', proto: 6, sport: 0, dport: 50000 },
      mask: { l3: 'ipv4' as const, src: '255.255.255.255', dst: '255.255.255.255', proto: 255, sport: 0, dport: 65535 },
      timeout: 300,
      helper: 'ftp',
    };
    a.event('new', master);
    a.internal.expEvent('new', 0, ...slot(exp));
    sched.advance(10);
    expect([...b.external.exp.values()].map((e) => b.external.exp.decode(e))).toEqual([{ ...exp, flags: 0 }]);
    a.internal.expEvent('destroy', 0, ...slot(exp));
    sched.advance(10);
    expect(b.external.exp.size).toBe(0);
    expect(messageTypes(wire, 'a').filter((t) => t !== 0x1a)).toEqual([0x10, 0x13, 0x15]);
  });

  it('-B sends every internal object', () => {
    const { sched, a, b } = pair('FTFW', START);
    a.mode.start(false);
    b.mode.start(false);
    for (let i = 1; i <= 30; i++) a.internal.populate(tcpFlow(i)); // start-up dump: nothing sent
    sched.advance(2000);
    expect(b.external.ct.size).toBe(0);
    a.mode.sendBulk();
    sched.advance(10);
    expect(b.external.ct.size).toBe(30);
  });
});

describe('NOTRACK', () => {
  it('loses under loss until a RESYNC, never sends ACK/NACK/HELLO', () => {
    const { sched, wire, a, b } = pair('NOTRACK', START, {}, 5);
    a.mode.start(false);
    b.mode.start(false);
    b.lossIn = 0.3;
    for (let i = 1; i <= 50; i++) {
      a.event('new', tcpFlow(i));
      sched.advance(20);
    }
    sched.advance(3000);
    b.lossIn = 0;
    const got = b.external.ct.size;
    expect(got).toBeLessThan(50);
    expect(got).toBeGreaterThan(10);
    expect(b.mode.sequence.lost).toBeGreaterThan(0n);
    sched.advance(5000);
    expect(b.external.ct.size).toBe(got); // nothing repairs it
    b.mode.requestResync();
    sched.advance(10);
    expect(b.external.ct.size).toBe(50);
    expect(wire.every((s) => (s.payload[1]! & (NET_F.ACK | NET_F.NACK | NET_F.HELLO | NET_F.HELLO_BACK)) === 0)).toBe(true);
    const alives = wire.filter((s) => s.payload.length === 8 && s.payload[1] === NET_F.ALIVE);
    expect(alives.length).toBeGreaterThan(5);
  });

  it('DisableInternalCache: sendDirect batches the event until the next tx run', () => {
    const { sched, wire, a, b } = pair('NOTRACK', START);
    a.mode.start(false);
    b.mode.start(false);
    a.mode.sendDirect('ct', 'new', ...slot(tcpFlow(1)));
    a.mode.sendDirect('ct', 'destroy', ...slot(tcpFlow(2)));
    expect(wire).toHaveLength(0);
    sched.advance(1001);
    const first = wire.find((s) => s.from === 'a')!;
    expect([first.payload[0], first.payload[60]]).toEqual([0x10, 0x12]);
    expect(b.external.ct.size).toBe(1);
  });
});

describe('ALARM', () => {
  it('refresh delay: random() % RefreshTime + 1 s plus (random() % 5 + 1) * 200000 - 1 µs', () => {
    expect(refreshDelayMs(60, () => 125)).toBeCloseTo(6199.999, 6);
    expect(refreshDelayMs(1, () => 4)).toBeCloseTo(1999.999, 6);
  });

  it('periodic refresh repairs losses; DEL sent once; external entries expire after CacheTimeout', () => {
    const { sched, wire, a, b } = pair('ALARM', START, { alarm: { refreshTime: 5, cacheTimeout: 30 } }, 9);
    a.mode.start(false);
    b.mode.start(false);
    b.lossIn = 0.5;
    for (let i = 1; i <= 40; i++) {
      a.event('new', tcpFlow(i));
      sched.advance(1);
    }
    const afterLoss = b.external.ct.size;
    expect(afterLoss).toBeLessThan(40);
    b.lossIn = 0;
    sched.advance(6100); // every object refreshed once within RefreshTime + 1 s
    expect(b.external.ct.size).toBe(40);
    a.event('destroy', tcpFlow(1));
    sched.advance(10);
    expect(b.external.ct.size).toBe(39);
    const dels = wire.filter((s) => s.payload[0] === 0x12);
    expect(dels).toHaveLength(1);
    expect(wire.some((s) => s.payload[0] === 0x1a)).toBe(false); // no control at all
    a.up = false;
    sched.advance(31_000);
    expect(b.external.ct.size).toBe(0);
  });

  it('the refresh timer of a flushed entry goes with its slot: the flow that reuses the slot has one timer', () => {
    const { sched, a } = pair('ALARM', START, { alarm: { refreshTime: 5, cacheTimeout: 30 } }, 3);
    a.up = false; // nothing reaches b: the scheduler holds a's timers only
    a.mode.start(false);
    a.event('new', tcpFlow(1));
    sched.advance(10); // sent: only the cache holds the entry now
    const first = a.internal.ct.find(...slot(tcpFlow(1)));
    expect(sched.pending).toBe(1);
    a.internal.flush(); // no destroy event: the entry just leaves
    expect(sched.pending).toBe(0);
    a.event('new', tcpFlow(2));
    expect(a.internal.ct.find(...slot(tcpFlow(2)))).toBe(first); // the freed slot, reused
    expect(sched.pending).toBe(1);
  });

  it('-n and -B do nothing; StartupResync sends the 8-byte RESYNC that peers reject', () => {
    const { sched, wire, a } = pair('ALARM', START);
    const peer = new Node('n', sched, wire, syncConfig('NOTRACK'));
    a.peer = peer;
    peer.peer = a;
    a.mode.requestResync();
    a.mode.sendBulk();
    sched.advance(10);
    expect(wire).toHaveLength(0);
    a.mode.start(true);
    sched.advance(10);
    expect(wire.map((s) => s.payload.toString('hex').slice(0, 8))).toEqual(['1a020008']);
    // alone in its datagram it is shorter than a 16-byte header: "truncated" (§1.10 step 3)
    expect(peer.mode.network).toMatchObject({ truncated: 1, malformed: 1n });
  });
});
