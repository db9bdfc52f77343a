import { describe, expect, test } from 'vitest';
import { canonicalAddress, readAddress, writeAddress } from '../../../src/engine/model/address.js';

describe('address text <-> netlink bytes', () => {
  test('IPv4 round trip, network order', () => {
    const b = new Uint8Array(4);
    writeAddress('ipv4', '192.0.2.254', b, 0);
    expect([...b]).toEqual([192, 0, 2, 254]);
    expect(readAddress('ipv4', b, 0)).toBe('192.0.2.254');
  });

  test.each([
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['2001:db8:0:1:0:0:0:7', '2001:db8:0:1::7'],
    // RFC 5952: the longest run is compressed, the first one on a tie, never a single group.
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:1:1:1:1:0:1', '2001:db8:1:1:1:1:0:1'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
  ])('IPv6 %s is canonically %s', (text, canonical) => {
    expect(canonicalAddress('ipv6', text)).toBe(canonical);
  });

  test('IPv6 bytes are in network order', () => {
    const b = new Uint8Array(16);
    writeAddress('ipv6', '2001:db8::ff01', b, 0);
    expect([...b.slice(0, 4)]).toEqual([0x20, 0x01, 0x0d, 0xb8]);
    expect([...b.slice(14)]).toEqual([0xff, 0x01]);
  });
});
