/**
 * Typed counters of the engine, one interface per block that `conntrackd -s …` prints
 * (shared/spec/conntrackd.md §5.4). The modules that count own an instance; the control
 * module formats them in one place (text for conntrackd's client, JSON for op-mode).
 * Field names follow what conntrackd prints.
 */

/** `-s cache` per cache, and the `cache internal:` / `cache external:` blocks of `-s`. */
export interface CacheStats {
  /** Objects not DEAD ("active objects", "current active connections"). */
  active: number;
  /** Objects in the table including DEAD ones waiting for an ACK ("active/total entries"). */
  total: number;
  createdOk: number;
  createdFailed: number;
  noMemory: number;
  noSpace: number;
  updatedOk: number;
  updatedFailed: number;
  updateNotFound: number;
  deletedOk: number;
  deletedFailed: number;
  deleteNotFound: number;
}

/** `internal bypass:` (DisableInternalCache) and `external inject:` (DisableExternalCache). */
export interface BypassStats {
  created: number;
  createdFailed: number;
  updated: number;
  updatedFailed: number;
  destroyed: number;
  destroyedFailed: number;
}

/** `traffic processed:`: orig+reply counters of destroyed flows. */
export interface TrafficStats {
  bytes: bigint;
  packets: bigint;
}

/** Receiver validation counters (`-s network`, spec §1.10). */
export interface NetworkStats {
  /** Aggregate of every malformed case below ("Malformed messages"). */
  malformed: bigint;
  badVersion: number;
  badHeader: number;
  badPayload: number;
  badType: number;
  truncated: number;
  badSize: number;
  /** Messages the sender could not build ("send: Malformed messages"). */
  sendMalformed: number;
  /** Datagrams from an unexpected source address or interface (ctsync addition, JSON only). */
  spoofed: number;
}

/** `sequence tracking statistics:` (spec §1.9). */
export interface SequenceStats {
  lost: bigint;
  before: bigint;
}

export type LinkKind = 'multicast' | 'UDP' | 'TCP';
export type LinkStatus = 'RUNNING' | 'NO-CARRIER' | 'DOWN';

/** One dedicated link (`-s link`, and the current-link block of `-s`). */
export interface LinkStats {
  kind: LinkKind;
  device: string;
  status: LinkStatus;
  active: boolean;
  bytesSent: bigint;
  bytesRecv: bigint;
  packetsSent: bigint;
  packetsRecv: bigint;
  errorSend: bigint;
  errorRecv: bigint;
  /** TCP only: `server=connected|disconnected client=connected|disconnected`. */
  tcpServerConnected?: boolean;
  tcpClientConnected?: boolean;
  /**
   * ctsync addition (JSON only, conntrackd prints nothing for it): datagrams from a source
   * that is not the configured peer (UDP) or not on the link's subnets (multicast), and TCP
   * connections from another address, dropped by this link. NetworkStats.spoofed is the sum.
   */
  spoofed?: number;
}

/** `-s runtime`. */
export interface RuntimeStats {
  startedAt: number;
  eventsReceived: bigint;
  eventsFiltered: bigint;
  eventsUnknownType: number;
  catchEventFailed: number;
  dumpUnknownType: number;
  netlinkOverrun: number;
  flushKernelTable: number;
  resyncWithKernel: number;
  netlinkBufferSize: number;
  childFailed: number;
  childSegfault: number;
  childTermsig: number;
  selectFailed: number;
  waitFailed: number;
  localReadFailed: number;
  localUnknownRequest: number;
}

/** `-s queue`: one per queue (txqueue, errorq, rsqueue). */
export interface QueueStats {
  name: string;
  current: number;
  max: number;
  noSpace: number;
}

/** `-s rsqueue` (FT-FW): the resend queue in order. */
export type RsQueueEntry = { kind: 'control'; seq: number; flags: number } | { kind: 'object'; seq: number };
