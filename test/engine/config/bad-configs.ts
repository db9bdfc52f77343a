/**
 * Bad conntrackd.conf files and the exact sentence conntrackd 1.4.7 prints for each
 * (captured with `/usr/sbin/conntrackd -C <file> -s`; the differential test re-checks them
 * against the installed binary when it is present).
 */
export interface BadConfig {
  name: string;
  text: string;
  code: 'ENGINE_CONFIG_SYNTAX' | 'ENGINE_CONFIG_INVALID';
  message: string;
}

const UNIX = 'General {\n\tLockFile /tmp/ctsync-bad.lock\n\tUNIX { Path /tmp/ctsync-bad.ctl }\n}\n';
const udp = (n: number) => `UDP { IPv4_address 10.0.0.${n} IPv4_Destination_Address 10.0.1.${n} Port 3780 Interface lo }\n`;

export const BAD_CONFIGS: BadConfig[] = [
  { name: 'unknown top-level word', text: `${UNIX}Foo {\n}\n`, code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (5), symbol 'Foo': syntax error" },
  { name: 'number expected', text: 'General { HashSize abc }\n', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (1), symbol 'abc': syntax error" },
  { name: 'unterminated block', text: 'General {\n', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (2), symbol '': syntax error" },
  { name: 'missing value at EOF', text: 'General { HashSize 1 ', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (1), symbol '': syntax error" },
  { name: 'relative LogFile', text: 'General { LogFile foo }\n', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (1), symbol 'foo': syntax error" },
  { name: 'relative LockFile', text: 'General { LockFile var/lock }\n', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (1), symbol 'var': syntax error" },
  { name: 'unknown mode', text: `${UNIX}Sync {\n Mode FOO { }\n}\n`, code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (6), symbol 'FOO': syntax error" },
  { name: 'persistent (lower-case t is not the keyword)', text: `${UNIX}Sync { Mode persistent { } }\n`, code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (5), symbol 'persistent': syntax error" },
  { name: 'DisableExternalCache in ALARM', text: `${UNIX}Sync {\n Mode ALARM {\n  DisableExternalCache on\n }\n}\n`, code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (7), symbol 'DisableExternalCache': syntax error" },
  { name: 'ACKWindowSize in NOTRACK', text: `${UNIX}Sync { Mode NOTRACK { ACKWindowSize 20 } }\n`, code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (5), symbol 'ACKWindowSize': syntax error" },
  { name: 'DisableInternalCache in FTFW', text: `${UNIX}Sync { Mode FTFW { DisableInternalCache on } }\n`, code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (5), symbol 'DisableInternalCache': syntax error" },
  { name: 'RefreshTime in FTFW', text: `${UNIX}Sync { Mode FTFW { RefreshTime 5 } }\n`, code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (5), symbol 'RefreshTime': syntax error" },
  { name: 'Checksum outside a link', text: `${UNIX}Sync {\n Checksum on\n}\n`, code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (6), symbol 'Checksum': syntax error" },
  { name: 'Group in UDP', text: `${UNIX}Sync { UDP { Group 3780 } }\n`, code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (5), symbol 'Group': syntax error" },
  { name: 'Port in Multicast', text: `${UNIX}Sync { Multicast { Port 3780 } }\n`, code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (5), symbol 'Port': syntax error" },
  { name: 'ErrorQueueLength in UDP', text: `${UNIX}Sync { UDP { ErrorQueueLength 5 } }\n`, code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (5), symbol 'ErrorQueueLength': syntax error" },
  { name: 'IPv4_Destination_Address in Multicast', text: `${UNIX}Sync { Multicast { IPv4_Destination_Address 1.2.3.4 } }\n`, code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (5), symbol 'IPv4_Destination_Address': syntax error" },
  { name: 'Interface is not a name', text: `${UNIX}Sync { UDP { Interface 10.0.0.1 } }\n`, code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (5), symbol '10.0.0.1': syntax error" },
  { name: 'hex-only interface name scans as an address', text: `${UNIX}Sync { UDP { Interface dead } }\n`, code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (5), symbol 'dead': syntax error" },
  { name: 'Nice without sign', text: 'General { Nice 5 }\n', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (1), symbol '5': syntax error" },
  { name: 'unknown filter state', text: 'General { Filter { State Accept { FOO for TCP } } }\n', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (1), symbol 'FOO': syntax error" },
  { name: 'state list without for TCP', text: 'General { Filter { State Accept { ESTABLISHED } } }\n', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (1), symbol '}': syntax error" },
  { name: 'state for UDP', text: 'General { Filter { State Accept { ESTABLISHED for UDP } } }\n', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (1), symbol 'UDP': syntax error" },
  { name: 'Filter From nowhere', text: 'General { Filter From Anywhere { } }\n', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (1), symbol 'Anywhere': syntax error" },
  { name: 'filter policy missing', text: 'General { Filter { Protocol { TCP } } }\n', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (1), symbol '{': syntax error" },
  { name: 'not an IPv6 address in a filter', text: 'General { Filter { Address Accept { IPv6_address zz::1 } } }\n', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (1), symbol 'zz': syntax error" },
  { name: 'Backlog outside UNIX', text: 'General { Backlog 10 }\n', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (1), symbol 'Backlog': syntax error" },
  { name: 'stray character', text: 'General { HashSize 10; }\n', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (1), symbol ';': syntax error" },
  { name: 'keywords are case-sensitive', text: 'general { }\n', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (1), symbol 'general': syntax error" },
  { name: 'Stats does not take NetlinkEventsReliable', text: 'Stats { NetlinkEventsReliable on }\n', code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (1), symbol 'NetlinkEventsReliable': syntax error" },
  { name: 'TCPWindowTracking outside Options', text: `${UNIX}Sync { TCPWindowTracking on }\n`, code: 'ENGINE_CONFIG_SYNTAX', message: "parsing config file in line (5), symbol 'TCPWindowTracking': syntax error" },
  { name: 'mixed link kinds', text: `${UNIX}Sync {\n Mode FTFW { }\n Multicast { IPv4_address 225.0.0.1 Group 3780 IPv4_interface 127.0.0.1 Interface lo }\n ${udp(1)}}\n`, code: 'ENGINE_CONFIG_INVALID', message: "cannot use `UDP' with other dedicated link protocols!" },
  { name: 'TCP after UDP', text: `${UNIX}Sync { ${udp(1)} TCP { Port 1 } }\n`, code: 'ENGINE_CONFIG_INVALID', message: "cannot use `TCP' with other dedicated link protocols!" },
  { name: 'Multicast after TCP', text: `${UNIX}Sync { TCP { Port 1 } Multicast { Group 1 } }\n`, code: 'ENGINE_CONFIG_INVALID', message: "cannot use `Multicast' with other dedicated link protocols!" },
  { name: 'five links', text: `${UNIX}Sync { Mode FTFW { } ${udp(1)}${udp(2)}${udp(3)}${udp(4)}${udp(5)}}\n`, code: 'ENGINE_CONFIG_INVALID', message: 'too many dedicated links in the configuration file (Maximum: 4)' },
  { name: 'Stats then Sync', text: `${UNIX}Stats { }\nSync { }\n`, code: 'ENGINE_CONFIG_INVALID', message: "cannot use both `Stats' and `Sync' clauses in conntrackd.conf" },
  { name: 'Sync then Stats', text: `${UNIX}Sync { }\nStats { }\n`, code: 'ENGINE_CONFIG_INVALID', message: "cannot use both `Stats' and `Sync' clauses in conntrackd.conf" },
  { name: 'PollSecs 0', text: 'General { PollSecs 0 }\n', code: 'ENGINE_CONFIG_INVALID', message: "`PollSecs' clause must be > 0" },
  { name: 'unknown scheduler', text: 'General { Scheduler { Type XX } }\n', code: 'ENGINE_CONFIG_INVALID', message: "unknown scheduler `XX'" },
  { name: 'priority out of range', text: 'General { Scheduler { Priority 100 } }\n', code: 'ENGINE_CONFIG_INVALID', message: "`Priority' must be [0, 99]\n" },
  { name: 'UNIX path too long', text: `General { UNIX { Path /tmp/${'a'.repeat(110)} } }\n`, code: 'ENGINE_CONFIG_INVALID', message: 'Path is longer than 107 characters' },
  { name: 'unknown helper', text: 'Helper { Type foo inet tcp { } }\n', code: 'ENGINE_CONFIG_INVALID', message: "Unknown `foo' helper" },
  { name: 'helper layer 3', text: 'Helper { Type ftp ipx tcp { } }\n', code: 'ENGINE_CONFIG_INVALID', message: 'unknown layer 3 protocol' },
  { name: 'helper layer 4', text: 'Helper { Type ftp inet sctp { } }\n', code: 'ENGINE_CONFIG_INVALID', message: 'unknown layer 4 protocol' },
  { name: 'empty helper policy', text: 'Helper { Type ftp inet tcp { Policy ftp { } } }\n', code: 'ENGINE_CONFIG_INVALID', message: 'Helper policy configuration empty, fix your configuration file, please' },
];
