/**
 * The worked examples of shared/spec/conntrackd.md §1.14, and round trips of every
 * conntrack and expectation attribute (§1.6–1.8, §1.11, §1.12).
 */
import { describe, expect, it } from 'vitest';
import type { Conntrack, Expectation } from '../../../src/engine/model/conntrack.js';
import { IPS, TCP_STATE } from '../../../src/engine/model/conntrack.js';
import { MessageBuilder, buildOptionsFrom } from '../../../src/engine/wire/build.js';
import { DatagramBatcher } from '../../../src/engine/wire/batcher.js';
import { NET_F, NET_T } from '../../../src/engine/wire/nethdr.js';
import { records } from '../../../src/engine/kernel/record.js';
import { parseCt, parseExp, slot } from '../../helpers/records.js';

const hex = (s: string): string => s.replace(/\s+/g, '');
const bytes = (b: MessageBuilder, len: number): string => b.buf.subarray(0, len).toString('hex');

const flow = (): Conntrack => ({
  orig: { l3: 'ipv4', src: '192.168.10.2', dst: '10.0.1.31', proto: 6, sport: 41000, dport: 80 },
  reply: { l3: 'ipv4', src: '10.0.1.31', dst: '192.168.10.2', proto: 6, sport: 80, dport: 41000 },
  status: 0x18e,
  timeout: 432000,
  tcp: { state: TCP_STATE.ESTABLISHED },
});

describe('§1.14 worked vectors', () => {
  it('A: CT_NEW steady state, 60 bytes', () => {
    const b = new MessageBuilder({ sendTimeout: true, tcpWindowTracking: false });
    const len = b.conntrack(NET_T.CT_NEW, 0, 1700000000, ...slot(flow()));
    expect(bytes(b, len)).toBe(
      hex(`10 00 00 3c 65 53 f1 00  00 0c 00 00 c0 a8 0a 02  0a 00 01 1f  00 08 00 05 00 00 01 8e
           00 05 00 02 06 00 00 00  00 08 00 03 a0 28 00 50  00 05 00 04 03 00 00 00  00 08 00 06 00 06 97 80`),
    );
  });

  it('B: CT_UPD with HELLO, masquerade (SNAT raw, SPAT little-endian), window tracking, 100 bytes', () => {
    const b = new MessageBuilder(buildOptionsFrom({ commitTimeout: undefined, tcpWindowTracking: true }));
    const ct = flow();
    ct.reply = { l3: 'ipv4', src: '10.0.1.31', dst: '10.0.1.1', proto: 6, sport: 80, dport: 61000 };
    ct.status = 0x19e;
    ct.timeout = 431999;
    ct.mark = 42;
    ct.tcp = { state: 3, wscaleOrig: 7, wscaleRepl: 7 };
    const len = b.conntrack(NET_T.CT_UPD, NET_F.HELLO, 0x6553f101, ...slot(ct));
    const want = hex(`11 20 00 64 65 53 f1 01  00 0c 00 00 c0 a8 0a 02 0a 00 01 1f  00 08 00 05 00 00 01 9e
      00 05 00 02 06 00 00 00  00 08 00 03 a0 28 00 50  00 05 00 04 03 00 00 00  00 05 00 19 07 00 00 00
      00 05 00 1a 07 00 00 00  00 08 00 06 00 06 97 7f  00 08 00 07 00 00 00 2a  00 08 00 0c 0a 00 01 01
      00 06 00 0e 48 ee 00 00`);
    expect(bytes(b, len)).toBe(want);
    // the receiver rebuilds NAT ranges, not a reply tuple (§1.11)
    const back = parseCt(b.buf, 8, len)!;
    expect(back.reply).toBeUndefined();
    expect(back.snat).toEqual({ addr: '10.0.1.1', port: 61000 });
    expect(back.dnat).toBeUndefined();
    // and re-encodes the same bytes from them
    const again = b.conntrack(NET_T.CT_UPD, NET_F.HELLO, 0x6553f101, ...slot(back));
    expect(bytes(b, again)).toBe(want);
  });

  it('C: CT_DEL and ACK batched into one 76-byte datagram; control vectors', () => {
    const b = new MessageBuilder({ sendTimeout: true, tcpWindowTracking: false });
    const sent: Buffer[] = [];
    const batcher = new DatagramBatcher({ payloadLimit: 1472, stream: false, send: (p) => sent.push(p) });
    const ct = flow();
    ct.tcp = { state: TCP_STATE.TIME_WAIT };
    ct.timeout = 120;
    batcher.append(b.buf, b.conntrack(NET_T.CT_DEL, 0, 0x6553f106, ...slot(ct)));
    batcher.append(b.buf, b.controlRange(NET_F.ACK, 0x6553f107, 900000300, 900000310));
    expect(sent).toHaveLength(0);
    batcher.flush();
    expect(sent.map((p) => p.toString('hex'))).toEqual([
      hex(`12 00 00 3c 65 53 f1 06  00 0c 00 00 c0 a8 0a 02  0a 00 01 1f
           00 08 00 05 00 00 01 8e  00 05 00 02 06 00 00 00  00 08 00 03 a0 28 00 50
           00 05 00 04 07 00 00 00  00 08 00 06 00 00 00 78
           1a 08 00 10 65 53 f1 07  35 a4 ea 2c 35 a4 ea 36`),
    ]);
    expect(bytes(b, b.control(NET_F.ALIVE, 0x6553f102))).toBe(hex('1a 10 00 08 65 53 f1 02'));
    expect(bytes(b, b.controlRange(NET_F.NACK, 0x6553f104, 900000300, 900000304))).toBe(
      hex('1a 04 00 10 65 53 f1 04 35 a4 ea 2c 35 a4 ea 30'),
    );
    expect(bytes(b, b.controlRange(NET_F.RESYNC, 0x6553f105, 0, 0))).toBe(
      hex('1a 02 00 10 65 53 f1 05 00 00 00 00 00 00 00 00'),
    );
  });

  it('omits NTA_TIMEOUT when the sender has a CommitTimeout (§1.7 item 5)', () => {
    const b = new MessageBuilder(buildOptionsFrom({ commitTimeout: 180, tcpWindowTracking: false }));
    const len = b.conntrack(NET_T.CT_NEW, 0, 1, ...slot(flow()));
    expect(len).toBe(52);
    expect(parseCt(b.buf, 8, len)!.timeout).toBeUndefined();
  });
});

describe('conntrack attributes round trip', () => {
  const b = new MessageBuilder({ sendTimeout: true, tcpWindowTracking: true });
  const roundTrip = (ct: Conntrack): Conntrack => {
    const len = b.conntrack(NET_T.CT_NEW, 0, 7, ...slot(ct));
    expect(len).toBeGreaterThan(0);
    expect(len % 4).toBe(0);
    expect(b.buf.readUInt16BE(2)).toBe(len);
    return parseCt(b.buf, 8, len)!;
  };

  it('IPv6 with SNAT/DNAT v6, ports, helper, labels, zone, synproxy, seq-adj, master', () => {
    const ct: Conntrack = {
      orig: { l3: 'ipv6', src: '2001:db8::1', dst: '2001:db8:0:1::20', proto: 6, sport: 1234, dport: 21 },
      status: IPS.SEEN_REPLY | IPS.SRC_NAT | IPS.SRC_NAT_DONE | IPS.DST_NAT_DONE,
      timeout: 300,
      mark: 0xffffffff,
      zone: 7,
      tcp: { state: 2, wscaleOrig: 3, wscaleRepl: 9 },
      snat: { addr: '2001:db8:ffff::1', port: 40000 },
      dnat: { addr: '::ffff:10.0.0.1' },
      seqAdjOrig: { correctionPos: 1, offsetBefore: 2, offsetAfter: 0xfffffff0 },
      seqAdjRepl: { correctionPos: 4, offsetBefore: 5, offsetAfter: 6 },
      helper: 'ftp',
      labels: [1, 0, 0x80000000, 0],
      synproxy: { its: 1, isn: 2, tsoff: 3 },
      master: { l3: 'ipv6', src: 'fe80::1', dst: 'fe80::2', proto: 17, sport: 53, dport: 5353 },
    };
    expect(roundTrip(ct)).toEqual(ct);
  });

  it('ICMP type/code/id (id little-endian on the wire), SCTP and DCCP state, other protocols without ports', () => {
    const icmp: Conntrack = { orig: { l3: 'ipv4', src: '1.2.3.4', dst: '5.6.7.8', proto: 1, icmpType: 8, icmpCode: 0, icmpId: 0x1234 }, status: 0 };
    expect(roundTrip(icmp)).toEqual(icmp);
    const len = b.conntrack(NET_T.CT_NEW, 0, 7, ...slot(icmp));
    expect(b.buf.subarray(0, len).includes(Buffer.from([0x00, 0x06, 0x00, 0x18, 0x34, 0x12]))).toBe(true);
    const sctp: Conntrack = {
      orig: { l3: 'ipv4', src: '1.2.3.4', dst: '5.6.7.8', proto: 132, sport: 1, dport: 2 },
      status: 8,
      sctp: { state: 3, vtagOrig: 0xdeadbeef, vtagRepl: 1 },
    };
    expect(roundTrip(sctp)).toEqual(sctp);
    const dccp: Conntrack = { orig: { l3: 'ipv4', src: '1.2.3.4', dst: '5.6.7.8', proto: 33, sport: 1, dport: 2 }, status: 8, dccp: { state: 1, role: 2 } };
    expect(roundTrip(dccp)).toEqual(dccp);
    const gre = roundTrip({ orig: { l3: 'ipv4', src: '1.2.3.4', dst: '5.6.7.8', proto: 47, sport: 9, dport: 9 }, status: 8 });
    expect(gre.orig).toEqual({ l3: 'ipv4', src: '1.2.3.4', dst: '5.6.7.8', proto: 47 });
  });

  it('derives DNAT/DPAT from a kernel reply tuple and skips NAT without the *_NAT_DONE bits', () => {
    const ct: Conntrack = {
      orig: { l3: 'ipv4', src: '10.0.0.1', dst: '192.0.2.1', proto: 17, sport: 5000, dport: 53 },
      reply: { l3: 'ipv4', src: '10.9.9.9', dst: '10.0.0.1', proto: 17, sport: 5353, dport: 5000 },
      status: IPS.DST_NAT | IPS.DST_NAT_DONE | IPS.CONFIRMED,
    };
    expect(roundTrip(ct).dnat).toEqual({ addr: '10.9.9.9', port: 5353 });
    const noDone = roundTrip({ ...ct, status: IPS.CONFIRMED });
    expect(noDone.dnat).toBeUndefined();
    expect(noDone.snat).toBeUndefined();
  });

  it('never emits a helper name the receiver rejects (> 11 chars) nor an all-zero label set', () => {
    const ct = roundTrip({ ...flow(), helper: 'twelve-chars', labels: [0, 0, 0, 0] });
    expect(ct.helper).toBeUndefined();
    expect(ct.labels).toBeUndefined();
    expect(roundTrip({ ...flow(), helper: 'eleven-char' }).helper).toBe('eleven-char');
  });

  it('reports an unencodable address when the entry is packed into its record slot', () => {
    const R = records();
    expect(R.packCt({ orig: { l3: 'ipv4', src: 'x', dst: '1.1.1.1', proto: 6 } }, R.alloc(1), 0)).toBe(false);
    expect(R.packExp({ master: flow().orig, tuple: flow().orig, mask: { ...flow().orig, dst: '1::2' } }, R.alloc(1), 0)).toBe(false);
    expect(R.packCt(flow(), R.alloc(1), 0)).toBe(true);
  });
});

describe('expectation messages (§1.8)', () => {
  it('round-trips every attribute in emission order', () => {
    const b = new MessageBuilder({ sendTimeout: true, tcpWindowTracking: false });
    const exp: Expectation = {
      master: { l3: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport: 40000, dport: 21 },
      tuple: { l3: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport: 0, dport: 50000 },
      mask: { l3: 'ipv4', src: '255.255.255.255', dst: '255.255.255.255', proto: 255, sport: 0, dport: 0xffff },
      timeout: 300,
      flags: 0,
      class: 0,
      natTuple: { l3: 'ipv4', src: '0.0.0.0', dst: '192.0.2.9', proto: 6, sport: 0, dport: 60000 },
      natDir: 1,
      helper: 'ftp',
      fn: 'nf_nat_follow_master',
    };
    const len = b.expectation(NET_T.EXP_NEW, 0, 3, ...slot(exp));
    const ids: number[] = [];
    for (let off = 8; off < len; off += (b.buf.readUInt16BE(off) + 3) & ~3) ids.push(b.buf.readUInt16BE(off + 2));
    expect(ids).toEqual([0, 2, 3, 4, 6, 7, 8, 10, 11, 12, 13, 14, 15, 17, 16, 18, 19, 20]);
    expect(parseExp(b.buf, 8, len)).toEqual(exp);
  });
});
