/**
 * The lab captures of real conntrackd 1.4.7 (shared/lab/captures) decode to what the
 * annotations say, and the encoder rebuilds every message — and every datagram, through the
 * batcher — byte for byte from the decoded state.
 */
import { describe, expect, it } from 'vitest';
import type { Conntrack } from '../../../src/engine/model/conntrack.js';
import type { NetHeader } from '../../../src/engine/wire/nethdr.js';
import { NET_T, hasRange, isData } from '../../../src/engine/wire/nethdr.js';
import { MessageBuilder } from '../../../src/engine/wire/build.js';
import { DatagramBatcher } from '../../../src/engine/wire/batcher.js';
import { MsgResult, ReceivePipeline } from '../../../src/engine/wire/receive.js';
import { CAPTURE_DIR, VARIANTS, readDecoded, readPcapUdp, stateOf } from './captures.js';
import { records } from '../../../src/engine/kernel/record.js';
import { slot } from '../../helpers/records.js';

interface Seen {
  headers: NetHeader[];
  cts: Conntrack[];
}

function decodeDatagram(payload: Buffer): Seen & { pipeline: ReceivePipeline } {
  const seen: Seen = { headers: [], cts: [] };
  const pipeline = new ReceivePipeline(
    {
      recv(h) {
        seen.headers.push({ ...h });
        return isData(h.type, h.flags) ? MsgResult.DATA : MsgResult.CTL;
      },
    },
    { conntrack: (_t, rec, o) => seen.cts.push(records().unpackCt(rec, o)), expectation: () => expect.fail('no expectations captured') },
    false,
  );
  pipeline.receive(payload);
  return { ...seen, pipeline };
}

describe.each(VARIANTS)('capture %s', (variant) => {
  const datagrams = readPcapUdp(`${CAPTURE_DIR}/${variant}.pcap`);
  const packets = readDecoded(`${CAPTURE_DIR}/${variant}.decoded.txt`);

  it('has one annotated packet per captured datagram', () => {
    expect(packets.length).toBeGreaterThan(40);
    expect(datagrams.length).toBe(packets.length);
    packets.forEach((p, i) => {
      expect(datagrams[i]!.src).toBe(p.src);
      expect(datagrams[i]!.payload.length).toBe(p.bytes);
    });
  });

  it('decodes every message to the annotated header and attribute values, with no error counted', () => {
    let data = 0;
    packets.forEach((p, i) => {
      const { headers, cts, pipeline } = decodeDatagram(datagrams[i]!.payload);
      expect(headers.length).toBe(p.messages.length);
      const dataMsgs = p.messages.filter((m) => m.type !== NET_T.CTL);
      p.messages.forEach((m, k) => {
        const h = headers[k]!;
        expect({ version: h.version, type: h.type, flags: h.flags, len: h.len, seq: h.seq }).toEqual({
          version: m.version,
          type: m.type,
          flags: m.flags,
          len: m.len,
          seq: m.seq,
        });
        if (hasRange(m.type, m.flags)) expect([h.from, h.to]).toEqual([m.from, m.to]);
      });
      expect(cts).toEqual(dataMsgs.map(stateOf));
      data += cts.length;
      expect(pipeline.stats.malformed).toBe(0n);
    });
    expect(data).toBeGreaterThan(20);
  });

  it('re-encodes every message and every datagram byte for byte', () => {
    const builder = new MessageBuilder({ sendTimeout: true, tcpWindowTracking: false });
    const sent: Buffer[] = [];
    const batcher = new DatagramBatcher({ payloadLimit: 1500 - 28, stream: false, send: (b) => sent.push(b) });
    packets.forEach((p, i) => {
      const payload = datagrams[i]!.payload;
      for (const m of p.messages) {
        let len: number;
        if (m.type === NET_T.CTL) {
          len = hasRange(m.type, m.flags)
            ? builder.controlRange(m.flags, m.seq, m.from!, m.to!)
            : builder.control(m.flags, m.seq);
        } else {
          len = builder.conntrack(m.type, m.flags, m.seq, ...slot(stateOf(m)));
        }
        expect(builder.buf.subarray(0, len).toString('hex')).toBe(
          payload.subarray(m.offset, m.offset + m.len).toString('hex'),
        );
        batcher.append(builder.buf, len);
      }
      batcher.flush();
      expect(sent.at(-1)!.equals(payload)).toBe(true);
    });
    expect(sent.length).toBe(packets.length);
  });
});
