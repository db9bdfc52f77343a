import { describe, expect, it } from 'vitest';
import { isCtsyncError } from '../../src/common/errors.js';
import { syncGroupMembers } from '../../src/vrrp-hooks/keepalived-conf.js';

const conf = `
global_defs { enable_dbus }
# vrrp_sync_group G1 { group { WRONG } }
vrrp_sync_group G0 {
    group { X }
}
vrrp_sync_group G1 {
    group {
        VI_LAN
        VI_WAN   ! comment
    }
    notify_master "/usr/bin/ctsync vrrp-hook master G1"
}
vrrp_instance VI_LAN { interface lan0 }
`;

describe('syncGroupMembers', () => {
  it('lists the members of the named group', () => {
    expect(syncGroupMembers(conf, 'G1')).toEqual(['VI_LAN', 'VI_WAN']);
    expect(syncGroupMembers(conf, 'G0')).toEqual(['X']);
  });
  it('fails with HOOK_USAGE for an unknown group', () => {
    try {
      syncGroupMembers(conf, 'G9');
      expect.unreachable();
    } catch (e) {
      expect(isCtsyncError(e, 'HOOK_USAGE')).toBe(true);
    }
  });
});
