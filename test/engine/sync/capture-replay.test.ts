/**
 * Whole-capture replays: two in-process nodes run the lab's capture scenario (same start
 * times, same kernel events, same datagrams lost, same `-n` / `-B`) and must send, per
 * direction, the datagrams conntrackd 1.4.7 sent — FT-FW's ACK+NACK and retransmissions,
 * NOTRACK's unrepaired losses, the RESYNC answer, the bulk, the real connection.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { SyncModeName } from '../../../src/engine/config/types.js';
import { CAPTURE_DIR, VARIANTS, readDecoded, readPcapUdp, stateOf } from '../wire/captures.js';
import { FakeScheduler, Node, syncConfig } from './harness.js';
import type { Sent } from './harness.js';

/**
 * A bulk datagram lists the cache in table order (conntrackd: jhash bucket order, ours:
 * insertion order): such datagrams compare as their seq run plus the sorted message bodies.
 */
function normalize(payload: Buffer): string {
  const msgs: Buffer[] = [];
  for (let off = 0; off < payload.length; off += payload.readUInt16BE(off + 2)) {
    msgs.push(payload.subarray(off, off + payload.readUInt16BE(off + 2)));
  }
  if (msgs.filter((m) => m[0] !== 0x1a).length < 2) return payload.toString('hex');
  const seqs = msgs.map((m) => m.readUInt32BE(4));
  const bodies = msgs.map((m) => Buffer.concat([m.subarray(0, 4), m.subarray(8)]).toString('hex')).sort();
  return `seqs ${seqs.join(',')} bodies ${bodies.join(' ')}`;
}

const FW1 = '10.200.0.1';
const FW2 = '10.200.0.2';

function replay(variant: (typeof VARIANTS)[number]) {
  const real = readPcapUdp(`${CAPTURE_DIR}/${variant}.pcap`);
  const notes = readDecoded(`${CAPTURE_DIR}/${variant}.decoded.txt`);
  const actions = readFileSync(`${CAPTURE_DIR}/${variant}.events.txt`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => ({ at: Number(l.split(' ')[0]) * 1000, text: l.slice(l.indexOf(' ') + 1) }));
  const action = (prefix: string): number => actions.find((a) => a.text.startsWith(prefix))!.at;
  const mode: SyncModeName = variant.startsWith('ftfw') ? 'FTFW' : 'NOTRACK';
  const t = (i: number): number => real[i]!.time * 1000;

  const sched = new FakeScheduler(action('start') - 10);
  const wire: Sent[] = [];
  const fw1 = new Node(FW1, sched, wire, syncConfig(mode));
  const fw2 = new Node(FW2, sched, wire, syncConfig(mode));
  fw1.peer = fw2;
  fw2.peer = fw1;
  const when = (ms: number, fn: () => void): void => void sched.setTimer(ms - sched.now(), fn);

  // each daemon's 1 s timer first fired one second after it started
  when(t(real.findIndex((d) => d.src === FW1)) - 1000, () => fw1.mode.start(false));
  when(t(real.findIndex((d) => d.src === FW2)) - 1000, () => fw2.mode.start(false));

  // loss episode: fw2's nftables dropped its 1st, 4th, 7th … incoming datagram
  let incoming = 0;
  const lossFrom = action('LOSS:');
  const lossTo = action('LOSS end');
  fw2.dropIn = () => sched.now() >= lossFrom && sched.now() <= lossTo && incoming++ % 3 === 0;

  // kernel events, rebuilt from fw1's single-message datagrams (retransmissions skipped)
  const last = new Map<string, string>();
  notes.forEach((p, i) => {
    if (p.src === FW2 && p.messages[0]!.type === 10 && p.messages[0]!.flags === 0x02) {
      when(t(i), () => fw2.mode.requestResync());
      // fw1 took ~0.2 ms to answer (walking its cache): without it the next timers would tie
      when(t(i) - 1, () => (fw1.txDelayMs = 0.13));
      when(t(i) + 1, () => (fw1.txDelayMs = 0));
    }
    if (p.src !== FW1) return;
    const dataMsgs = p.messages.filter((m) => m.type !== 10);
    if (dataMsgs.length !== 1) return;
    const m = dataMsgs[0]!;
    const ct = stateOf(m);
    const key = `${ct.orig.src}:${ct.orig.sport}`;
    const body = JSON.stringify([m.type, ct]);
    if (last.get(key) === body) return;
    const known = last.has(key);
    last.set(key, body);
    when(t(i) - 0.02, () => {
      if (m.type === 0) fw1.event('new', ct);
      else if (m.type === 2) fw1.event('destroy', ct);
      else {
        // a connection first seen as CT_UPD: its NEW and UPDATE events came in one batch
        if (!known) fw1.event('new', { ...ct, tcp: { state: 1 } });
        fw1.event('update', ct);
      }
    });
  });
  when(action('BULK') + 0.1, () => fw1.mode.sendBulk());
  sched.runUntil(action('stop'));
  return { real, wire, fw1, fw2 };
}

describe.each(VARIANTS)('replay of %s', (variant) => {
  it('sends, per direction, the datagrams conntrackd sent', () => {
    const { real, wire, fw1, fw2 } = replay(variant);
    for (const node of [FW1, FW2]) {
      expect(wire.filter((s) => s.from === node).map((s) => normalize(s.payload))).toEqual(
        real.filter((d) => d.src === node).map((d) => normalize(d.payload)),
      );
    }
    expect(fw1.log).toContain('resync requested by other node');
    expect(fw2.external.ct.size).toBe(10);
    expect(fw2.mode.network.malformed).toBe(0n);
    // "Packets lost" as fw2 reported it 4 s after the loss episode (§1.9 over-count)
    const reported = readFileSync(`${CAPTURE_DIR}/${variant}.fw2-network-after-loss.txt`, 'utf8');
    expect(fw2.mode.sequence.lost).toBe(BigInt(/Packets lost:\s+(\d+)/.exec(reported)![1]!));
  });
});
