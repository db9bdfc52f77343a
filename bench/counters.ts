/**
 * The daemons' counters as their control sockets print them (conntrackd's layout, which
 * ctsyncd prints too): `-s cache`, `-s runtime` and `-s network`.
 */

/** One cache's counters from `-s cache`. */
export interface CacheCounters {
  active: number;
  updated: number;
  deleted: number;
}

/** The caches of a sync daemon, or conntrackd's one cache in statistics mode. */
export type CacheStats = Partial<Record<'internal' | 'external' | 'stats', CacheCounters>>;

export function parseCacheStats(text: string): CacheStats {
  const out: CacheStats = {};
  const block = /cache:(internal|external|stats)\s+active objects:\s+(\d+)[^]*?update OK\/failed:\s+(\d+)\/[^]*?deletion created\/failed:\s+(\d+)\//g;
  for (const m of text.matchAll(block)) {
    out[m[1] as keyof CacheStats] = { active: Number(m[2]), updated: Number(m[3]), deleted: Number(m[4]) };
  }
  return out;
}

/** `netlink overrun:` of `-s runtime`. */
export function parseOverruns(text: string): number {
  return Number(/netlink overrun:\s+(\d+)/.exec(text)?.[1] ?? 0);
}

/** `Packets lost:` of `-s network`: sync messages the sequence tracking saw missing. */
export function parseLost(text: string): number {
  return Number(/Packets lost:\s+(\d+)/.exec(text)?.[1] ?? 0);
}
