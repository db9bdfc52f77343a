/**
 * VyOS's value validators that JSON Schema has no format for (shared/spec/vyos.md §1.2), by
 * the `format` names schema/config.schema.json uses. The generated validator
 * (config-validator.ts) calls them as `formats.<name>`; ipv4 and ipv6 are ajv-formats' regular
 * expressions, inlined there.
 */
import { isIPv4, isIPv6 } from 'node:net';

function isPrefix(value: string, isAddr: (s: string) => boolean, maxLen: number): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(value);
  return m !== null && isAddr(m[1]!) && Number(m[2]) <= maxLen;
}

function isIPv4Multicast(value: string): boolean {
  if (!isIPv4(value)) return false;
  const first = Number(value.split('.')[0]);
  return first >= 224 && first <= 239;
}

// ipaddrcheck --is-ipv6-multicast: ff00::/8 (shared/spec/vyos.md §1.4, smoketest group ff12::9166).
function isIPv6Multicast(value: string): boolean {
  return isIPv6(value) && /^ff[0-9a-f]{2}:/i.test(value);
}

export const CONFIG_FORMATS: Readonly<Record<string, (value: string) => boolean>> = {
  ipv4net: (v) => isPrefix(v, isIPv4, 32),
  ipv6net: (v) => isPrefix(v, isIPv6, 128),
  'ipv4-multicast': isIPv4Multicast,
  'ipv6-multicast': isIPv6Multicast,
};
