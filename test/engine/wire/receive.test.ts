/**
 * The receiver pipeline (shared/spec/conntrackd.md §1.10): size errors stop the datagram,
 * version/type/payload errors skip one message, every case is counted (and in the aggregate),
 * nothing throws, nothing malformed reaches the handler; TCP chunks are reassembled.
 */
import { describe, expect, it } from 'vitest';
import type { Conntrack } from '../../../src/engine/model/conntrack.js';
import { MessageBuilder } from '../../../src/engine/wire/build.js';
import { NET_F, NET_T, isCtl, isData } from '../../../src/engine/wire/nethdr.js';
import { MsgResult, ReceivePipeline } from '../../../src/engine/wire/receive.js';
import type { MessageReceiver } from '../../../src/engine/wire/receive.js';
import { records } from '../../../src/engine/kernel/record.js';
import { slot } from '../../helpers/records.js';

const ct: Conntrack = {
  orig: { l3: 'ipv4', src: '10.1.200.1', dst: '10.0.2.10', proto: 6, sport: 40000, dport: 80 },
  status: 0xe,
  timeout: 3600,
  tcp: { state: 3 },
};

/** Classifies like NOTRACK: data → DATA, ALIVE/RESYNC → CTL, anything else → BAD. */
const notrackLike: MessageReceiver = {
  recv: (h) =>
    isData(h.type, h.flags) || h.type > NET_T.EXP_DEL && h.type !== NET_T.CTL
      ? MsgResult.DATA
      : isCtl(h.type, h.flags, NET_F.ALIVE | NET_F.RESYNC)
        ? MsgResult.CTL
        : MsgResult.BAD,
};

function setup(stream = false) {
  const got: Conntrack[] = [];
  const p = new ReceivePipeline(notrackLike, { conntrack: (_t, rec, o) => got.push(records().unpackCt(rec, o)), expectation: () => undefined }, stream);
  return { p, got };
}

const b = new MessageBuilder({ sendTimeout: true, tcpWindowTracking: false });
const msg = (seq: number): Buffer => Buffer.from(b.buf.subarray(0, b.conntrack(NET_T.CT_NEW, 0, seq, ...slot(ct))));
const ack = (seq: number): Buffer => Buffer.from(b.buf.subarray(0, b.controlRange(NET_F.ACK, seq, 1, 2)));

function counters(p: ReceivePipeline) {
  const { malformed, badVersion, badHeader, badPayload, badType, truncated, badSize } = p.stats;
  return { malformed, badVersion, badHeader, badPayload, badType, truncated, badSize };
}
const zero = { malformed: 0n, badVersion: 0, badHeader: 0, badPayload: 0, badType: 0, truncated: 0, badSize: 0 };

describe('ReceivePipeline', () => {
  it('accepts several messages per datagram', () => {
    const { p, got } = setup();
    p.receive(Buffer.concat([msg(1), msg(2), msg(3)]));
    expect(got).toHaveLength(3);
    expect(counters(p)).toEqual(zero);
  });

  it('truncated tail: counted, the messages before it are kept', () => {
    const { p, got } = setup();
    p.receive(Buffer.concat([msg(1), Buffer.from([0x10, 0, 0])]));
    expect(got).toHaveLength(1);
    expect(counters(p)).toEqual({ ...zero, malformed: 1n, truncated: 1 });
  });

  it('len 0, len beyond the datagram, short ACK: bad size, rest of the datagram discarded', () => {
    const { p, got } = setup();
    const zeroLen = msg(1);
    zeroLen.writeUInt16BE(0, 2);
    p.receive(Buffer.concat([zeroLen, msg(2)]));
    const long = msg(3);
    long.writeUInt16BE(200, 2);
    p.receive(long);
    const shortAck = ack(4).subarray(0, 8);
    shortAck.writeUInt16BE(8, 2);
    p.receive(Buffer.concat([shortAck, msg(5)]));
    const tiny = msg(6);
    tiny.writeUInt16BE(4, 2);
    p.receive(Buffer.concat([tiny, msg(7)]));
    expect(got).toHaveLength(0);
    expect(counters(p)).toEqual({ ...zero, malformed: 4n, badSize: 4 });
  });

  it('an ACK cut short: len beyond the datagram is bad size, a short remainder is truncated', () => {
    const { p } = setup();
    p.receive(ack(1).subarray(0, 12));
    expect(counters(p)).toEqual({ ...zero, malformed: 1n, badSize: 1 });
    const cut = ack(2).subarray(0, 12);
    cut.writeUInt16BE(12, 2);
    p.receive(cut);
    expect(counters(p)).toEqual({ ...zero, malformed: 2n, badSize: 1, truncated: 1 });
  });

  it('bad version / bad header / bad type / bad payload skip only that message', () => {
    const { p, got } = setup();
    const v2 = msg(1);
    v2[0] = 0x20;
    const badType = msg(2);
    badType[0] = 0x17;
    const unknownAttr = msg(3);
    unknownAttr.writeUInt16BE(33, 8 + 2); // first TLV id := NTA_MAX
    const wrongFixed = msg(4);
    wrongFixed.writeUInt16BE(11, 8); // NTA_IPV4 must be 12
    const attrTooLong = msg(5);
    attrTooLong.writeUInt16BE(200, 8);
    p.receive(Buffer.concat([v2, msg(10), ack(11), badType, unknownAttr, wrongFixed, attrTooLong, msg(12)]));
    expect(got.map((c) => c.orig.src)).toEqual(['10.1.200.1', '10.1.200.1']);
    expect(counters(p)).toEqual({ ...zero, malformed: 6n, badVersion: 1, badHeader: 1, badType: 1, badPayload: 3 });
  });

  it('stream mode reassembles messages split at every byte boundary', () => {
    const resync = Buffer.from(b.buf.subarray(0, b.controlRange(NET_F.RESYNC, 2, 0, 0)));
    const whole = Buffer.concat([msg(1), resync, msg(3)]);
    for (let cut = 1; cut < whole.length; cut++) {
      const { p, got } = setup(true);
      p.receive(whole.subarray(0, cut));
      p.receive(whole.subarray(cut));
      expect(got).toHaveLength(2);
      expect(p.stats.malformed).toBe(0n);
    }
  });

  it('survives 20 000 random and mutated datagrams: never throws, every error counted', () => {
    let state = 12345;
    const rnd = (n: number): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    const base = Buffer.concat([msg(1), ack(2), msg(3)]);
    const { p, got } = setup();
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let d: Buffer;
      if (i % 2 === 0) {
        d = Buffer.alloc(rnd(200));
        for (let k = 0; k < d.length; k++) d[k] = rnd(256);
      } else {
        d = Buffer.from(base.subarray(0, 1 + rnd(base.length)));
        for (let k = rnd(4); k >= 0; k--) d[rnd(d.length)] = rnd(256);
      }
      const before = got.length;
      expect(() => p.receive(d)).not.toThrow();
      for (const c of got.slice(before)) expect(c.orig.l3 === 'ipv4' || c.orig.l3 === 'ipv6').toBe(true);
      accepted += got.length - before;
    }
    const s = p.stats;
    expect(s.malformed).toBe(BigInt(s.badVersion + s.badHeader + s.badPayload + s.badType + s.truncated + s.badSize));
    expect(s.malformed).toBeGreaterThan(10_000n);
    expect(accepted).toBeGreaterThan(0);
  });
});
