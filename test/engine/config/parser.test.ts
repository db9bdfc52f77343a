import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isCtsyncError } from '../../../src/common/errors.js';
import { parseConfig, readConfigFile } from '../../../src/engine/config/parser.js';
import { BAD_CONFIGS } from './bad-configs.js';

const opts = { interfaceExists: (n: string) => ['lo', 'eth0', 'eth1', 'sync0', 'sync1'].includes(n) };
const parse = (text: string) => parseConfig(text, opts);
const LAB = fileURLToPath(new URL('../../../../shared/lab/conf', import.meta.url));

describe('defaults', () => {
  it('fills every default of an empty file', () => {
    const c = parse('');
    expect(c.general).toEqual({
      hashSize: 65536,
      hashLimit: 262144,
      logFile: false,
      syslog: false,
      lockFile: '/var/lock/conntrackd.lock',
      unixPath: '',
      netlinkBufferSizeMaxGrowth: 0,
      netlinkOverrunResync: 30,
      netlinkEventsReliable: false,
      eventIterationLimit: 100,
      systemd: false,
    });
    expect(c.sync).toBeUndefined();
    expect(c.stats).toBeUndefined();
    expect(c.warnings).toEqual([]);
  });

  it('fills the Sync defaults (FT-FW when no Mode)', () => {
    const s = parse('Sync { UDP { IPv4_Destination_Address 10.0.0.2 Port 3780 Interface eth0 } }').sync!;
    expect(s).toEqual({
      mode: 'FTFW',
      ftfw: { resendQueueSize: 131072, ackWindowSize: 300 },
      alarm: { refreshTime: 60, cacheTimeout: 180 },
      purgeTimeout: 60,
      disableExternalCache: false,
      disableInternalCache: false,
      startupResync: false,
      tcpWindowTracking: false,
      links: [{ kind: 'udp', isDefault: false, family: 'ipv4', destination: '10.0.0.2', port: 3780, interface: 'eth0', checksum: true, errorQueueLength: 128 }],
    });
    expect(s.commitTimeout).toBeUndefined();
  });

  it('treats zero as "use the default", like upstream init_config', () => {
    const c = parse('General { HashSize 0 HashLimit 0 EventIterationLimit 0 NetlinkOverrunResync 0 }\nSync { Mode ALARM { RefreshTime 0 CacheTimeout 0 PurgeTimeout 0 CommitTimeout 0 } }');
    expect(c.general.hashSize).toBe(65536);
    expect(c.general.hashLimit).toBe(262144);
    expect(c.general.eventIterationLimit).toBe(100);
    expect(c.general.netlinkOverrunResync).toBe(30);
    expect(c.sync!.alarm).toEqual({ refreshTime: 60, cacheTimeout: 180 });
    expect(c.sync!.purgeTimeout).toBe(60);
    expect(c.sync!.commitTimeout).toBeUndefined();
  });
});

describe('General clauses', () => {
  it('parses every clause and alias', () => {
    const c = parse(`# comment
General {
  HashSize 1024   # trailing comment
  HashLimit 4096
  LogFile on
  Syslog local3
  LockFile /run/x.lock
  UNIX { Path /run/x.ctl }
  SocketBufferSize 1000
  SocketBufferSizeMaxGrown 2000
  NetlinkOverrunResync 7
  NetlinkEventsReliable YES
  EventIterationLimit 50
  Systemd Off
}`);
    expect(c.general).toMatchObject({
      hashSize: 1024, hashLimit: 4096, logFile: '/var/log/conntrackd.log', syslog: { facility: 'local3' },
      lockFile: '/run/x.lock', unixPath: '/run/x.ctl', netlinkBufferSize: 1000, netlinkBufferSizeMaxGrowth: 2000,
      netlinkOverrunResync: 7, netlinkEventsReliable: true, eventIterationLimit: 50, systemd: false,
    });
    expect(parse('General { SocketBufferSizeMaxGrowth 3 NetlinkBufferSizeMaxGrowth 4 }').general.netlinkBufferSizeMaxGrowth).toBe(4);
    expect(parse('General { NetlinkOverrunResync off }').general.netlinkOverrunResync).toBe(false);
    expect(parse('General { NetlinkOverrunResync on }').general.netlinkOverrunResync).toBe(30);
    expect(parse('General { LogFile /tmp/a.log LogFile off }').general.logFile).toBe('/tmp/a.log');
    expect(parse('General { Syslog on }').general.syslog).toEqual({ facility: 'daemon' });
    expect(parse('General { Syslog on Syslog no }').general.syslog).toBe(false);
  });

  it('warns on ignored clauses instead of taking them silently', () => {
    const c = parse('General { Nice -1 UNIX { Backlog 20 } Syslog local9 Scheduler { Type FIFO Priority 10 } Systemd on PollSecs 5 }');
    expect(c.warnings).toEqual([
      'deprecated nice configuration, ignoring. The nice value can be set externally with nice(1) and renice(1).',
      'deprecated unix backlog configuration, ignoring.',
      "'local9' is not a known syslog facility, ignoring",
      expect.stringContaining('Scheduler'),
      expect.stringContaining('Systemd'),
    ]);
    expect(c.general.scheduler).toEqual({ type: 'FIFO', priority: 10 });
    expect(c.general.pollSecs).toBe(5);
    // PollSecs is acted on (the table is polled); HashSize is not
    expect(parse('General { HashSize 8192 }').warnings).toEqual([
      'ctsyncd: `HashSize` has no effect (the caches are hash maps that grow as needed; HashLimit bounds them)',
    ]);
  });

  it('parses Filter blocks with CIDR, protocols and states', () => {
    const f = parse(`General { Filter From Kernelspace {
      Protocol Accept { TCP UDP ICMP sctp nosuchproto }
      Address Ignore { IPv4_address 10.0.0.0/8 IPv4_address 192.168.1.1 IPv6_address 2001:db8::/32 IPv6_address ::1 IPv4_address 1.2.3.4/33 IPv4_address 300.1.1.1 IPv4_address 192.168.1.1 }
      State Accept { ESTABLISHED CLOSED for TCP SYN_SENT LISTEN for TCP }
    } }`);
    expect(f.general.filter).toEqual({
      from: 'kernelspace',
      protocol: { policy: 'accept', protos: [6, 17, 1, 132] },
      address: {
        policy: 'ignore',
        addresses: [
          { l3: 'ipv4', address: '10.0.0.0', prefix: 8 },
          { l3: 'ipv4', address: '192.168.1.1', prefix: 32 },
          { l3: 'ipv6', address: '2001:db8::', prefix: 32 },
          { l3: 'ipv6', address: '::1', prefix: 128 },
        ],
      },
      state: { policy: 'accept', states: [3, 8, 1, 9] },
    });
    expect(f.warnings).toEqual([
      "getprotobyname() cannot find protocol `nosuchproto' in /etc/protocols",
      '1.2.3.4/33 is not a valid network, ignoring',
      '300.1.1.1 is not a valid IPv4, ignoring',
      'IP 192.168.1.1 is repeated in the ignore pool',
      'ctsyncd: `Filter From Kernelspace` is applied in user space (no BPF filter on the event socket): filtered events are still read, then dropped',
    ]);
    expect(parse('General { Filter { } }').general.filter).toEqual({ from: 'userspace' });
  });
});

describe('Sync clauses', () => {
  it('parses the modes and their clauses; FT-FW wins over ALARM over NOTRACK', () => {
    const n = parse('Sync { Mode NOTRACK { CommitTimeout 5 PurgeTimeout 9 DisableInternalCache on DisableExternalCache yes StartupResync on } }').sync!;
    expect(n).toMatchObject({ mode: 'NOTRACK', commitTimeout: 5, purgeTimeout: 9, disableInternalCache: true, disableExternalCache: true, startupResync: true });
    const a = parse('Sync { Mode notrack { } Mode alarm { RefreshTime 5 CacheTimeout 15 } }').sync!;
    expect(a).toMatchObject({ mode: 'ALARM', alarm: { refreshTime: 5, cacheTimeout: 15 } });
    const f = parse('Sync { RefreshTime 7 Mode ALARM { } Mode ftfw { ResendQueueSize 10 ACKWindowSize 20 } }').sync!;
    expect(f).toMatchObject({ mode: 'FTFW', ftfw: { resendQueueSize: 10, ackWindowSize: 20 }, alarm: { refreshTime: 7, cacheTimeout: 180 } });
    const nack = parse('Sync { Mode NACK { } }');
    expect(nack.sync!.mode).toBe('FTFW');
    expect(nack.warnings[0]).toContain("Now `nack' mode is called `ftfw'");
    expect(parse('Sync { Mode persistenT { } }').sync!.mode).toBe('ALARM');
  });

  it('parses Options', () => {
    expect(parse('Sync { Options { TCPWindowTracking on ExpectationSync on } }').sync).toMatchObject({ tcpWindowTracking: true, expectationSync: 'all' });
    expect(parse('Sync { Options { ExpectationSync { ftp sip } } }').sync!.expectationSync).toEqual(['ftp', 'sip']);
    expect(parse('Sync { Options { ExpectationSync off } }').sync!.expectationSync).toBeUndefined();
  });

  it('parses every link kind, Default, and per-link options', () => {
    const s = parse(`Sync {
      TCP { IPv4_address 10.0.0.1 IPv4_Destination_Address 10.0.0.2 Port 3781 Interface eth0 SndSocketBuffer 100 RcvSocketBuffer 200 Checksum off ErrorQueueLength 7 }
      TCP Default { IPv6_address fd00::1 IPv6_Destination_Address fd00::2 Port 3782 Interface eth1 }
    }`).sync!;
    expect(s.links).toEqual([
      { kind: 'tcp', isDefault: false, family: 'ipv4', address: '10.0.0.1', destination: '10.0.0.2', port: 3781, interface: 'eth0', sndSocketBuffer: 100, rcvSocketBuffer: 200, checksum: false, errorQueueLength: 7 },
      { kind: 'tcp', isDefault: true, family: 'ipv6', address: 'fd00::1', destination: 'fd00::2', port: 3782, interface: 'eth1', checksum: true, errorQueueLength: 7 },
    ]);
    const m = parse('Sync { Multicast { IPv4_address 225.0.0.50 Group 3780 IPv4_interface 10.0.0.1 Interface eth0 Checksum off } }');
    expect(m.sync!.links[0]).toEqual({ kind: 'multicast', isDefault: false, family: 'ipv4', address: '225.0.0.50', ipv4Interface: '10.0.0.1', port: 3780, interface: 'eth0', checksum: false, errorQueueLength: 128 });
    expect(m.warnings).toEqual([]); // `Checksum off` is applied by the link (SO_NO_CHECK)
  });

  it('keeps the IPv6 multicast Interface-after-IPv6_address quirk', () => {
    const good = parse('Sync { Multicast { IPv6_address ff02::1:2 Group 3780 Interface eth0 } }');
    expect(good.warnings).toEqual([]);
    const quirk = parse('Sync { Multicast { Interface eth0 IPv6_address ff02::1:2 Group 3780 IPv6_interface fe80::1 } }');
    expect(quirk.warnings).toEqual(['ff02::1:2 is an invalid interface', "`IPv6_interface' not required, ignoring"]);
    expect(quirk.sync!.links[0]).toMatchObject({ family: 'ipv6', address: 'ff02::1:2', interface: 'eth0' });
  });

  it('warns on invalid addresses and interfaces like upstream', () => {
    const c = parse('Sync { UDP { IPv4_address ::1 IPv4_Destination_Address 1.2.3.4 Interface nope0 } Multicast_ignored }'.replace(' Multicast_ignored', ''));
    expect(c.warnings).toEqual(['::1 is not a valid IPv4 address', 'nope0 is an invalid interface']);
    expect(c.sync!.links[0]!.interface).toBe('nope0');
  });

  it('counts links up to four', () => {
    const link = 'UDP { IPv4_Destination_Address 10.0.0.2 Port 3780 Interface eth0 }';
    expect(parse(`Sync { ${link} ${link} ${link} UDP Default { Port 1 } }`).sync!.links.map((l) => l.isDefault)).toEqual([false, false, false, true]);
  });
});

describe('Stats and Helper', () => {
  it('parses Stats with warnings', () => {
    const c = parse('General { Syslog local1 } Stats { LogFile on Syslog local2 }');
    expect(c.stats).toEqual({ logFile: '/var/log/conntrackd-stats.log', syslog: { facility: 'local2' } });
    expect(c.warnings).toEqual(['conflicting Syslog facility values, defaulting to General', expect.stringContaining('Stats block')]);
  });

  it('accepts the Helper block VyOS renders, with a warning', () => {
    const c = parse(`Helper {
    Type rpc inet tcp { QueueNum 3 Policy rpc { ExpectMax 1 ExpectTimeout 300 } }
    Type rpc inet udp { QueueNum 4 Policy rpc { ExpectMax 1 ExpectTimeout 300 } }
    Type tns inet tcp { QueueNum 5 Policy tns { ExpectMax 1 ExpectTimeout 300 } }
}`);
    expect(c.warnings).toEqual([expect.stringContaining('Helper block')]);
  });
});

describe('real configs', () => {
  it.each(['ftfw-mcast', 'ftfw-udp', 'notrack-udp', 'notrack-tcp', 'alarm-udp'])('lab %s/fw1.conf', (variant) => {
    const c = parseConfig(readFileSync(`${LAB}/${variant}/fw1.conf`, 'utf8'), opts);
    expect(c.general.unixPath).toBe('/tmp/ctlab/fw1.ctl');
    expect(c.general.lockFile).toBe('/tmp/ctlab/fw1.lock');
    expect(c.sync!.links.length).toBeGreaterThan(0);
    expect(c.sync!.links[0]!.interface).toBe('sync0');
    expect(c.general.filter?.address?.policy).toBe('ignore');
  });

  it('lab ftfw-mcast in detail', () => {
    const c = parseConfig(readFileSync(`${LAB}/ftfw-mcast/fw1.conf`, 'utf8'), opts);
    expect(c.sync!.links).toEqual([{ kind: 'multicast', isDefault: false, family: 'ipv4', address: '225.0.0.50', port: 3780, ipv4Interface: '10.200.0.1', interface: 'sync0', sndSocketBuffer: 1249280, rcvSocketBuffer: 1249280, checksum: true, errorQueueLength: 128 }]);
    expect(c.general).toMatchObject({ hashSize: 32768, hashLimit: 524288, logFile: '/tmp/ctlab/fw1.log', netlinkBufferSize: 2097152, netlinkBufferSizeMaxGrowth: 8388608 });
    expect(c.general.filter!.protocol).toEqual({ policy: 'accept', protos: [6, 17, 1] });
    expect(c.general.filter!.address!.addresses[1]).toEqual({ l3: 'ipv4', address: '10.200.0.0', prefix: 24 });
  });

  it('VyOS example B (unicast, ExpectationSync on)', () => {
    const c = parse(`### autogenerated by service_conntrack-sync.py ###

# Synchronizer settings
Sync {
    Mode FTFW {
        DisableExternalCache on
        StartupResync off
    }
    UDP {
        IPv4_Destination_Address 192.168.0.251
        Port 3780
        Interface eth1
        SndSocketBuffer 8388608
        RcvSocketBuffer 8388608
        Checksum on
    }
    Options {
        ExpectationSync on
    }
}

# General settings
General {
    HashSize 32768
    HashLimit 524288
    LogFile off
    Syslog on
    LockFile /var/lock/conntrack.lock
    UNIX {
        Path /var/run/conntrackd.ctl
    }
    NetlinkBufferSize 2097152
    NetlinkBufferSizeMaxGrowth 8388608
    NetlinkOverrunResync off
    NetlinkEventsReliable on
    Filter From Userspace {
        Address Ignore {
            IPv4_address 192.0.2.0/24
            IPv4_address 203.0.113.5
            IPv6_address 2001:db8::/32
        }
        Protocol Accept {
            TCP
            IPv6-ICMP
            DCCP
        }
    }
}
`);
    expect(c.sync).toMatchObject({ mode: 'FTFW', disableExternalCache: true, expectationSync: 'all' });
    expect(c.sync!.links).toEqual([{ kind: 'udp', isDefault: false, family: 'ipv4', destination: '192.168.0.251', port: 3780, interface: 'eth1', sndSocketBuffer: 8388608, rcvSocketBuffer: 8388608, checksum: true, errorQueueLength: 128 }]);
    expect(c.general).toMatchObject({ syslog: { facility: 'daemon' }, lockFile: '/var/lock/conntrack.lock', unixPath: '/var/run/conntrackd.ctl', netlinkOverrunResync: false, netlinkEventsReliable: true });
    expect(c.general.filter!.protocol!.protos).toEqual([6, 58, 33]);
    // the one clause of VyOS's config that ctsyncd does not act on (issue 4: said, never silently taken)
    expect(c.warnings).toEqual([expect.stringContaining('`HashSize` has no effect')]);
  });
});

describe('bad configs', () => {
  it.each(BAD_CONFIGS.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    let err: unknown;
    try {
      parse(c.text);
    } catch (e) {
      err = e;
    }
    expect(isCtsyncError(err, c.code)).toBe(true);
    expect((err as Error).message).toBe(c.message);
  });

  it('a missing file is reported like upstream', () => {
    expect(() => readConfigFile('/nonexistent/c.conf')).toThrow("can't open config file `/nonexistent/c.conf'");
  });
});
