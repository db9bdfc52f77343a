import { describe, expect, it } from 'vitest';
import { isCtsyncError } from '../../src/common/errors.js';
import { getConfig } from '../../src/configd/get-config.js';
import { verify } from '../../src/configd/verify.js';
import { CS, HA, fakeKernel, treeOf } from './helpers.js';

const kernel = fakeKernel({
  eth0: ['192.0.2.1/24'],
  eth1: ['198.51.100.1/24'],
  v6only: ['2001:db8:9166::1/64'],
  bare: [],
});

const SG = `${CS} failover-mechanism vrrp sync-group sg\n${HA} sync-group sg`;

function verifyMessage(lines: string): string | undefined {
  try {
    verify(getConfig(treeOf(lines)), kernel);
    return undefined;
  } catch (e) {
    if (!isCtsyncError(e, 'CONFIG_VERIFY_FAILED')) throw e;
    return e.message;
  }
}

// One row per rule of shared/spec/vyos.md §2.2/§2.5 (2026 wording), each config breaking
// exactly that rule and every later one, so the order is pinned by which message wins.
const cases: [string, string, string][] = [
  ['no interface', `${CS} disable-syslog`, 'Interface not defined!'],
  ['unknown interface', `${CS} interface eth9\n${CS} interface bare peer 192.0.2.9\n${CS} expect-sync all\n${CS} expect-sync ftp`, 'Interface "eth9" does not exist!'],
  ['mixed unicast and multicast', `${CS} interface eth0\n${CS} interface bare peer 192.0.2.9\n${CS} expect-sync all\n${CS} expect-sync ftp`, 'Cannot mix unicast and multicast mode!'],
  ['no IPv4 address for an IPv4 peer', `${CS} interface bare peer 192.0.2.9\n${CS} expect-sync all\n${CS} expect-sync ftp`, 'Interface bare requires an IPv4 address!'],
  ['no IPv4 address for the default group', `${CS} interface v6only`, 'Interface v6only requires an IPv4 address!'],
  ['no IPv6 address for an IPv6 peer', `${CS} interface eth0 peer 2001:db8::2\n${CS} expect-sync all\n${CS} expect-sync ftp`, 'Interface eth0 requires an IPv6 address!'],
  ['no IPv6 address for an IPv6 group', `${CS} interface eth0\n${CS} mcast-group ff12::9166`, 'Interface eth0 requires an IPv6 address!'],
  ['expect-sync all with others', `${CS} interface eth0\n${CS} expect-sync ftp\n${CS} expect-sync all\n${CS} listen-address 203.0.113.1`, 'Cannot configure expect-sync "all" with other protocols!'],
  ['listen-address not local', `${CS} interface eth0 peer 192.0.2.2\n${CS} listen-address 203.0.113.1`, 'Specified listen-address 203.0.113.1 not assigned to any interface!'],
  ['listen-address family differs from peer', `${CS} interface eth0 peer 192.0.2.2\n${CS} listen-address 2001:db8:9166::1`, 'Listen-address 2001:db8:9166::1 does not match address-family of peer 192.0.2.2!'],
  ['no sync-group', `${CS} interface eth0`, 'No VRRP sync-group defined!'],
  ['sync-group missing from HA', `${CS} interface eth0\n${CS} failover-mechanism vrrp sync-group sg`, 'VRRP sync-group sg not configured!'],
  ['HA sync-group member missing', `${CS} interface eth0\n${SG} member LAN`, 'VRRP sync-group "sg" refers to VRRP group "LAN", but it does not exist!'],
  ['HA group without interface', `${HA} group G vrid 1\n${HA} group G address 192.0.2.9/24`, 'Interface is required but not set in VRRP group "G"'],
  ['HA group without vrid', `${HA} group G interface eth0\n${HA} group G address 192.0.2.9/24`, 'VRID is required but not set in VRRP group "G"'],
  ['HA group without address', `${HA} group G interface eth0\n${HA} group G vrid 1`, 'Virtual IP address is required but not set in VRRP group "G"'],
];

describe('verify: every message, in VyOS order', () => {
  it.each(cases)('%s', (_name, lines, message) => {
    expect(verifyMessage(lines)).toBe(message);
  });

  it('accepts valid configs: multicast v4, unicast v4 and v6, v6 multicast, listen-address v4', () => {
    expect(verifyMessage(`${SG}\n${CS} interface eth0`)).toBeUndefined();
    expect(verifyMessage(`${SG}\n${CS} interface eth0 peer 192.0.2.2\n${CS} interface eth1 peer 198.51.100.2\n${CS} listen-address 192.0.2.1`)).toBeUndefined();
    expect(verifyMessage(`${SG}\n${CS} interface v6only peer 2001:db8:9166::2\n${CS} listen-address 2001:db8:9166::1`)).toBeUndefined();
    expect(verifyMessage(`${SG}\n${CS} interface v6only\n${CS} mcast-group ff12::9166`)).toBeUndefined();
    expect(verifyMessage(`${SG}\n${CS} interface eth0\n${CS} expect-sync all`)).toBeUndefined();
  });

  it('HA alone (no conntrack-sync) verifies the HA rules only', () => {
    expect(verifyMessage(`${HA} group G interface eth0\n${HA} group G vrid 1\n${HA} group G address 192.0.2.9/24\n${HA} sync-group s member G`)).toBeUndefined();
  });
});
