/**
 * The family of an address or prefix that already passed the schema: IPv6 text always has a
 * colon, IPv4 text never. Picks VyOS's messages (§1.2, §2.5) and conntrackd's keys (§3.5).
 */
export type AddressFamily = 'IPv4' | 'IPv6';

export function addressFamily(value: string): AddressFamily {
  return value.includes(':') ? 'IPv6' : 'IPv4';
}
