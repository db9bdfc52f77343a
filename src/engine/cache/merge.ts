/**
 * Merging an event into a cached entry like libnfct `nfct_copy(dst, src, NFCT_CP_META)`
 * (shared/spec/conntrackd.md §1.7): every attribute the event carries overwrites the cached
 * one, so messages always carry the full last-known state. Counters are never cached. On
 * record slots, attribute by presence bit: this runs for every kernel event and every peer
 * message.
 */
import { CT, EXP, copyBytes, records, w32, type RecordCodec } from '../kernel/record.js';

/** A slot field: its presence bit, offset and size in bytes. */
type Field = readonly [bit: number, at: number, size: number];

let ctFields: readonly Field[] | undefined;
let expFields: readonly Field[] | undefined;

/** Every conntrack field but the orig tuple (the cache key) and the counters. */
function conntrackFields(R: RecordCodec): readonly Field[] {
  const C = R.L.ct;
  const TUPLE = R.tupleSize;
  const NAT = R.L.nat.has_port + 2;
  return (ctFields ??= [
    [CT.REPLY, C.reply, TUPLE], [CT.MASTER, C.master, TUPLE], [CT.STATUS, C.status, 4], [CT.TIMEOUT, C.timeout, 4],
    [CT.MARK, C.mark, 4], [CT.ZONE, C.zone, 2], [CT.TCP_STATE, C.tcp_state, 1], [CT.TCP_WSCALE, C.tcp_wscale_orig, 2],
    [CT.TCP_FLAGS, C.tcp_flags_orig, 2], [CT.SCTP_STATE, C.sctp_state, 1], [CT.SCTP_VTAG, C.sctp_vtag_orig, 8],
    [CT.DCCP_STATE, C.dccp_state, 1], [CT.DCCP_ROLE, C.dccp_role, 1], [CT.SNAT, C.snat, NAT], [CT.DNAT, C.dnat, NAT],
    [CT.SEQADJ_ORIG, C.seqadj_orig, 12], [CT.SEQADJ_REPL, C.seqadj_repl, 12], [CT.HELPER, C.helper, 16],
    [CT.LABELS, C.labels, 16], [CT.SYNPROXY, C.synproxy, 12], [CT.ID, C.id, 4], [CT.USE, C.use, 4], [CT.SECMARK, C.secmark, 4],
  ]);
}

/** Every expectation field but the master and expected tuples (the cache key). */
function expectationFields(R: RecordCodec): readonly Field[] {
  const E = R.L.exp;
  const TUPLE = R.tupleSize;
  return (expFields ??= [
    [EXP.MASK, E.mask, TUPLE], [EXP.TIMEOUT, E.timeout, 4], [EXP.FLAGS, E.flags, 4], [EXP.CLASS, E.klass, 4],
    [EXP.NAT, E.nat_tuple, TUPLE], [EXP.NAT, E.nat_dir, 4], [EXP.HELPER, E.helper, 16], [EXP.FN, E.fn, 32],
    [EXP.ZONE, E.zone, 2], [EXP.ID, E.id, 4],
  ]);
}

function merge(fields: readonly Field[], R: RecordCodec, into: Buffer, io: number, from: Buffer, fo: number): void {
  const p = R.present(from, fo);
  let q = R.present(into, io);
  for (const [bit, at, size] of fields) {
    if ((p & bit) === 0) continue;
    copyBytes(from, fo + at, into, io + at, size);
    q |= bit;
  }
  w32(into, io + R.L.head.present, q);
}

/** Copies every attribute the conntrack slot `from[fo]` carries into `into[io]`, except the orig tuple and counters. */
export function mergeConntrack(into: Buffer, io: number, from: Buffer, fo: number): void {
  const R = records();
  merge(conntrackFields(R), R, into, io, from, fo);
}

/** The same for expectations (the external cache merges UPD messages). */
export function mergeExpectation(into: Buffer, io: number, from: Buffer, fo: number): void {
  const R = records();
  merge(expectationFields(R), R, into, io, from, fo);
}

/** Makes a cached conntrack slot what conntrackd caches: no counters (and no `use` from dumps). */
export function dropCounters(rec: Buffer, o: number, dropUse = false): void {
  const R = records();
  w32(rec, o + R.L.head.present, R.present(rec, o) & ~(CT.COUNTERS | (dropUse ? CT.USE : 0)));
}
