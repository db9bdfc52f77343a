/**
 * Canonical address text ↔ raw network-order bytes, for the wire codec, the kernel records and
 * the filters alike. The model keeps addresses as canonical strings (IPv4 dotted quad, IPv6
 * RFC 5952); netlink and the wire carry them raw (spec §1.6, §1.12). Hand-written parsers:
 * they run for every event and every encoded message.
 */
import type { L3 } from './conntrack.js';

/** Writes a dotted quad at `off` (4 bytes). Returns false when the text is not an IPv4 address. */
export function writeIpv4(buf: Uint8Array, off: number, text: string): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i === text.length ? 46 : text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || value > 255 || part > 3) return false;
      buf[off + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      value = value * 10 + (c - 48);
      digits++;
    } else {
      return false;
    }
  }
  return part === 4;
}

/**
 * IPv4 text by address value, in a small direct-mapped table: events and messages repeat the
 * same addresses (servers, NAT addresses), and a repeated address then costs a lookup and
 * shares one string. A new address replaces whatever was in its slot: with 100k distinct
 * clients a growing Map spent ~1 µs per address on inserts, rehashing and clearing.
 */
const IPV4_SLOTS = 4096;
const ipv4Keys = new Int32Array(IPV4_SLOTS);
const ipv4Text: (string | undefined)[] = new Array<string | undefined>(IPV4_SLOTS).fill(undefined);

export function readIpv4(buf: Uint8Array, off: number): string {
  const key = (buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
  const slot = (key ^ (key >>> 12) ^ (key >>> 24)) & (IPV4_SLOTS - 1);
  let text = ipv4Text[slot];
  if (text === undefined || ipv4Keys[slot] !== key) {
    text = `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
    ipv4Keys[slot] = key;
    ipv4Text[slot] = text;
  }
  return text;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const groups = new Uint16Array(8);

/** Writes an IPv6 address (16 bytes, incl. `::` and a trailing dotted quad). False if invalid. */
export function writeIpv6(buf: Uint8Array, off: number, text: string): boolean {
  let n = 0;
  let gap = -1;
  let i = 0;
  const len = text.length;
  if (len >= 2 && text.charCodeAt(0) === 58 && text.charCodeAt(1) === 58) {
    gap = 0;
    i = 2;
  }
  while (i < len) {
    if (n === 8) return false;
    const start = i;
    let v = 0;
    while (i < len && i - start < 4) {
      const h = hexValue(text.charCodeAt(i));
      if (h < 0) break;
      v = (v << 4) | h;
      i++;
    }
    if (i < len && text.charCodeAt(i) === 46) {
      // embedded IPv4 in the last 32 bits
      if (n > 6 || !writeIpv4(buf, off, text.slice(start))) return false;
      groups[n++] = (buf[off]! << 8) | buf[off + 1]!;
      groups[n++] = (buf[off + 2]! << 8) | buf[off + 3]!;
      i = len;
      break;
    }
    if (i === start) return false;
    groups[n++] = v;
    if (i === len) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < len && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    } else if (i === len) {
      return false;
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) return false;
  const zeros = 8 - n;
  let g = 0;
  for (let k = 0; k < 8; k++) {
    let v = 0;
    if (gap >= 0 && k >= gap && k < gap + zeros) v = 0;
    else v = groups[g++]!;
    buf[off + 2 * k] = v >> 8;
    buf[off + 2 * k + 1] = v & 0xff;
  }
  return true;
}

/** RFC 5952 text of 16 raw bytes: lower case, longest run (≥ 2) of zero groups as `::`. */
export function readIpv6(buf: Uint8Array, off: number): string {
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let k = 0; k <= 8; k++) {
    const zero = k < 8 && buf[off + 2 * k] === 0 && buf[off + 2 * k + 1] === 0;
    if (zero) {
      if (runStart < 0) runStart = k;
    } else if (runStart >= 0) {
      if (k - runStart > bestLen) {
        bestStart = runStart;
        bestLen = k - runStart;
      }
      runStart = -1;
    }
  }
  // IPv4-mapped addresses print their last 32 bits as a dotted quad (RFC 5952 §5).
  if (bestStart === 0 && bestLen === 5 && buf[off + 10] === 0xff && buf[off + 11] === 0xff) {
    return `::ffff:${readIpv4(buf, off + 12)}`;
  }
  let out = '';
  for (let k = 0; k < 8; k++) {
    if (k === bestStart) {
      out += '::';
      k += bestLen - 1;
      continue;
    }
    if (out.length > 0 && !out.endsWith(':')) out += ':';
    out += ((buf[off + 2 * k]! << 8) | buf[off + 2 * k + 1]!).toString(16);
  }
  return out;
}

/** Writes `addr` (4 bytes for IPv4, 16 for IPv6). False when the text is not of that family. */
export function writeAddress(l3: L3, addr: string, buf: Uint8Array, off: number): boolean {
  return l3 === 'ipv4' ? writeIpv4(buf, off, addr) : writeIpv6(buf, off, addr);
}

export function readAddress(l3: L3, buf: Uint8Array, off: number): string {
  return l3 === 'ipv4' ? readIpv4(buf, off) : readIpv6(buf, off);
}

/** Canonical text of any accepted spelling (upper case, uncompressed IPv6, ...). */
export function canonicalAddress(l3: L3, addr: string): string {
  const b = new Uint8Array(16);
  writeAddress(l3, addr, b, 0);
  return readAddress(l3, b, 0);
}
