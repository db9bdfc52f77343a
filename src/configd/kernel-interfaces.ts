/**
 * The kernel's interfaces and addresses in the current network namespace, as verify and the
 * renderer need them (VyOS `verify_interface_exists`, `get_ipv4`, `get_ipv6`,
 * `is_addr_assigned`; shared/spec/vyos.md §2.2). Read once per commit from `ip -j addr show`.
 */
import { execFileSync } from 'node:child_process';

export interface KernelInterfaces {
  exists(ifname: string): boolean;
  /** Addresses in CIDR form, kernel order (the first is VyOS's `get_ipv4(if)[0]`). */
  ipv4(ifname: string): string[];
  /** Includes link-local addresses, as VyOS's get_ipv6 does. */
  ipv6(ifname: string): string[];
  /** Whether some interface carries this address. */
  isAssigned(address: string): boolean;
}

interface IpAddrInfo {
  family: string;
  local: string;
  prefixlen: number;
}

interface IpLink {
  ifname: string;
  addr_info?: IpAddrInfo[];
}

/** Build from `ip -j addr show` output (also used by tests with captured JSON). */
export function interfacesFromIpJson(json: string): KernelInterfaces {
  const links = JSON.parse(json) as IpLink[];
  const byName = new Map(links.map((l) => [l.ifname, l.addr_info ?? []]));
  const family = (ifname: string, fam: string): string[] =>
    (byName.get(ifname) ?? []).filter((a) => a.family === fam).map((a) => `${a.local}/${a.prefixlen}`);
  return {
    exists: (ifname) => byName.has(ifname),
    ipv4: (ifname) => family(ifname, 'inet'),
    ipv6: (ifname) => family(ifname, 'inet6'),
    isAssigned: (address) => links.some((l) => (l.addr_info ?? []).some((a) => a.local === address)),
  };
}

export function readKernelInterfaces(): KernelInterfaces {
  return interfacesFromIpJson(execFileSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8' }));
}
