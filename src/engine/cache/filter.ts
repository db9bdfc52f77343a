/**
 * The user-space filter (`Filter From Userspace`, conntrackd `ct_filter_check`, shared/spec/
 * conntrackd.md §6.4) as a pure function of FilterConfig, and the ExpectationSync helper
 * filter (§3.6).
 */
import type { Conntrack, Expectation, L3 } from '../model/conntrack.js';
import { IPPROTO } from '../model/conntrack.js';
import type { AddressMatch, FilterConfig } from '../config/types.js';
import { writeIpv4, writeIpv6 } from '../model/address.js';

export type ConntrackFilter = (ct: Conntrack) => boolean;

interface Net {
  l3: L3;
  bytes: Buffer;
  prefix: number;
}

const scratch = Buffer.alloc(16);

function toBytes(l3: L3, text: string, into: Buffer): boolean {
  return l3 === 'ipv4' ? writeIpv4(into, 0, text) : writeIpv6(into, 0, text);
}

function inNet(n: Net, addr: Buffer): boolean {
  let bits = n.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== (n.bytes[i]! & mask)) return false;
  }
  return true;
}

function compileNets(list: AddressMatch[]): Net[] {
  return list.map((a) => {
    const bytes = Buffer.alloc(16);
    toBytes(a.l3, a.address, bytes);
    return { l3: a.l3, bytes, prefix: a.prefix };
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
  const matches = (l3: L3, text: string, nets: Net[]): boolean => {
    if (!toBytes(l3, text, scratch)) return false;
    for (const n of nets) if (n.l3 === l3 && inNet(n, scratch)) return true;
    return false;
  };
  return (ct) => {
    if (protos && protos.set.has(ct.orig.proto) !== protos.accept) return false;
    if (addrs) {
      const l3 = ct.orig.l3;
      // without a reply tuple (wire objects) the reply source is the orig destination
      const replySrc = ct.reply?.src ?? ct.orig.dst;
      const hit = matches(l3, ct.orig.src, addrs.nets) || matches(l3, replySrc, addrs.nets);
      if (hit !== addrs.accept) return false;
    }
    const state = ct.tcp?.state;
    if (states && ct.orig.proto === IPPROTO.TCP && state !== undefined && states.set.has(state) !== states.accept) {
      return false;
    }
    return true;
  };
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
