import { describe, expect, test } from 'vitest';
import { addonAvailable, loadAddon } from '../../src/engine/kernel/addon.js';
import { RecordCodec } from '../../src/engine/kernel/record.js';
import type { Conntrack, Expectation } from '../../src/engine/model/conntrack.js';

describe.skipIf(!addonAvailable())(`record slots (layout from the addon)${addonAvailable() ? '' : ' (skipped: the ctnetlink addon is not built)'}`, () => {
  const codec = new RecordCodec(loadAddon().layout);

  test('a conntrack with every field the kernel takes survives pack/unpack', () => {
    const ct: Conntrack = {
      orig: { l3: 'ipv6', src: '2001:db8::1', dst: '2001:db8::2', proto: 132, sport: 5000, dport: 38412 },
      reply: { l3: 'ipv6', src: '2001:db8::2', dst: '2001:db8::1', proto: 132, sport: 38412, dport: 5000 },
      master: { l3: 'ipv6', src: '2001:db8::1', dst: '2001:db8::2', proto: 6, sport: 1, dport: 21 },
      status: 0x18e, timeout: 431999, mark: 0xdeadbeef, zone: 65535,
      sctp: { state: 3, vtagOrig: 0xffffffff, vtagRepl: 7 },
      seqAdjOrig: { correctionPos: 1, offsetBefore: 2, offsetAfter: 3 },
      seqAdjRepl: { correctionPos: 4, offsetBefore: 5, offsetAfter: 6 },
      helper: 'sip', labels: [1, 0, 0, 0x80000000], synproxy: { isn: 1, its: 2, tsoff: 3 },
    };
    const buf = codec.alloc(2);
    codec.packCt(ct, buf, codec.slot);
    expect(codec.unpackCt(buf, codec.slot)).toEqual(ct);
  });

  test('TCP and ICMP details; absent fields stay absent', () => {
    const tcp: Conntrack = { orig: { l3: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport: 1, dport: 2 }, tcp: { state: 3, wscaleOrig: 7, wscaleRepl: 8, flagsOrig: 8, flagsRepl: 0 } };
    const icmp: Conntrack = { orig: { l3: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', proto: 1, icmpType: 8, icmpCode: 0, icmpId: 0xbeef } };
    const buf = codec.alloc(2);
    codec.packCt(tcp, buf, 0);
    codec.packCt(icmp, buf, codec.slot);
    expect(codec.unpackCt(buf, 0)).toEqual(tcp);
    expect(codec.unpackCt(buf, codec.slot)).toEqual(icmp);
  });

  test('an expectation survives pack/unpack', () => {
    const exp: Expectation = {
      master: { l3: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', proto: 6, sport: 4000, dport: 21 },
      tuple: { l3: 'ipv4', src: '10.0.0.2', dst: '10.0.0.1', proto: 6, sport: 0, dport: 50000 },
      mask: { l3: 'ipv4', src: '255.255.255.255', dst: '255.255.255.255', proto: 6, sport: 0, dport: 0xffff },
      timeout: 300, flags: 1, class: 0, zone: 3, helper: 'ftp', fn: 'nat-follow-master',
      natTuple: { l3: 'ipv4', src: '0.0.0.0', dst: '192.0.2.1', proto: 6, sport: 0, dport: 50000 }, natDir: 1,
    };
    const buf = codec.alloc(1);
    codec.packExp(exp, buf, 0);
    expect(codec.unpackExp(buf, 0)).toEqual(exp);
  });
});
