import { describe, expect, it } from 'vitest';
import { generate, renderConntrackd, renderKeepalived } from '../../src/configd/generate.js';
import { getConfig } from '../../src/configd/get-config.js';
import { verify } from '../../src/configd/verify.js';
import { CS, EXAMPLE_A, EXAMPLE_B, EXAMPLE_C, HA, KERNEL_ABC, fakeKernel, fixture, inputs, treeOf } from './helpers.js';

const kernel = fakeKernel({ ...KERNEL_ABC, eth2: ['2001:db8:9166::1/64', 'fe80::1/64'], eth3: ['10.1.0.1/24', '10.1.1.1/24'] });

function conntrackd(lines: string, hashSize = 32768, max = 262144): string {
  const config = getConfig(treeOf(lines));
  verify(config, kernel);
  return renderConntrackd(config.conntrackSync!, inputs(kernel, hashSize, max));
}

/** The lines of the Sync section (between `Sync {` and `Helper {`). */
function syncSection(text: string): string {
  return text.slice(text.indexOf('Sync {'), text.indexOf('Helper {'));
}

const BASE = `${CS} failover-mechanism vrrp sync-group sg\n${HA} sync-group sg`;

describe('conntrackd.conf examples (shared/spec/vyos.md §3.3)', () => {
  it('Example A (multicast) byte for byte', () => {
    expect(conntrackd(EXAMPLE_A)).toBe(fixture('example-a.conntrackd.conf'));
  });
  it('Example B (unicast, expect-sync all) byte for byte', () => {
    expect(conntrackd(EXAMPLE_B)).toBe(fixture('example-b.conntrackd.conf'));
  });
  it('Example C (two links, every option) byte for byte', () => {
    expect(conntrackd(EXAMPLE_C, 65536, 1048576)).toBe(fixture('example-c.conntrackd.conf'));
  });
  it('has no trailing newline', () => {
    expect(conntrackd(EXAMPLE_A).endsWith('\n}')).toBe(true);
  });
});

describe('conntrackd.conf branches', () => {
  it('multicast port renders as Group, first IPv4 of the link as IPv4_interface', () => {
    const text = conntrackd(`${BASE}\n${CS} interface eth3 port 4000`);
    expect(syncSection(text)).toContain('        Group 4000\n        IPv4_interface 10.1.0.1\n        Interface eth3\n');
  });
  it('custom IPv4 multicast group', () => {
    expect(conntrackd(`${BASE}\n${CS} interface eth0\n${CS} mcast-group 239.1.2.3`)).toContain('IPv4_address 239.1.2.3\n');
  });
  it('IPv6 multicast: IPv6_address, Interface after it, no IPv4_interface', () => {
    const text = conntrackd(`${BASE}\n${CS} interface eth2\n${CS} mcast-group ff12::9166`);
    expect(syncSection(text)).toContain(
      '    Multicast {\n        IPv6_address ff12::9166\n        Group 3780\n        Interface eth2\n        SndSocketBuffer',
    );
    expect(text).not.toContain('IPv4_interface');
  });
  it('IPv6 unicast: IPv6_address listen, IPv6_Destination_Address peer', () => {
    const text = conntrackd(`${BASE}\n${CS} interface eth2 peer 2001:db8:9166::2\n${CS} listen-address 2001:db8:9166::1`);
    expect(syncSection(text)).toContain(
      '    UDP {\n        IPv6_address 2001:db8:9166::1\n        IPv6_Destination_Address 2001:db8:9166::2\n        Port 3780\n        Interface eth2\n',
    );
  });
  it('unicast without listen-address has no IPv4_address line', () => {
    expect(syncSection(conntrackd(`${BASE}\n${CS} interface eth0 peer 192.0.2.2`))).not.toContain('IPv4_address');
  });
  it('expect-sync list renders the braced form, one protocol per line', () => {
    const text = conntrackd(`${BASE}\n${CS} interface eth0\n${CS} expect-sync h323\n${CS} expect-sync nfs\n${CS} expect-sync sqlnet`);
    expect(text).toContain('    Options {\n        ExpectationSync {\n            h323\n            nfs\n            sqlnet\n        }\n    }\n}\nHelper {');
  });
  it('no expect-sync: no Options block', () => {
    expect(conntrackd(`${BASE}\n${CS} interface eth0`)).not.toContain('Options');
  });
  it('no filter options: no Filter block', () => {
    const text = conntrackd(`${BASE}\n${CS} interface eth0`);
    expect(text).not.toContain('Filter');
    expect(text.endsWith('    NetlinkEventsReliable on\n}')).toBe(true);
  });
  it('ignore-address only: Address Ignore, IPv4 before IPv6, no Protocol Accept', () => {
    const text = conntrackd(`${BASE}\n${CS} interface eth0\n${CS} ignore-address 2001:db8::1\n${CS} ignore-address 10.0.0.0/8`);
    expect(text).toContain(
      '    Filter From Userspace {\n        Address Ignore {\n            IPv4_address 10.0.0.0/8\n            IPv6_address 2001:db8::1\n        }\n    }\n}',
    );
    expect(text).not.toContain('Protocol Accept');
  });
  it('accept-protocol maps every protocol (icmp6 → IPv6-ICMP)', () => {
    const protos = ['tcp', 'udp', 'icmp', 'icmp6', 'sctp', 'dccp'].map((p) => `${CS} accept-protocol ${p}`).join('\n');
    const text = conntrackd(`${BASE}\n${CS} interface eth0\n${protos}`);
    expect(text).toContain('        Protocol Accept {\n            TCP\n            UDP\n            ICMP\n            IPv6-ICMP\n            SCTP\n            DCCP\n        }');
  });
  it('purge-timeout, queue sizes and kernel sizes', () => {
    const text = conntrackd(`${BASE}\n${CS} interface eth0\n${CS} purge-timeout 5\n${CS} sync-queue-size 0\n${CS} event-listen-queue-size 1`, 1024, 4096);
    expect(text).toContain('        PurgeTimeout 5\n');
    expect(text).toContain('SndSocketBuffer 0\n        RcvSocketBuffer 0\n');
    expect(text).toContain('NetlinkBufferSizeMaxGrowth 1048576\n');
    expect(text).toContain('    HashSize 1024\n    HashLimit 8192\n');
  });
});

describe('keepalived.conf', () => {
  it('Example A: notify lines, D-Bus and the readiness track file on the sync-group conntrack-sync names', () => {
    const config = getConfig(treeOf(EXAMPLE_A));
    const files = generate(config, inputs(kernel));
    expect(files.keepalived).toBe(fixture('example-a.keepalived.conf'));
  });
  it('notify lines only for the named sync-group', () => {
    const config = getConfig(treeOf(`${EXAMPLE_A}\n${HA} group other interface eth0\n${HA} group other vrid 11\n${HA} group other address 192.0.2.200/24\n${HA} sync-group other member other`));
    const text = renderKeepalived(config.vrrp!, 'syncgrp', { hookCommand: 'HOOK', trackFile: '/run/ready' });
    expect(text.match(/notify_/g)).toHaveLength(3);
    expect(text).toContain('vrrp_sync_group other {\n    group {\n        other\n    }\n\n\n}');
    // only the members of the conntrack-sync sync-group track the engine's readiness
    expect(text.match(/ctsync_ready weight 1/g)).toHaveLength(1);
    expect(text).toMatch(/vrrp_instance internal \{[^}]*track_file \{\n        ctsync_ready weight 1\n    \}/);
    expect(text).toContain('track_file ctsync_ready {\n    file /run/ready\n}');
  });
  it('CTSYNC_TRACK_FILE=off: no track file, the rest as before', () => {
    const config = getConfig(treeOf(EXAMPLE_A));
    const text = renderKeepalived(config.vrrp!, 'syncgrp', { hookCommand: 'HOOK', trackFile: null });
    expect(text).not.toContain('track_file');
    expect(text).toContain('    enable_dbus\n');
    expect(text).toContain('    notify_master "HOOK master syncgrp"');
  });
  it('no conntrack-sync: no notify lines; no HA: no keepalived file', () => {
    const haOnly = getConfig(treeOf(EXAMPLE_A.split('\n').filter((l) => !l.startsWith(CS)).join('\n')));
    for (const word of ['notify_', 'enable_dbus', 'track_file', 'sync_group_tracking_weight']) {
      expect(generate(haOnly, inputs(kernel)).keepalived).not.toContain(word);
    }
    expect(generate(haOnly, inputs(kernel)).conntrackd).toBeUndefined();
    const csOnly = getConfig(treeOf(`${CS} interface eth0`));
    expect(generate(csOnly, inputs(kernel)).keepalived).toBeUndefined();
  });
  it('Example B: unicast peer, unicast_src_ip, priority', () => {
    const text = generate(getConfig(treeOf(EXAMPLE_B)), inputs(kernel)).keepalived!;
    expect(text).toContain(
      'vrrp_instance LAN {\n    state BACKUP\n    interface eth1\n    virtual_router_id 1\n    priority 200\n    advert_int 1\n    unicast_peer { 192.168.0.251 }\n    unicast_src_ip 192.168.0.250\n    track_file {\n        ctsync_ready weight 1\n    }\n    virtual_ipaddress {\n        192.168.0.1/24\n    }\n}',
    );
  });
  it('multicast VRRP with hello-source-address uses mcast_src_ip', () => {
    const text = generate(getConfig(treeOf(`${EXAMPLE_A}\n${HA} group internal hello-source-address 198.51.100.1`)), inputs(kernel)).keepalived!;
    expect(text).toContain('    mcast_src_ip 198.51.100.1\n');
  });
});
