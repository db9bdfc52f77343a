/**
 * Reads the one-flow-per-line XML that a cache dump with `-x` answers
 * (libnetfilter_conntrack NFCT_O_XML, conntrackd.md §5.5): VyOS's cache tables are built from
 * it (vyos.md §4.2), and both conntrackd and ctsyncd serve it. Only what the table shows is
 * read: the `original` direction's addresses, ports and protocol name.
 */
import type { L3 } from '../engine/model/conntrack.js';

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

/** The flows of a dump; lines that are not a `<flow>` (expectations) are skipped, as VyOS does. */
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
