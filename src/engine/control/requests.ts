/**
 * Control-socket request codes: conntrackd's (include/conntrackd.h, shared/spec/conntrackd.md
 * §5.2), sent by every `conntrackd`/`ctsyncd` client as one native-endian int, plus ctsync's
 * structured requests for op-mode `--json` (codes ≥ 1000, outside conntrackd's range, so a
 * real conntrackd answers them with nothing). JSON shapes: ./json.ts.
 */
export const REQUEST = {
  CT_FLUSH_MASTER: 0,
  CT_RESYNC_MASTER: 1,
  CT_DUMP_INTERNAL: 16,
  CT_DUMP_EXTERNAL: 17,
  CT_COMMIT: 18,
  CT_FLUSH_CACHE: 19,
  KILL: 20,
  STATS: 21,
  SEND_BULK: 22,
  REQUEST_DUMP: 23,
  CT_DUMP_INT_XML: 24,
  CT_DUMP_EXT_XML: 25,
  RESET_TIMERS: 26,
  DEBUG_INFO: 27,
  STATS_NETWORK: 28,
  STATS_CACHE: 29,
  STATS_RUNTIME: 30,
  STATS_LINK: 31,
  STATS_RSQUEUE: 32,
  CT_FLUSH_INT_CACHE: 33,
  CT_FLUSH_EXT_CACHE: 34,
  STATS_PROCESS: 35,
  STATS_QUEUE: 36,
  EXP_STATS: 37,
  EXP_FLUSH_MASTER: 38,
  EXP_RESYNC_MASTER: 39,
  EXP_DUMP_INTERNAL: 40,
  EXP_DUMP_EXTERNAL: 41,
  EXP_COMMIT: 42,
  ALL_FLUSH_MASTER: 43,
  ALL_RESYNC_MASTER: 44,
  ALL_FLUSH_CACHE: 45,
  ALL_COMMIT: 46,
  EXP_DUMP_INT_XML: 47,
  EXP_DUMP_EXT_XML: 48,
  // ctsync structured requests: one JSON document each (./json.ts).
  JSON_STATS: 1000,
  JSON_CT_DUMP_INTERNAL: 1001,
  JSON_CT_DUMP_EXTERNAL: 1002,
  JSON_EXP_DUMP_INTERNAL: 1003,
  JSON_EXP_DUMP_EXTERNAL: 1004,
} as const;

export type RequestName = keyof typeof REQUEST;
export type RequestCode = (typeof REQUEST)[RequestName];

const NAMES = new Map<number, RequestName>(Object.entries(REQUEST).map(([k, v]) => [v, k as RequestName]));

/** The name of a code, or undefined for a code neither conntrackd nor ctsync defines. */
export function requestName(code: number): RequestName | undefined {
  return NAMES.get(code);
}

/** Size of a request on the wire: one C int. */
export const REQUEST_SIZE = 4;

/** Encode a request as conntrackd does: the int in host byte order. */
export function encodeRequest(code: number): Buffer {
  const b = Buffer.alloc(REQUEST_SIZE);
  if (isLittleEndian) b.writeInt32LE(code);
  else b.writeInt32BE(code);
  return b;
}

export function decodeRequest(b: Buffer): number {
  return isLittleEndian ? b.readInt32LE(0) : b.readInt32BE(0);
}

const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
