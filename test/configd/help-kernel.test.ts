import { describe, expect, it } from 'vitest';
import { helpText } from '../../src/configd/help.js';
import { interfacesFromIpJson } from '../../src/configd/kernel-interfaces.js';

describe('help', () => {
  it('top level lists the config roots', () => {
    expect(helpText([])).toBe('Possible completions:\n  high-availability         High availability settings\n  service                   System services');
  });
  it('a tagNode shows its value help; a valueless leaf shows <Enter>', () => {
    expect(helpText(['service', 'conntrack-sync', 'interface'])).toBe(
      'service conntrack-sync interface: Interface to use for syncing conntrack entries\nPossible completions:\n  <text>                    Interface name',
    );
    expect(helpText(['service', 'conntrack-sync', 'startup-resync'])).toContain('  <Enter>                   Execute the current command');
  });
  it('a multi leaf lists its values', () => {
    expect(helpText(['service', 'conntrack-sync', 'accept-protocol']).split('\n').slice(2)).toEqual([
      '  tcp                       Sync Transmission Control Protocol entries',
      '  udp                       Sync User Datagram Protocol entries',
      '  icmp                      Sync Internet Control Message Protocol entries',
      '  icmp6                     Sync IPv6 Internet Control Message Protocol entries',
      '  sctp                      Sync Stream Control Transmission Protocol entries',
      '  dccp                      Sync Datagram Congestion Control Protocol entries',
    ]);
    expect(helpText(['service', 'conntrack-sync', 'ignore-address'])).toContain('  <x.x.x.x/x>               IP prefix to ignore');
  });
  it('an unknown path is an error', () => {
    expect(() => helpText(['service', 'nope'])).toThrow('Configuration path: [service nope] is not valid');
  });
});

describe('kernel interfaces from `ip -j addr show`', () => {
  // Trimmed capture of iproute2's JSON (fields this module reads, plus noise it ignores).
  const json = JSON.stringify([
    { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK'], addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }] },
    {
      ifindex: 7,
      ifname: 'eth0',
      addr_info: [
        { family: 'inet', local: '192.0.2.1', prefixlen: 24 },
        { family: 'inet', local: '192.0.2.7', prefixlen: 32 },
        { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
      ],
    },
    { ifindex: 8, ifname: 'eth1' },
  ]);
  const k = interfacesFromIpJson(json);
  it('reads names, addresses per family in kernel order, and assignment', () => {
    expect(k.exists('eth0')).toBe(true);
    expect(k.exists('eth9')).toBe(false);
    expect(k.ipv4('eth0')).toEqual(['192.0.2.1/24', '192.0.2.7/32']);
    expect(k.ipv6('eth0')).toEqual(['fe80::1/64']);
    expect(k.ipv4('eth1')).toEqual([]);
    expect(k.isAssigned('192.0.2.7')).toBe(true);
    expect(k.isAssigned('192.0.2.8')).toBe(false);
  });
});
