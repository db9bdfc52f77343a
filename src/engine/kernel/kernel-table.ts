/**
 * The kernel conntrack table as the engine sees it (spec §7): dump, events, single and batched
 * writes, flush, expectations, and the netlink port ids of its own sockets (origin tracking,
 * spec §3.2). Two implementations: `netlink` (the real table of the current network namespace,
 * through native/) and `memory` (in-process, for the embedded demo and unit tests).
 */
import type { Conntrack, CtTuple, Expectation } from '../model/conntrack.js';

/** Identifies an entry: its orig tuple (or its reply tuple, as the kernel accepts) and zone. */
export interface CtKey {
  orig: CtTuple;
  zone?: number;
}

/** Identifies an expectation: its expected tuple and zone. */
export interface ExpKey {
  tuple: CtTuple;
  zone?: number;
}

export interface CreateOptions {
  /** TCP: set IP_CT_TCP_FLAG_BE_LIBERAL both ways, as conntrackd does for injected flows
   * unless TCPWindowTracking is on (spec §1.11). */
  liberal?: boolean;
}

/**
 * One result per item of a batch: 0, or the errno the kernel answered for that item
 * (EEXIST, ENOENT, EINVAL, ...).
 */
export type BatchResults = Int32Array;

/**
 * Entries as record slots (kernel/record.ts): slot i at `buf[i * slot]`. A delivered batch is
 * valid during the call only (the reader reuses its buffer).
 */
export interface RecordBatch {
  buf: Buffer;
  count: number;
}

export interface SubscribeOptions {
  /** Conntrack event groups (default all three). */
  events?: { new?: boolean; update?: boolean; destroy?: boolean };
  /** Also subscribe to expectation events. */
  expectations?: boolean;
  /** NetlinkEventsReliable: NETLINK_BROADCAST_ERROR + NETLINK_NO_ENOBUFS (spec §7). */
  reliable?: boolean;
  /** Receive buffer in bytes (SO_RCVBUFFORCE; the kernel doubles it). */
  rcvbuf?: number;
  /** Most events per delivered batch (default 1024). */
  batch?: number;
  /**
   * Events in arrival order, conntracks and expectations alike: each slot carries its kind,
   * event type and the requester's port id (record.ts `kind`, `event`, `portId`).
   */
  onRecords(batch: RecordBatch): void;
  /** The kernel dropped events (ENOBUFS): `count` overruns since the last batch. */
  onOverrun?(count: number): void;
  /** The subscription failed and has ended. */
  onError?(err: Error): void;
}

export interface EventSubscription {
  /** Netlink port id of the event socket. */
  readonly portId: number;
  /** Reliable delivery is in force (NetlinkEventsReliable, as the socket reports it). */
  readonly reliable: boolean;
  /** Sets the receive buffer (growth policy is the engine's); returns the size now in force. */
  setRcvBuf(bytes: number): number;
  getRcvBuf(): number;
  /**
   * Stops (false) or resumes NEW events of a subscription that takes them. While nobody
   * listens to NEW events the kernel builds none: what happens meanwhile is not told.
   */
  listenNew(on: boolean): void;
  close(): void;
}

export interface KernelTable {
  readonly kind: 'netlink' | 'memory';
  /** Port ids whose requests this table makes: events carrying one of them are our own. */
  portIds(): number[];
  count(): Promise<number>;
  /** Streams the whole table in batches; resolves when the dump is complete. */
  dump(onBatch: (entries: Conntrack[]) => void): Promise<void>;
  subscribe(opts: SubscribeOptions): EventSubscription;
  /** The entry, or undefined (ENOENT). */
  get(key: CtKey): Promise<Conntrack | undefined>;
  /** Throws KERNEL_EXISTS if the orig or reply tuple is taken. `timeout` is required. */
  create(ct: Conntrack, opts?: CreateOptions): Promise<void>;
  /** Changes status, timeout, mark, labels, protoinfo, seq-adj; throws KERNEL_NOT_FOUND. */
  update(ct: Conntrack): Promise<void>;
  delete(key: CtKey): Promise<void>;
  createBatch(cts: readonly Conntrack[], opts?: CreateOptions): Promise<BatchResults>;
  /** The same for entries already in record slots (the commit of cached entries). */
  createRecords(batch: RecordBatch, opts?: CreateOptions): Promise<BatchResults>;
  updateBatch(cts: readonly Conntrack[]): Promise<BatchResults>;
  deleteBatch(keys: readonly CtKey[]): Promise<BatchResults>;
  flush(): Promise<void>;
  /** Sets every timeout longer than `seconds` to `seconds` (conntrackd -t); returns how many. */
  shortenTimeouts(seconds: number): Promise<number>;
  dumpExpectations(onBatch: (exps: Expectation[]) => void): Promise<void>;
  getExpectation(key: ExpKey): Promise<Expectation | undefined>;
  createExpectation(exp: Expectation): Promise<void>;
  deleteExpectation(key: ExpKey): Promise<void>;
  flushExpectations(): Promise<void>;
  close(): void;
}
