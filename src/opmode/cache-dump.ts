/**
 * Reads what the cache dump requests answer (conntrackd.md §5.5), for op-mode's cache tables.
 * Only what the table shows is read: addresses, ports and protocol name.
 * - Main tables: the one-flow-per-line XML of `-i|-e ct -x` (libnetfilter_conntrack
 *   NFCT_O_XML), the `original` direction, as VyOS builds its table (vyos.md §4.2).
 * - Expectations: the plain `-i|-e expect` lines (nfexp_snprintf's default form). VyOS asks for
 *   XML here too, but an expectation's XML has no `direction` meta, so its table stays empty;
 *   the plain line is also the one form conntrackd and ctsyncd answer alike.
 */
import { l4ProtoName, type L3 } from '../engine/model/conntrack.js';

export interface CacheFlow {
  family: L3;
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  protocol: string;
}

const ORIGINAL = /<meta direction="original">(.*?)<\/meta>/;
const LAYER3 = /<layer3 [^>]*protoname="([^"]*)"[^>]*><src>([^<]*)<\/src><dst>([^<]*)<\/dst><\/layer3>/;
const LAYER4 = /<layer4 [^>]*protoname="([^"]*)"[^>]*>(.*?)<\/layer4>/;
const PORTS = /<sport>(\d+)<\/sport><dport>(\d+)<\/dport>/;

/** The flows of a `-x` dump; lines that are not a flow's `<flow>` are skipped. */
export function parseFlowXml(text: string): CacheFlow[] {
  const flows: CacheFlow[] = [];
  for (const line of text.split('\n')) {
    const original = ORIGINAL.exec(line)?.[1];
    const l3 = original && LAYER3.exec(original);
    if (!original || !l3) continue;
    const l4 = LAYER4.exec(original);
    const ports = l4 && PORTS.exec(l4[2]!);
    flows.push({
      family: l3[1] === 'ipv6' ? 'ipv6' : 'ipv4',
      src: l3[2]!,
      dst: l3[3]!,
      ...(ports ? { sport: Number(ports[1]), dport: Number(ports[2]) } : {}),
      protocol: l4?.[1] ?? 'unknown',
    });
  }
  return flows;
}

type ExpectWords = Record<string, string>;

/**
 * The expected tuples of an expectation dump: `proto=6 src=… dst=… sport=0 dport=50000
 * mask-src=… mask-dst=… sport=0 dport=65535 master-src=… …`. The words after `mask-src` and
 * `master-src` belong to the mask and the master tuple. A port the mask leaves open (0: any
 * port, as the ftp helper's source port) is not shown.
 */
export function parseExpectationLines(text: string): CacheFlow[] {
  const flows: CacheFlow[] = [];
  for (const line of text.split('\n')) {
    const proto = /^proto=(\d+) /.exec(line);
    if (!proto) continue;
    const expected: ExpectWords = {};
    const mask: ExpectWords = {};
    let into = expected;
    for (const word of line.split(' ')) {
      const [key, value] = word.split('=', 2);
      if (value === undefined) continue;
      if (key === 'mask-src') into = mask;
      else if (key === 'master-src') break;
      into[key!.replace(/^mask-/, '')] ??= value;
    }
    if (expected.src === undefined || expected.dst === undefined) continue;
    const port = (name: 'sport' | 'dport'): number | undefined =>
      expected[name] !== undefined && mask[name] !== '0' ? Number(expected[name]) : undefined;
    flows.push({
      family: expected.src.includes(':') ? 'ipv6' : 'ipv4',
      src: expected.src,
      dst: expected.dst,
      sport: port('sport'),
      dport: port('dport'),
      protocol: l4ProtoName(Number(proto[1])),
    });
  }
  return flows;
}
