/**
 * The receiver pipeline (conntrackd `sync-mode.c: channel_handler_routine`, shared/spec/
 * conntrackd.md §1.1, §1.10): walks the messages of a datagram (or reassembled stream),
 * validates sizes and version, lets the sync mode classify each one, then decodes data
 * messages and hands them to the external handler. Every malformed case is counted in
 * NetworkStats; nothing here throws on input bytes.
 */
import type { CtEventType } from '../model/conntrack.js';
import type { NetworkStats } from '../stats.js';
import { records } from '../kernel/record.js';
import { NETHDR_ACK_SIZ, NETHDR_SIZ, NET_T, NET_T_STATE_MAX, PROTOCOL_VERSION, hasRange, newHeader, readHeader } from './nethdr.js';
import type { NetHeader } from './nethdr.js';
import { parseConntrack, parseExpectation } from './parse.js';

/** What a sync mode answers for one message (`MSG_DATA`, `MSG_CTL`, `MSG_DROP`, `MSG_BAD`). */
export enum MsgResult {
  DATA = 0,
  CTL = 1,
  DROP = 2,
  BAD = 3,
}

/** The sync mode side of reception: classify (and handle control) from the header alone. */
export interface MessageReceiver {
  recv(hdr: NetHeader): MsgResult;
}

/**
 * Where decoded peer state goes: the external cache, or direct injection (decided by the
 * daemon). The entry is the record slot at `rec[o]` (kernel/record.ts), valid during the call.
 */
export interface ExternalHandler {
  conntrack(type: CtEventType, rec: Buffer, o: number): void;
  expectation(type: CtEventType, rec: Buffer, o: number): void;
}

const EVENT_OF_TYPE: readonly CtEventType[] = ['new', 'update', 'destroy', 'new', 'update', 'destroy'];

export function newNetworkStats(): NetworkStats {
  return {
    malformed: 0n,
    badVersion: 0,
    badHeader: 0,
    badPayload: 0,
    badType: 0,
    truncated: 0,
    badSize: 0,
    sendMalformed: 0,
    spoofed: 0,
  };
}

export class ReceivePipeline {
  readonly stats: NetworkStats;
  /** Called with the link index for DATA and CTL messages (the link becomes the TX link, §4.5). */
  onActive: ((link: number) => void) | undefined;
  private readonly hdr: NetHeader = newHeader();
  /** Stream channels: an incomplete trailing message kept for the next chunk. */
  private pending: Buffer | undefined;
  /** The slot each data message is decoded into. */
  private readonly slot = records().alloc(1);

  constructor(
    private readonly mode: MessageReceiver,
    private readonly handler: ExternalHandler,
    private readonly stream: boolean,
    stats: NetworkStats = newNetworkStats(),
  ) {
    this.stats = stats;
  }

  /** A ReceiveHandler for the channels. */
  receive(payload: Buffer, link = 0): void {
    let buf = payload;
    if (this.stream && this.pending !== undefined) {
      buf = Buffer.concat([this.pending, payload]);
      this.pending = undefined;
    }
    const end = buf.length;
    let off = 0;
    const h = this.hdr;
    while (off < end) {
      const remain = end - off;
      if (remain < NETHDR_SIZ) {
        this.incomplete(buf, off, 'truncated');
        return;
      }
      const len = buf.readUInt16BE(off + 2);
      if (len === 0) {
        this.malformed('badSize');
        return;
      }
      if (len > remain) {
        this.incomplete(buf, off, 'badSize');
        return;
      }
      const b0 = buf[off]!;
      if (hasRange(b0 & 0x0f, buf[off + 1]!)) {
        if (remain < NETHDR_ACK_SIZ) {
          this.incomplete(buf, off, 'truncated');
          return;
        }
        if (len < NETHDR_ACK_SIZ) {
          this.malformed('badSize');
          return;
        }
      } else if (len < NETHDR_SIZ) {
        this.malformed('badSize');
        return;
      }
      readHeader(buf, off, h);
      if (len >= NETHDR_ACK_SIZ && hasRange(h.type, h.flags)) {
        h.from = buf.readUInt32BE(off + 8);
        h.to = buf.readUInt32BE(off + 12);
      }
      this.message(buf, off, h, link);
      off += len;
    }
  }

  private message(buf: Buffer, off: number, h: NetHeader, link: number): void {
    if (h.version !== PROTOCOL_VERSION) {
      this.malformed('badVersion');
      return;
    }
    switch (this.mode.recv(h)) {
      case MsgResult.BAD:
        this.malformed('badHeader');
        return;
      case MsgResult.DROP:
        return;
      case MsgResult.CTL:
        this.onActive?.(link);
        return;
      case MsgResult.DATA:
        this.onActive?.(link);
        break;
    }
    if (h.type > NET_T_STATE_MAX) {
      this.malformed('badType');
      return;
    }
    const start = off + NETHDR_SIZ;
    const end = off + h.len;
    const event = EVENT_OF_TYPE[h.type]!;
    if (h.type <= NET_T.CT_DEL) {
      if (parseConntrack(buf, start, end, this.slot, 0)) this.handler.conntrack(event, this.slot, 0);
      else this.malformed('badPayload');
    } else if (parseExpectation(buf, start, end, this.slot, 0)) {
      this.handler.expectation(event, this.slot, 0);
    } else {
      this.malformed('badPayload');
    }
  }

  /** Datagram: count and stop. Stream: keep the tail for the next chunk. */
  private incomplete(buf: Buffer, off: number, counter: 'truncated' | 'badSize'): void {
    if (this.stream) this.pending = Buffer.from(buf.subarray(off));
    else this.malformed(counter);
  }

  private malformed(counter: 'badVersion' | 'badHeader' | 'badPayload' | 'badType' | 'truncated' | 'badSize'): void {
    this.stats[counter]++;
    this.stats.malformed++;
  }
}
