/**
 * The JSON documents of ctsync's structured requests (REQUEST.JSON_*, codes ≥ 1000), for
 * op-mode `--json`. Keys are stable; every counter is a JSON number (bigint counters are
 * converted; they stay far below 2^53 in practice). One document per request.
 *
 *   JSON_STATS (1000)            → StatsDocument
 *   JSON_CT_DUMP_INTERNAL (1001) → DumpDocument<Conntrack>  (cache "internal")
 *   JSON_CT_DUMP_EXTERNAL (1002) → DumpDocument<Conntrack>  (cache "external")
 *   JSON_EXP_DUMP_INTERNAL (1003)→ DumpDocument<Expectation>
 *   JSON_EXP_DUMP_EXTERNAL (1004)→ DumpDocument<Expectation>
 */
import type { Conntrack, Expectation } from '../model/conntrack.js';
import type { ExternalView, InternalView } from './format.js';
import type {
  LinkStats,
  NetworkStats,
  QueueStats,
  RuntimeStats,
  SequenceStats,
  TrafficStats,
} from '../stats.js';

/** A stats block with bigint counters turned into numbers. */
export type Jsonified<T> = { [K in keyof T]: T[K] extends bigint ? number : T[K] };

export interface StatsDocument {
  mode: 'FTFW' | 'NOTRACK' | 'ALARM' | 'none';
  uptimeSeconds: number;
  /** The conntrack caches: the first two blocks of `-s`. */
  internal: InternalView;
  external: ExternalView;
  /** The expectation caches (the first two blocks of `-s expect`), with ExpectationSync only. */
  expect?: { internal: InternalView; external: ExternalView };
  traffic: Jsonified<TrafficStats>;
  network: Jsonified<NetworkStats>;
  sequence: Jsonified<SequenceStats>;
  links: Array<Jsonified<LinkStats>>;
  runtime: Jsonified<RuntimeStats>;
  queues: QueueStats[];
}

export interface DumpEntry<T> {
  object: T;
  /** Seconds since the object entered the cache. */
  activeSince: number;
  /** ALARM external cache only. */
  expiresIn?: number;
}

export interface DumpDocument<T extends Conntrack | Expectation> {
  cache: 'internal' | 'external';
  kind: T extends Conntrack ? 'ct' : 'expect';
  entries: Array<DumpEntry<T>>;
}

/** Convert the bigint counters of a stats block (JSON.stringify rejects bigint). */
export function jsonify<T extends object>(block: T): Jsonified<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(block)) out[k] = typeof v === 'bigint' ? Number(v) : v;
  return out as Jsonified<T>;
}

/** The reply text of a structured request: one document, newline-terminated. */
export function jsonReply(doc: StatsDocument | DumpDocument<Conntrack> | DumpDocument<Expectation>): string {
  return `${JSON.stringify(doc)}\n`;
}
