/**
 * Test helpers for the lab captures (shared/lab/captures): a minimal pcap reader (Ethernet →
 * IPv4 → UDP payload) and a reader of the `*.decoded.txt` annotations.
 */
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import type { Conntrack } from '../../../src/engine/model/conntrack.js';

export const CAPTURE_DIR = fileURLToPath(new URL('../../../../shared/lab/captures', import.meta.url));
export const VARIANTS = ['ftfw-udp', 'ftfw-mcast', 'notrack-udp'] as const;

export interface UdpDatagram {
  /** Capture time, epoch seconds. */
  time: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload: Buffer;
}

/** Reads a classic pcap (either byte order, link type Ethernet) into its UDP payloads. */
export function readPcapUdp(path: string): UdpDatagram[] {
  const f = readFileSync(path);
  const magic = f.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && f.readUInt32BE(0) !== 0xa1b2c3d4 && f.readUInt32BE(0) !== 0xa1b23c4d) throw new Error('not a pcap');
  const u32 = (o: number): number => (le ? f.readUInt32LE(o) : f.readUInt32BE(o));
  if (u32(20) !== 1) throw new Error('link type is not Ethernet');
  const out: UdpDatagram[] = [];
  let off = 24;
  while (off + 16 <= f.length) {
    const time = u32(off) + u32(off + 4) / 1e6;
    const incl = u32(off + 8);
    const frame = f.subarray(off + 16, off + 16 + incl);
    off += 16 + incl;
    let p = 12;
    let etherType = frame.readUInt16BE(p);
    while (etherType === 0x8100) {
      p += 4;
      etherType = frame.readUInt16BE(p);
    }
    p += 2;
    if (etherType !== 0x0800) continue;
    const ihl = (frame[p]! & 0x0f) * 4;
    if (frame[p + 9] !== 17) continue;
    const totalLen = frame.readUInt16BE(p + 2);
    const ip = (o: number): string => `${frame[o]}.${frame[o + 1]}.${frame[o + 2]}.${frame[o + 3]}`;
    const udp = p + ihl;
    const udpLen = frame.readUInt16BE(udp + 4);
    out.push({
      time,
      src: ip(p + 12),
      dst: ip(p + 16),
      sport: frame.readUInt16BE(udp),
      dport: frame.readUInt16BE(udp + 2),
      payload: Buffer.from(frame.subarray(udp + 8, Math.min(udp + udpLen, p + totalLen))),
    });
  }
  return out;
}

export interface AnnotatedAttr {
  offset: number;
  len: number;
  name: string;
  text: string;
}

export interface AnnotatedMessage {
  offset: number;
  version: number;
  type: number;
  flags: number;
  len: number;
  seq: number;
  from?: number;
  to?: number;
  attrs: AnnotatedAttr[];
}

export interface AnnotatedPacket {
  number: number;
  src: string;
  dst: string;
  bytes: number;
  messages: AnnotatedMessage[];
}

/** Parses `<variant>.decoded.txt` (tools/decode-sync.py output). */
export function readDecoded(path: string): AnnotatedPacket[] {
  const packets: AnnotatedPacket[] = [];
  let msg: AnnotatedMessage | undefined;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    let m = /^pkt #(\d+) \S+ ([\d.]+):\d+ -> ([\d.]+):\d+ udp payload (\d+) bytes/.exec(line);
    if (m) {
      packets.push({ number: Number(m[1]), src: m[2]!, dst: m[3]!, bytes: Number(m[4]), messages: [] });
      continue;
    }
    m = /^\s+msg @(\d+): version=(\d+) type=(\d+)\(\w+\) flags=0x([0-9a-f]+)\S* len=(\d+) seq=(\d+)/.exec(line);
    if (m) {
      msg = {
        offset: Number(m[1]),
        version: Number(m[2]),
        type: Number(m[3]),
        flags: parseInt(m[4]!, 16),
        len: Number(m[5]),
        seq: Number(m[6]),
        attrs: [],
      };
      packets.at(-1)!.messages.push(msg);
      continue;
    }
    m = /^\s+(?:ACK|NACK|RESYNC): from=(\d+) to=(\d+)/.exec(line);
    if (m && msg) {
      msg.from = Number(m[1]);
      msg.to = Number(m[2]);
      continue;
    }
    m = /^\s+\[\s*(\d+)\] len=\s*(\d+) (\w+) ?(.*)$/.exec(line);
    if (m && msg) msg.attrs.push({ offset: Number(m[1]), len: Number(m[2]), name: m[3]!, text: m[4]! });
  }
  return packets;
}

/** The conntrack an annotated data message describes (the attributes the captures contain). */
export function stateOf(msg: AnnotatedMessage): Conntrack {
  const ct: Conntrack = { orig: { l3: 'ipv4', src: '', dst: '', proto: 0 } };
  for (const a of msg.attrs) {
    const n = Number(a.text.split(' ')[0]);
    switch (a.name) {
      case 'IPV4': {
        const m = /src=(\S+) dst=(\S+)/.exec(a.text)!;
        ct.orig.src = m[1]!;
        ct.orig.dst = m[2]!;
        break;
      }
      case 'STATUS':
        ct.status = parseInt(a.text, 16);
        break;
      case 'L4PROTO':
        ct.orig.proto = n;
        break;
      case 'PORT': {
        const m = /sport=(\d+) dport=(\d+)/.exec(a.text)!;
        ct.orig.sport = Number(m[1]);
        ct.orig.dport = Number(m[2]);
        break;
      }
      case 'TCP_STATE':
        ct.tcp = { state: n };
        break;
      case 'TIMEOUT':
        ct.timeout = n;
        break;
      case 'MARK':
        ct.mark = n;
        break;
      case 'SYNPROXY':
        if (a.text !== 'raw=000000000000000000000000') throw new Error(`unexpected SYNPROXY ${a.text}`);
        ct.synproxy = { its: 0, isn: 0, tsoff: 0 };
        break;
      default:
        throw new Error(`annotation ${a.name} not handled`);
    }
  }
  return ct;
}
