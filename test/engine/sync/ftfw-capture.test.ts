/**
 * Two in-process FT-FW nodes replay the first phase of the lab's ftfw-udp capture (start-up
 * handshake, one NEW/UPD/DEL, idle ACK keep-alives) with the same start times and events:
 * every datagram must come out byte for byte as conntrackd 1.4.7 sent it, in the same order.
 */
import { describe, expect, it } from 'vitest';
import type { Conntrack } from '../../../src/engine/model/conntrack.js';
import { CAPTURE_DIR, readPcapUdp } from '../wire/captures.js';
import { FakeScheduler, Node, syncConfig } from './harness.js';
import type { Sent } from './harness.js';

const at = (hms: string): number => Date.parse(`2026-11-21T${hms}Z`);

function entry(timeout: number, mark: number): Conntrack {
  return {
    orig: { l3: 'ipv4', src: '10.1.200.1', dst: '10.0.2.10', proto: 6, sport: 40000, dport: 80 },
    reply: { l3: 'ipv4', src: '10.0.2.10', dst: '10.1.200.1', proto: 6, sport: 80, dport: 40000 },
    status: 0xe,
    timeout,
    mark,
    tcp: { state: 3 },
    synproxy: { its: 0, isn: 0, tsoff: 0 },
    counters: { origPackets: 1, origBytes: 60, replyPackets: 0, replyBytes: 0 },
  };
}

describe('FT-FW against the ftfw-udp capture', () => {
  it('reproduces packets #1–#22 (HELLO handshake, data, ACK keep-alives) byte for byte', () => {
    const sched = new FakeScheduler(at('23:06:18.100'));
    const wire: Sent[] = [];
    const fw1 = new Node('10.200.0.1', sched, wire, syncConfig('FTFW'));
    const fw2 = new Node('10.200.0.2', sched, wire, syncConfig('FTFW'));
    fw1.peer = fw2;
    fw2.peer = fw1;
    sched.setTimer(at('23:06:18.153465') - sched.now(), () => fw1.mode.start(false));
    sched.setTimer(at('23:06:18.716221') - sched.now(), () => fw2.mode.start(false));
    sched.setTimer(at('23:06:21.772600') - sched.now(), () => fw1.event('new', entry(3600, 0)));
    sched.setTimer(at('23:06:23.290200') - sched.now(), () => fw1.event('update', entry(3598, 7)));
    sched.setTimer(at('23:06:24.805900') - sched.now(), () => fw1.event('destroy', entry(3598, 7)));
    sched.runUntil(at('23:06:28.807'));

    const real = readPcapUdp(`${CAPTURE_DIR}/ftfw-udp.pcap`).slice(0, 22);
    expect(wire.map((s) => `${s.from} ${s.payload.toString('hex')}`)).toEqual(
      real.map((d) => `${d.src} ${d.payload.toString('hex')}`),
    );
    // fw2 saw NEW, UPD, DEL: the entry is gone again, and nothing is left to resend
    expect(fw2.external.ct.size).toBe(0);
    expect(fw2.external.ct.stats).toMatchObject({ createdOk: 1, updatedOk: 1, deletedOk: 1 });
    // the DEAD object left the internal cache once acknowledged; only fw1's last ACK (#22)
    // still waits for fw2's acknowledgement
    expect(fw1.internal.ct.size).toBe(0);
    expect(fw1.internal.ct.stats).toMatchObject({ active: 0, total: 0, createdOk: 1, updatedOk: 1, deletedOk: 1 });
    expect(fw1.mode.resendQueue()).toEqual([{ kind: 'control', seq: 1795302390, flags: 0x08 }]);
  });
});
