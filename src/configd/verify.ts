/**
 * verify (shared/spec/vyos.md §2.2 with the 2026 changes of §2.5): VyOS's rules, in VyOS's
 * order, with its messages. conntrack-sync (priority 799) is checked before high-availability
 * (800), as in one VyOS commit. The first failing rule throws CONFIG_VERIFY_FAILED.
 */
import { CtsyncError } from '../common/errors.js';
import { addressFamily as familyOf } from './address-family.js';
import type { CommitConfig, ConntrackSyncConfig, VrrpConfig } from './get-config.js';
import type { KernelInterfaces } from './kernel-interfaces.js';

function fail(message: string): never {
  throw new CtsyncError('CONFIG_VERIFY_FAILED', message);
}

export function verifyConntrackSync(cs: ConntrackSyncConfig, vrrp: VrrpConfig | undefined, kernel: KernelInterfaces): void {
  if (cs.interfaces.length === 0) fail('Interface not defined!');
  for (const iface of cs.interfaces) {
    if (!kernel.exists(iface.name)) fail(`Interface "${iface.name}" does not exist!`);
  }
  const unicast = cs.interfaces.filter((i) => i.peer !== undefined).length;
  if (unicast > 0 && unicast !== cs.interfaces.length) fail('Cannot mix unicast and multicast mode!');
  // 2026: the address family needed on the link follows the sync address (peer or group).
  for (const iface of cs.interfaces) {
    const family = familyOf(iface.peer ?? cs.mcastGroup);
    const addresses = family === 'IPv4' ? kernel.ipv4(iface.name) : kernel.ipv6(iface.name);
    if (addresses.length === 0) fail(`Interface ${iface.name} requires an ${family} address!`);
  }
  if (cs.expectSync.length > 1 && cs.expectSync.includes('all')) {
    fail('Cannot configure expect-sync "all" with other protocols!');
  }
  for (const address of cs.listenAddress) {
    if (!kernel.isAssigned(address)) fail(`Specified listen-address ${address} not assigned to any interface!`);
    for (const iface of cs.interfaces) {
      if (iface.peer !== undefined && familyOf(iface.peer) !== familyOf(address)) {
        fail(`Listen-address ${address} does not match address-family of peer ${iface.peer}!`);
      }
    }
  }
  if (cs.failoverSyncGroup === undefined) fail('No VRRP sync-group defined!');
  if (!vrrp?.syncGroups.some((g) => g.name === cs.failoverSyncGroup)) {
    fail(`VRRP sync-group ${cs.failoverSyncGroup} not configured!`);
  }
}

/** The part of high-availability.py's verify that the keepalived render relies on. */
export function verifyVrrp(vrrp: VrrpConfig): void {
  for (const group of vrrp.groups) {
    if (group.interface === undefined) fail(`Interface is required but not set in VRRP group "${group.name}"`);
    if (group.vrid === undefined) fail(`VRID is required but not set in VRRP group "${group.name}"`);
    if (group.address.length === 0) fail(`Virtual IP address is required but not set in VRRP group "${group.name}"`);
  }
  for (const sg of vrrp.syncGroups) {
    for (const member of sg.member) {
      if (!vrrp.groups.some((g) => g.name === member)) {
        fail(`VRRP sync-group "${sg.name}" refers to VRRP group "${member}", but it does not exist!`);
      }
    }
  }
}

export function verify(config: CommitConfig, kernel: KernelInterfaces): void {
  if (config.conntrackSync) verifyConntrackSync(config.conntrackSync, config.vrrp, kernel);
  if (config.vrrp) verifyVrrp(config.vrrp);
}
