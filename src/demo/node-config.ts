/**
 * conntrackd.conf of one demo node: FT-FW over UDP on one dedicated link, as VyOS renders it
 * for two replicas (shared/spec/vyos.md), with the node's own lock, socket and log files.
 * The demo parses this text like any other config, so it exercises the parser too.
 */
export interface DemoNode {
  /** 'A' or 'B'. */
  name: string;
  /** Local address of the dedicated link. */
  address: string;
  /** The other node's address on that link. */
  peer: string;
  interface: string;
  /** Directory of this run's lock files, control sockets and logs. */
  dir: string;
}

export const SYNC_PORT = 3780;

export function lockFile(n: DemoNode): string {
  return `${n.dir}/${n.name}.lock`;
}

export function unixPath(n: DemoNode): string {
  return `${n.dir}/${n.name}.ctl`;
}

export function logFile(n: DemoNode): string {
  return `${n.dir}/${n.name}.log`;
}

export function configFile(n: DemoNode): string {
  return `${n.dir}/${n.name}.conf`;
}

export function nodeConfig(n: DemoNode): string {
  return `# ctsync demo, node ${n.name}
Sync {
	Mode FTFW {
		ResendQueueSize 131072
		DisableExternalCache Off
	}
	UDP {
		IPv4_address ${n.address}
		IPv4_Destination_Address ${n.peer}
		Port ${SYNC_PORT}
		Interface ${n.interface}
		SndSocketBuffer 1249280
		RcvSocketBuffer 1249280
		Checksum on
	}
}

General {
	HashLimit 524288
	LogFile ${logFile(n)}
	Syslog off
	LockFile ${lockFile(n)}
	UNIX {
		Path ${unixPath(n)}
	}
	NetlinkBufferSize 2097152
	NetlinkBufferSizeMaxGrowth 8388608
	NetlinkOverrunResync 1
	Filter From Userspace {
		Protocol Accept {
			TCP
			UDP
			ICMP
		}
		Address Ignore {
			IPv4_address ${n.address}
			IPv4_address ${n.peer}
		}
	}
}
`;
}
