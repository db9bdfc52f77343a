/** Shared fixtures of the configd unit tests: a fake kernel and trees built from `set` lines. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RenderInputs } from '../../src/configd/generate.js';
import { interfacesFromIpJson, type KernelInterfaces } from '../../src/configd/kernel-interfaces.js';
import { parseConfigText } from '../../src/configd/config-text.js';
import type { ConfigTree } from '../../src/configd/schema.js';
import { setPath } from '../../src/configd/tree.js';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

export function fixture(name: string): string {
  return readFileSync(path.join(FIXTURES, name), 'utf8');
}

/** A kernel with these interfaces and CIDR addresses (in `ip -j addr show` shape). */
export function fakeKernel(links: Record<string, string[]>): KernelInterfaces {
  const json = Object.entries(links).map(([ifname, addrs]) => ({
    ifname,
    addr_info: addrs.map((cidr) => {
      const [local, len] = cidr.split('/');
      return { family: local!.includes(':') ? 'inet6' : 'inet', local, prefixlen: Number(len) };
    }),
  }));
  return interfacesFromIpJson(JSON.stringify(json));
}

/** Apply `set` lines (one per line, `set` optional) to an empty tree, through the schema. */
export function treeOf(lines: string): ConfigTree {
  const text = lines
    .trim()
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => (l.trim().startsWith('set ') ? l.trim() : `set ${l.trim()}`))
    .join('\n');
  return parseConfigText(text).reduce<ConfigTree>((tree, words) => setPath(tree, words), {});
}

export function inputs(kernel: KernelInterfaces, hashSize = 32768, conntrackMax = 262144): RenderInputs {
  return { kernel, hashSize, conntrackMax, hookCommand: '/usr/lib/ctsync/bin/ctsync.js vrrp-hook', trackFile: '/run/ctsync/vrrp-ready' };
}

export const CS = 'service conntrack-sync';
export const HA = 'high-availability vrrp';

/** Example A of shared/spec/vyos.md §3.3 (plus the HA side of its keepalived example). */
export const EXAMPLE_A = `
${CS} accept-protocol tcp
${CS} accept-protocol udp
${CS} accept-protocol icmp
${CS} failover-mechanism vrrp sync-group syncgrp
${CS} interface eth0
${CS} mcast-group 225.0.0.50
${HA} group internal interface eth1
${HA} group internal vrid 10
${HA} group internal address 198.51.100.100/24
${HA} sync-group syncgrp member internal
`;

/** Example B (smoketest dialup-router-medium-vpn, §6.2). */
export const EXAMPLE_B = `
${CS} accept-protocol tcp
${CS} accept-protocol udp
${CS} accept-protocol icmp
${CS} disable-external-cache
${CS} event-listen-queue-size 8
${CS} expect-sync all
${CS} failover-mechanism vrrp sync-group failover-group
${CS} interface eth1 peer 192.168.0.251
${CS} sync-queue-size 8
${HA} group LAN address 192.168.0.1/24
${HA} group LAN hello-source-address 192.168.0.250
${HA} group LAN interface eth1
${HA} group LAN peer-address 192.168.0.251
${HA} group LAN priority 200
${HA} group LAN vrid 1
${HA} sync-group failover-group member LAN
`;

/** Example C: two unicast links with every option set. */
export const EXAMPLE_C = `
${CS} accept-protocol tcp
${CS} accept-protocol icmp6
${CS} accept-protocol dccp
${CS} disable-syslog
${CS} startup-resync
${CS} event-listen-queue-size 16
${CS} expect-sync ftp
${CS} expect-sync sip
${CS} ignore-address 192.0.2.0/24
${CS} ignore-address 2001:db8::/32
${CS} ignore-address 203.0.113.5
${CS} interface eth0 peer 192.0.2.2
${CS} interface eth0 port 3781
${CS} interface eth1 peer 198.51.100.2
${CS} listen-address 192.0.2.1
${CS} listen-address 198.51.100.1
${CS} sync-queue-size 2
${CS} failover-mechanism vrrp sync-group sg
${HA} group G1 interface eth0
${HA} group G1 vrid 5
${HA} group G1 address 192.0.2.254/24
${HA} sync-group sg member G1
`;

export const KERNEL_ABC = {
  eth0: ['192.0.2.1/24'],
  eth1: ['198.51.100.1/24', '192.168.0.250/24'],
};
