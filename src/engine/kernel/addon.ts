/**
 * Loads the ctnetlink addon (native/, built by `npm ci` through binding.gyp) and types its
 * surface. Nothing else in ctsync touches the .node file.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CtsyncError } from '../../common/errors.js';

/** Field offsets of the record slots (native/src/record.h), as the addon exports them. */
export interface RecordLayout {
  slot: number;
  head: { present: number; kind: number; event: number; port_id: number };
  tuple: Record<'family' | 'proto' | 'flags' | 'icmp_type' | 'icmp_code' | 'icmp_id' | 'sport' | 'dport' | 'src' | 'dst', number>;
  nat: Record<'addr' | 'port' | 'has_port', number>;
  ct: Record<
    | 'orig' | 'reply' | 'master' | 'status' | 'timeout' | 'mark' | 'zone' | 'tcp_state' | 'tcp_wscale_orig'
    | 'tcp_wscale_repl' | 'tcp_flags_orig' | 'tcp_flags_repl' | 'sctp_state' | 'dccp_state' | 'dccp_role'
    | 'sctp_vtag_orig' | 'sctp_vtag_repl' | 'snat' | 'dnat' | 'seqadj_orig' | 'seqadj_repl' | 'helper' | 'labels'
    | 'synproxy' | 'id' | 'use' | 'secmark' | 'counters',
    number
  >;
  exp: Record<
    'master' | 'tuple' | 'mask' | 'nat_tuple' | 'timeout' | 'flags' | 'klass' | 'nat_dir' | 'id' | 'zone' | 'helper' | 'fn',
    number
  >;
}

/** Operations of Handle.execBatch (enum class Op in native/src/socket.h). */
export const OP = { create: 0, update: 1, delete: 2, get: 3, expCreate: 4, expDelete: 5, expGet: 6 } as const;
/** BuildOpt bits (native/src/codec.h) callers may pass. */
export const BUILD_LIBERAL = 8;

/**
 * One delivery of a reader thread: records, overruns seen, or the end of the stream. The
 * records buffer is the reader's and is reused once the call returns: read it, never keep it.
 */
export type DeliveryFn = (records: Buffer | null, count: number, overruns: number, done: boolean, errno: number) => void;

export interface NativeHandle {
  portIds(): [number, number];
  execBatch(op: number, records: Buffer, count: number, opts: number, results: Int32Array, out: Buffer | null, cb: (errno: number) => void): void;
  flush(exp: boolean, cb: (errno: number) => void): void;
  count(): number;
  dump(exp: boolean, family: number, batch: number, cb: DeliveryFn): void;
  close(): void;
}

export interface NativeEventReader {
  close(): void;
  setRcvBuf(bytes: number): number;
  getRcvBuf(): number;
  portId(): number;
  reliable(): boolean;
  /** Joins (`on`) or leaves one NFNLGRP_* group; 0 or an errno. */
  listen(group: number, on: boolean): number;
}

export interface CtnetlinkAddon {
  /** `netns`: a namespace file such as /run/netns/NAME; default the caller's namespace. */
  Handle: new (netns?: string) => NativeHandle;
  EventReader: new (
    groups: number, reliable: boolean, rcvbuf: number, batch: number, cb: DeliveryFn, netns?: string,
  ) => NativeEventReader;
  layout: RecordLayout;
  /**
   * A bound UDP socket for a sync link (native/src/dgram.cc): SO_SNDBUFFORCE/SO_RCVBUFFORCE
   * (0: leave), SO_NO_CHECK when `noChecksum`. The descriptor, or -errno.
   */
  openDatagram(ipv6: boolean, address: string, port: number, scopeDevice: string, sndbuf: number, rcvbuf: number, noChecksum: boolean): number;
  /** SO_SNDBUFFORCE/SO_RCVBUFFORCE (0: leave) on a TCP link's socket; [snd, rcv] as taken (doubled), or -errno. */
  setSocketBuffers(fd: number, sndbuf: number, rcvbuf: number): [number, number] | number;
  /** The whole pages inside the view made resident now (MADV_POPULATE_WRITE): 0, or an errno. */
  populate(view: ArrayBufferView): number;
}

const ADDON_PATH = fileURLToPath(new URL('../../../build/Release/ctnetlink.node', import.meta.url));
let addon: CtnetlinkAddon | undefined;

export function loadAddon(): CtnetlinkAddon {
  if (addon) return addon;
  if (!existsSync(ADDON_PATH)) {
    throw new CtsyncError('KERNEL_ADDON_MISSING', `the ctnetlink addon is not built (${ADDON_PATH} is missing): run npm ci`);
  }
  addon = createRequire(import.meta.url)(ADDON_PATH) as CtnetlinkAddon;
  return addon;
}

export function addonAvailable(): boolean {
  return existsSync(ADDON_PATH);
}
