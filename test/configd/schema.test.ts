import { describe, expect, it } from 'vitest';
import { isCtsyncError } from '../../src/common/errors.js';
import { getConfig } from '../../src/configd/get-config.js';
import { checkTree, type ConfigTree } from '../../src/configd/schema.js';
import { deletePath, setPath } from '../../src/configd/tree.js';
import { CS, HA, treeOf } from './helpers.js';

const words = (line: string): string[] => line.split(' ');

function setError(line: string, base: ConfigTree = {}): string | undefined {
  try {
    setPath(base, words(line));
    return undefined;
  } catch (e) {
    if (!isCtsyncError(e)) throw e;
    return e.message;
  }
}

const IF = `${CS} interface eth0`;
const G = `${HA} group G`;

// Every schema leaf with a bad value, plus bad paths: ≥ 50 rows, each with VyOS's text.
const invalid: [string, string][] = [
  [`${CS} accept-protocol tcpp`, 'Allowed protocols: tcp udp icmp or sctp'],
  [`${CS} accept-protocol TCP`, 'Allowed protocols: tcp udp icmp or sctp'],
  [`${CS} accept-protocol gre`, 'Allowed protocols: tcp udp icmp or sctp'],
  [`${CS} accept-protocol all`, 'Allowed protocols: tcp udp icmp or sctp'],
  [`${CS} expect-sync tftp`, 'Invalid protocol'],
  [`${CS} expect-sync ALL`, 'Invalid protocol'],
  [`${CS} expect-sync irc`, 'Invalid protocol'],
  [`${CS} event-listen-queue-size -1`, 'Queue size must be in range 0 to 4294967295'],
  [`${CS} event-listen-queue-size 4294967296`, 'Queue size must be in range 0 to 4294967295'],
  [`${CS} event-listen-queue-size abc`, 'Queue size must be in range 0 to 4294967295'],
  [`${CS} event-listen-queue-size 1.5`, 'Queue size must be in range 0 to 4294967295'],
  [`${CS} sync-queue-size 99999999999`, 'Queue size must be in range 0 to 4294967295'],
  [`${CS} sync-queue-size 8MB`, 'Queue size must be in range 0 to 4294967295'],
  [`${CS} purge-timeout 0`, 'Purge timeout must be in range 1 to 2147483647'],
  [`${CS} purge-timeout 2147483648`, 'Purge timeout must be in range 1 to 2147483647'],
  [`${CS} purge-timeout soon`, 'Purge timeout must be in range 1 to 2147483647'],
  [`${CS} mcast-group 10.0.0.1`, 'Error: 10.0.0.1 is not a valid IPv4 multicast address'],
  [`${CS} mcast-group 240.0.0.1`, 'Error: 240.0.0.1 is not a valid IPv4 multicast address'],
  [`${CS} mcast-group 225.0.0.50/32`, 'Error: 225.0.0.50/32 is not a valid IPv4 multicast address'],
  [`${CS} mcast-group 2001:db8::1`, 'Error: 2001:db8::1 is not a valid IPv6 multicast address'],
  [`${CS} mcast-group group`, 'Error: group is not a valid IPv4 multicast address'],
  [`${IF} peer 192.0.2.300`, 'Error: 192.0.2.300 is not a valid IPv4 address'],
  [`${IF} peer 192.0.2.2/24`, 'Error: 192.0.2.2/24 is not a valid IPv4 address'],
  [`${IF} peer 2001:db8::zz`, 'Error: 2001:db8::zz is not a valid IPv6 address'],
  [`${IF} peer peer-host`, 'Error: peer-host is not a valid IPv4 address'],
  [`${IF} port 0`, 'Port number must be in range 1 to 65535'],
  [`${IF} port 65536`, 'Port number must be in range 1 to 65535'],
  [`${IF} port http`, 'Port number must be in range 1 to 65535'],
  [`${IF} port -3780`, 'Port number must be in range 1 to 65535'],
  [`${CS} listen-address 192.0.2.1/24`, 'Error: 192.0.2.1/24 is not a valid IPv4 address'],
  [`${CS} listen-address 1.2.3`, 'Error: 1.2.3 is not a valid IPv4 address'],
  [`${CS} listen-address fe80::1::2`, 'Error: fe80::1::2 is not a valid IPv6 address'],
  [`${CS} ignore-address 192.0.2.0/33`, 'Error: 192.0.2.0/33 is not IPv4'],
  [`${CS} ignore-address 300.0.0.1`, 'Error: 300.0.0.1 is not IPv4'],
  [`${CS} ignore-address 2001:db8::/129`, 'Error: 2001:db8::/129 is not IPv6'],
  [`${CS} ignore-address any`, 'Error: any is not IPv4'],
  [`${CS} interface eth0/1`, 'Error: "eth0/1" is not a valid interface name'],
  [`${CS} interface averyveryverylongname0`, 'Error: "averyveryverylongname0" is not a valid interface name'],
  [`${CS} failover-mechanism vrrp sync-group bad/name`, 'Error: "bad/name" is not a valid VRRP group name'],
  [`${G} vrid 0`, 'VRID must be between 1 and 255'],
  [`${G} vrid 256`, 'VRID must be between 1 and 255'],
  [`${G} priority 0`, 'Priority must be between 1 and 255'],
  [`${G} priority high`, 'Priority must be between 1 and 255'],
  [`${G} address 192.0.2.1`, 'Error: 192.0.2.1 is not a valid IPv4 prefix'],
  [`${G} address 2001:db8::1/200`, 'Error: 2001:db8::1/200 is not a valid IPv6 prefix'],
  [`${G} peer-address 192.0.2`, 'Error: 192.0.2 is not a valid IPv4 address'],
  [`${G} hello-source-address ::g`, 'Error: ::g is not a valid IPv6 address'],
  [`${G} interface eth:0`, 'Error: "eth:0" is not a valid interface name'],
  [`${HA} group bad/group vrid 1`, 'Error: "bad/group" is not a valid VRRP group name'],
  [`${HA} sync-group sg member bad/member`, 'Error: "bad/member" is not a valid VRRP group name'],
  // Paths
  [`${CS} foo`, 'Configuration path: [service conntrack-sync foo] is not valid'],
  ['service foo', 'Configuration path: [service foo] is not valid'],
  ['system conntrack', 'Configuration path: [system] is not valid'],
  [`${CS} disable-syslog yes`, 'Configuration path: [service conntrack-sync disable-syslog yes] is not valid'],
  [`${CS} mcast-group 225.0.0.50 extra`, 'Configuration path: [service conntrack-sync mcast-group 225.0.0.50 extra] is not valid'],
  [`${CS} port`, 'Configuration path: [service conntrack-sync port] is not valid'],
  [`${CS} interface`, 'Configuration path: [service conntrack-sync interface] requires a value'],
  [`${CS} mcast-group`, 'Configuration path: [service conntrack-sync mcast-group] requires a value'],
  [`${IF} peer`, 'Configuration path: [service conntrack-sync interface eth0 peer] requires a value'],
  [`${IF} mtu 1500`, 'Configuration path: [service conntrack-sync interface eth0 mtu] is not valid'],
  [`${CS} failover-mechanism cluster group x`, 'Configuration path: [service conntrack-sync failover-mechanism cluster] is not valid'],
  [`${HA} group`, 'Configuration path: [high-availability vrrp group] requires a value'],
];

describe('schema: invalid values and paths give VyOS messages', () => {
  it('has at least 50 rows', () => expect(invalid.length).toBeGreaterThanOrEqual(50));
  it.each(invalid)('set %s', (line, message) => {
    expect(setError(line)).toBe(message);
  });
});

describe('schema: every node accepts its valid values', () => {
  const valid = [
    ...['tcp', 'udp', 'icmp', 'icmp6', 'sctp', 'dccp'].map((p) => `${CS} accept-protocol ${p}`),
    ...['all', 'ftp', 'sip', 'h323', 'nfs', 'sqlnet'].map((p) => `${CS} expect-sync ${p}`),
    `${CS} disable-external-cache`,
    `${CS} disable-syslog`,
    `${CS} startup-resync`,
    `${CS} event-listen-queue-size 0`,
    `${CS} event-listen-queue-size 4294967295`,
    `${CS} sync-queue-size 4294967295`,
    `${CS} purge-timeout 1`,
    `${CS} purge-timeout 2147483647`,
    `${CS} failover-mechanism vrrp sync-group my_group-1.a`,
    `${CS} ignore-address 192.0.2.1`,
    `${CS} ignore-address 192.0.2.0/24`,
    `${CS} ignore-address 2001:db8::1`,
    `${CS} ignore-address 2001:db8::/32`,
    `${CS} interface eth0.100`,
    `${IF} peer 192.0.2.2`,
    `${IF} peer 2001:db8::2`,
    `${IF} port 1`,
    `${IF} port 65535`,
    `${CS} listen-address 192.0.2.1`,
    `${CS} listen-address 2001:db8::1`,
    `${CS} mcast-group 224.0.0.1`,
    `${CS} mcast-group 239.255.255.255`,
    `${CS} mcast-group ff12::9166`,
    `${G} interface eth1`,
    `${G} vrid 1`,
    `${G} vrid 255`,
    `${G} priority 255`,
    `${G} address 192.0.2.1/24`,
    `${G} address 2001:db8::1/64`,
    `${G} peer-address 192.0.2.2`,
    `${G} hello-source-address 2001:db8::1`,
    `${HA} sync-group sg member G`,
  ];
  it.each(valid)('set %s', (line) => {
    expect(setError(line)).toBeUndefined();
  });
});

describe('get_config: defaults and typed values', () => {
  it('fills VyOS defaults (8, 1, 225.0.0.50, 60) and camelCase keys', () => {
    const cs = getConfig(treeOf(`${CS} interface eth0`)).conntrackSync!;
    expect(cs).toEqual({
      acceptProtocol: [],
      disableExternalCache: false,
      disableSyslog: false,
      eventListenQueueSize: 8,
      expectSync: [],
      ignoreAddress: [],
      interfaces: [{ name: 'eth0' }],
      listenAddress: [],
      mcastGroup: '225.0.0.50',
      purgeTimeout: 60,
      startupResync: false,
      syncQueueSize: 1,
    });
  });
  it('types every set leaf', () => {
    const config = getConfig(
      treeOf(`${IF} peer 192.0.2.2\n${IF} port 3781\n${CS} startup-resync\n${CS} failover-mechanism vrrp sync-group sg\n${G} vrid 7\n${G} address 192.0.2.9/24\n${G} interface eth0`),
    );
    expect(config.conntrackSync!.interfaces).toEqual([{ name: 'eth0', peer: '192.0.2.2', port: 3781 }]);
    expect(config.conntrackSync!.failoverSyncGroup).toBe('sg');
    expect(config.conntrackSync!.startupResync).toBe(true);
    expect(config.vrrp!.groups).toEqual([{ name: 'G', interface: 'eth0', vrid: 7, address: ['192.0.2.9/24'], priority: 100 }]);
  });
  it('no service conntrack-sync → undefined (the delete path)', () => {
    expect(getConfig({}).conntrackSync).toBeUndefined();
  });
});

describe('tree edits', () => {
  it('multi leaf keeps order, ignores duplicates, deletes one value', () => {
    let t = treeOf(`${CS} accept-protocol udp\n${CS} accept-protocol tcp\n${CS} accept-protocol udp`);
    expect(getConfig(t).conntrackSync!.acceptProtocol).toEqual(['udp', 'tcp']);
    t = deletePath(t, words(`${CS} accept-protocol udp`));
    expect(getConfig(t).conntrackSync!.acceptProtocol).toEqual(['tcp']);
  });
  it('single leaf is replaced; delete of a missing node fails', () => {
    const t = treeOf(`${IF} port 1\n${IF} port 2`);
    expect(getConfig(t).conntrackSync!.interfaces[0]!.port).toBe(2);
    expect(() => deletePath(t, words(`${IF} peer`))).toThrow('Nothing to delete (the specified node does not exist)');
    expect(() => deletePath(t, words(`${IF} port 3`))).toThrow('Nothing to delete (the specified node does not exist)');
  });
  it('delete of a tag entry keeps the service (a presence node)', () => {
    const t = deletePath(treeOf(`${IF} port 1`), words(IF));
    expect(t).toEqual({ service: { 'conntrack-sync': { interface: {} } } });
  });
  it('checkTree rejects unknown keys and wrong shapes of a loaded tree', () => {
    expect(() => checkTree({ service: { nope: {} } })).toThrow('Configuration path: [service nope] is not valid');
    expect(() => checkTree({ service: { 'conntrack-sync': { 'mcast-group': '1.1.1.1' } } })).toThrow(
      'Error: 1.1.1.1 is not a valid IPv4 multicast address',
    );
  });
});
