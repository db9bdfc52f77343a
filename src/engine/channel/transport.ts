/**
 * The boundary between the sync modes (which build and read messages) and the channels
 * (which move bytes over UDP, multicast or TCP links). The sync side never sees a socket;
 * the channel side never parses a message (shared/STYLE.md: the codec knows nothing of
 * sockets).
 */

/** What a sync mode sends through: the active dedicated link of a Multichannel. */
export interface Transport {
  /**
   * Payload bytes one datagram (or TCP write) may carry on the current link: a message is
   * appended only while `buffered + len < payloadLimit` (conntrackd's strict test, spec §1.1),
   * with payloadLimit = MTU − 28 for UDP/multicast and MTU − 40 for TCP.
   */
  readonly payloadLimit: number;
  /** True when the links are TCP: received chunks must be reassembled into messages. */
  readonly stream: boolean;
  /** Send one datagram (or one stream write). Errors are counted by the channel, never thrown. */
  send(payload: Buffer): void;
}

/** Called by the channels for every received datagram or stream chunk, with the link index. */
export type ReceiveHandler = (payload: Buffer, link: number) => void;
