/**
 * The engine's configuration: conntrackd.conf (shared/spec/conntrackd.md §6) parsed into
 * one typed tree. The parser fills every default so consumers never guess; `undefined`
 * means "not configured" only where conntrackd itself distinguishes it (CommitTimeout,
 * PollSecs, NetlinkBufferSize).
 */
import type { L3 } from '../model/conntrack.js';

export type SyncModeName = 'FTFW' | 'NOTRACK' | 'ALARM';

export interface FtfwOptions {
  resendQueueSize: number; // 131072
  ackWindowSize: number; // 300
}

export interface AlarmOptions {
  refreshTime: number; // 60 s
  cacheTimeout: number; // 180 s
}

export interface SyncConfig {
  mode: SyncModeName;
  ftfw: FtfwOptions;
  alarm: AlarmOptions;
  /** Unset: timeouts are estimated and sent on the wire (§1.7 item 5, §3.3). */
  commitTimeout?: number;
  purgeTimeout: number; // 60 s
  disableExternalCache: boolean;
  /** NOTRACK only. */
  disableInternalCache: boolean;
  startupResync: boolean;
  tcpWindowTracking: boolean;
  /** `ExpectationSync on` → 'all'; `{ ftp sip }` → the helper-name prefixes; off → undefined. */
  expectationSync?: 'all' | string[];
  links: LinkConfig[];
}

export type LinkKind = 'multicast' | 'udp' | 'tcp';

export interface LinkConfig {
  kind: LinkKind;
  /** `Default` keyword: the initial active link. */
  isDefault: boolean;
  family: L3;
  /** Multicast: the group. UDP/TCP: the local bind address (absent: any). */
  address?: string;
  /** UDP/TCP: the peer. */
  destination?: string;
  /** UDP/TCP `Port`, Multicast `Group` (the UDP port). */
  port: number;
  /** Multicast IPv4: the local interface address (`IPv4_interface`). */
  ipv4Interface?: string;
  interface: string;
  sndSocketBuffer?: number;
  rcvSocketBuffer?: number;
  checksum: boolean; // on
  /** TCP only. */
  errorQueueLength: number; // 128
}

export type FilterPolicy = 'accept' | 'ignore';

export interface AddressMatch {
  l3: L3;
  address: string;
  /** Prefix length; 32 / 128 for a host. */
  prefix: number;
}

export interface FilterConfig {
  from: 'userspace' | 'kernelspace';
  protocol?: { policy: FilterPolicy; protos: number[] };
  address?: { policy: FilterPolicy; addresses: AddressMatch[] };
  /** TCP states by TCP_STATE number. */
  state?: { policy: FilterPolicy; states: number[] };
}

export type SyslogSetting = false | { facility: string };

export interface GeneralConfig {
  hashSize: number; // 65536
  hashLimit: number; // 262144
  /** false: off; otherwise the path (`on` → /var/log/conntrackd.log). */
  logFile: false | string;
  syslog: SyslogSetting; // off; `on` → daemon
  lockFile: string; // /var/lock/conntrackd.lock
  unixPath: string; // required
  netlinkBufferSize?: number;
  netlinkBufferSizeMaxGrowth: number; // 0
  /** Seconds after an overrun before a resync with the kernel; false = off. Default 30. */
  netlinkOverrunResync: false | number;
  netlinkEventsReliable: boolean;
  eventIterationLimit: number; // 100
  pollSecs?: number;
  filter?: FilterConfig;
  scheduler?: { type: 'RR' | 'FIFO'; priority: number };
  systemd: boolean;
}

export interface EngineConfig {
  general: GeneralConfig;
  /** Absent: no Sync block (stats-only or control-only daemon). */
  sync?: SyncConfig;
  /** `Stats {}` block present (statistics mode; mutually exclusive with Sync). */
  stats?: { logFile: false | string; syslog: SyslogSetting };
  /** Clauses that parse but that ctsyncd does not act on: each becomes a warning at start. */
  warnings: string[];
}
