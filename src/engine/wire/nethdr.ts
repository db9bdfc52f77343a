/**
 * The message header of conntrackd's sync protocol (`struct nethdr`, `struct nethdr_ack`),
 * shared/spec/conntrackd.md §1.2–1.4. Every message starts with these 8 bytes; CTL messages
 * that carry ACK, NACK or RESYNC have a 16-byte header with an inclusive seq range.
 */

export const PROTOCOL_VERSION = 1;
export const NETHDR_SIZ = 8;
export const NETHDR_ACK_SIZ = 16;

/** `enum nethdr_type`: byte0 is `(version << 4) | type`. */
export const NET_T = {
  CT_NEW: 0,
  CT_UPD: 1,
  CT_DEL: 2,
  EXP_NEW: 3,
  EXP_UPD: 4,
  EXP_DEL: 5,
  CTL: 10,
} as const;

/** Highest data message type (`NET_T_STATE_MAX`). */
export const NET_T_STATE_MAX = 5;

export const NET_F = {
  UNUSED: 0x01,
  RESYNC: 0x02,
  NACK: 0x04,
  ACK: 0x08,
  ALIVE: 0x10,
  HELLO: 0x20,
  HELLO_BACK: 0x40,
} as const;

const HELLO_BITS = NET_F.HELLO | NET_F.HELLO_BACK;
const RANGE_BITS = NET_F.ACK | NET_F.NACK | NET_F.RESYNC;

/** A decoded header; `from`/`to` are meaningful only when `hasRange(type, flags)`. */
export interface NetHeader {
  version: number;
  type: number;
  flags: number;
  len: number;
  seq: number;
  from: number;
  to: number;
}

/** True when the message uses the 16-byte header (CTL with ACK, NACK or RESYNC; §1.3). */
export function hasRange(type: number, flags: number): boolean {
  return type === NET_T.CTL && (flags & RANGE_BITS) !== 0;
}

/** `IS_DATA`: a state message, possibly carrying the HELLO bits (§1.4). */
export function isData(type: number, flags: number): boolean {
  return type <= NET_T_STATE_MAX && (flags & ~HELLO_BITS) === 0;
}

export function isCtl(type: number, flags: number, flag: number): boolean {
  return type === NET_T.CTL && (flags & flag) !== 0;
}

/** Writes an 8-byte header at `off`. */
export function writeHeader(buf: Buffer, off: number, type: number, flags: number, len: number, seq: number): void {
  buf[off] = (PROTOCOL_VERSION << 4) | type;
  buf[off + 1] = flags;
  buf.writeUInt16BE(len, off + 2);
  buf.writeUInt32BE(seq >>> 0, off + 4);
}

/** Reads a header in place into `into` (reused by the receive pipeline to avoid allocation). */
export function readHeader(buf: Buffer, off: number, into: NetHeader): void {
  const b0 = buf[off]!;
  into.version = b0 >> 4;
  into.type = b0 & 0x0f;
  into.flags = buf[off + 1]!;
  into.len = buf.readUInt16BE(off + 2);
  into.seq = buf.readUInt32BE(off + 4);
  into.from = 0;
  into.to = 0;
}

export function newHeader(): NetHeader {
  return { version: 0, type: 0, flags: 0, len: 0, seq: 0, from: 0, to: 0 };
}

/** Sequence comparison with TCP-style wraparound (`before(a, b)`, §1.9). */
export function before(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

export function after(a: number, b: number): boolean {
  return ((b - a) | 0) < 0;
}
