/**
 * conntrackd.conf for one node of an interop cell (shared/spec/conntrackd.md §6). The same
 * file is read by conntrackd 1.4.7 and by ctsyncd; only paths, addresses and the mode /
 * transport differ between cells. Shaped after shared/lab/conf/<variant>/fw{1,2}.conf.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type SyncMode = 'FTFW' | 'NOTRACK' | 'ALARM';
export type Transport = 'UDP' | 'Multicast' | 'TCP';

export interface NodeConf {
  /** file stem: `<dir>/<name>.{conf,lock,ctl,log}` */
  name: string;
  dir: string;
  mode: SyncMode;
  transport: Transport;
  /** this node's and the peer's address on the sync link */
  local: string;
  peer: string;
  iface: string;
  expectationSync?: boolean;
  /** Redundant links after the first (UDP/TCP), config order; the first is then `Default`. */
  extraLinks?: LinkAddresses[];
}

/** One dedicated link: this node's and the peer's address on it, and its device. */
export interface LinkAddresses {
  local: string;
  peer: string;
  iface: string;
}

export const SYNC_PORT = 3780;
const MCAST_GROUP = '225.0.0.50';

export interface NodePaths {
  conf: string;
  lock: string;
  ctl: string;
  log: string;
}

export function nodePaths(dir: string, name: string): NodePaths {
  const at = (ext: string) => join(dir, `${name}.${ext}`);
  return { conf: at('conf'), lock: at('lock'), ctl: at('ctl'), log: at('log') };
}

function modeBlock(mode: SyncMode): string {
  switch (mode) {
    case 'FTFW':
      return 'Mode FTFW {\n\t\tResendQueueSize 131072\n\t\tACKWindowSize 300\n\t\tDisableExternalCache Off\n\t}';
    case 'NOTRACK':
      return 'Mode NOTRACK {\n\t\tDisableInternalCache Off\n\t\tDisableExternalCache Off\n\t}';
    case 'ALARM':
      // RefreshTime short enough that a lost message is repaired within a cell's wait
      return 'Mode ALARM {\n\t\tRefreshTime 5\n\t\tCacheTimeout 180\n\t}';
  }
}

function linkBlock(c: NodeConf): string {
  const buffers = '\t\tSndSocketBuffer 4194304\n\t\tRcvSocketBuffer 4194304\n\t\tChecksum on';
  if (c.transport === 'Multicast') {
    return `Multicast {\n\t\tIPv4_address ${MCAST_GROUP}\n\t\tGroup ${SYNC_PORT}\n\t\tIPv4_interface ${c.local}\n\t\tInterface ${c.iface}\n${buffers}\n\t}`;
  }
  const extra = c.extraLinks ?? [];
  const block = (l: LinkAddresses, dflt: boolean) =>
    `${c.transport}${dflt ? ' Default' : ''} {\n\t\tIPv4_address ${l.local}\n\t\tIPv4_Destination_Address ${l.peer}\n\t\tPort ${SYNC_PORT}\n\t\tInterface ${l.iface}\n${buffers}\n\t}`;
  return [block(c, extra.length > 0), ...extra.map((l) => block(l, false))].join('\n\t');
}

/** Write `<dir>/<name>.conf` and return the node's paths. */
export function writeNodeConf(c: NodeConf): NodePaths {
  const p = nodePaths(c.dir, c.name);
  const text = `# interop cell node ${c.name}: ${c.mode} over ${c.transport}
Sync {
\t${modeBlock(c.mode)}
\t${linkBlock(c)}
\tOptions {
\t\tTCPWindowTracking Off
${c.expectationSync ? '\t\tExpectationSync On\n' : ''}\t}
}

General {
\tSystemd off
\tHashSize 32768
\tHashLimit 524288
\tLogFile ${p.log}
\tSyslog off
\tLockFile ${p.lock}
\tUNIX {
\t\tPath ${p.ctl}
\t}
\tNetlinkBufferSize 2097152
\tNetlinkBufferSizeMaxGrowth 8388608
\tNetlinkOverrunResync 2
\tNetlinkEventsReliable Off
\tFilter From Userspace {
\t\tAddress Ignore {
\t\t\tIPv4_address 127.0.0.1
\t\t\tIPv4_address 10.200.0.0/24
\t\t\tIPv6_address ::1
\t\t}
\t}
}
`;
  writeFileSync(p.conf, text);
  return p;
}
