/**
 * The user-space filter (`Filter From Userspace`, conntrackd `ct_filter_check`, shared/spec/
 * conntrackd.md §6.4) as a pure function of FilterConfig over conntrack record slots, and the
 * ExpectationSync helper filter (§3.6).
 */
import type { Conntrack, Expectation } from '../model/conntrack.js';
import { IPPROTO } from '../model/conntrack.js';
import type { AddressMatch, FilterConfig } from '../config/types.js';
import { writeIpv4, writeIpv6 } from '../model/address.js';
import { AF_INET, AF_INET6, CT, records } from '../kernel/record.js';

/** Whether the conntrack slot at `rec[o]` passes. */
export type ConntrackFilter = (rec: Buffer, o: number) => boolean;

interface Net {
  family: number;
  bytes: Buffer;
  prefix: number;
}

/** Whether the address at `rec[at]` is in the network. */
function inNet(n: Net, rec: Buffer, at: number): boolean {
  let bits = n.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((rec[at + i]! & mask) !== (n.bytes[i]! & mask)) return false;
  }
  return true;
}

function compileNets(list: AddressMatch[]): Net[] {
  return list.map((a) => {
    const bytes = Buffer.alloc(16);
    if (a.l3 === 'ipv4') writeIpv4(bytes, 0, a.address);
    else writeIpv6(bytes, 0, a.address);
    return { family: a.l3 === 'ipv4' ? AF_INET : AF_INET6, bytes, prefix: a.prefix };
  });
}

/**
 * Builds the filter. An entry is kept only if it passes every configured set: protocol,
 * address (orig source or reply source — the two real endpoints — in a listed host/network)
 * and, for TCP entries with a known state, state. Ignore inverts a set's test.
 */
export function compileFilter(cfg: FilterConfig | undefined): ConntrackFilter {
  if (cfg === undefined) return () => true;
  const protos = cfg.protocol && { accept: cfg.protocol.policy === 'accept', set: new Set(cfg.protocol.protos) };
  const addrs = cfg.address && { accept: cfg.address.policy === 'accept', nets: compileNets(cfg.address.addresses) };
  const states = cfg.state && { accept: cfg.state.policy === 'accept', set: new Set(cfg.state.states) };
  const R = records();
  const C = R.L.ct;
  const T = R.L.tuple;
  const matches = (family: number, rec: Buffer, at: number, nets: Net[]): boolean => {
    for (const n of nets) if (n.family === family && inNet(n, rec, at)) return true;
    return false;
  };
  return (rec, o) => {
    const orig = o + C.orig;
    const proto = rec[orig + T.proto]!;
    if (protos && protos.set.has(proto) !== protos.accept) return false;
    if (addrs) {
      const family = rec[orig + T.family]!;
      // without a reply tuple (wire entries) the reply source is the orig destination
      const replySrc = R.present(rec, o) & CT.REPLY ? o + C.reply + T.src : orig + T.dst;
      const hit = matches(family, rec, orig + T.src, addrs.nets) || matches(family, rec, replySrc, addrs.nets);
      if (hit !== addrs.accept) return false;
    }
    if (states && proto === IPPROTO.TCP && R.present(rec, o) & CT.TCP_STATE && states.set.has(rec[o + C.tcp_state]!) !== states.accept) {
      return false;
    }
    return true;
  };
}

let scratch: Buffer | undefined;

/** The filter applied to a model object (a kernel dump's entry): packed into a slot first. */
export function acceptsObject(filter: ConntrackFilter, ct: Conntrack): boolean {
  const R = records();
  const slot = (scratch ??= R.alloc(1));
  slot.fill(0);
  R.packCt(ct, slot, 0);
  return filter(slot, 0);
}

/**
 * `ExpectationSync`: 'all' syncs every expectation; a list keeps those whose helper name
 * starts (case-insensitively) with a listed name; without helper name they are dropped.
 */
export function expectationAccepted(exp: Expectation, setting: 'all' | string[] | undefined): boolean {
  if (setting === undefined) return false;
  if (setting === 'all') return true;
  const helper = exp.helper?.toLowerCase();
  if (helper === undefined) return false;
  return setting.some((p) => helper.startsWith(p.toLowerCase()));
}
