/**
 * Datagram batching (conntrackd `channel.c`, shared/spec/conntrackd.md §1.1): messages are
 * appended while `buffered + len < payloadLimit` (strict), otherwise the batch is sent first;
 * the sync mode flushes at the end of each transmit run.
 */
import type { Transport } from '../channel/transport.js';

export class DatagramBatcher {
  private buf: Buffer;
  private used = 0;

  constructor(private readonly transport: Transport) {
    this.buf = Buffer.allocUnsafe(Math.max(transport.payloadLimit, 1));
  }

  /** Bytes waiting in the current batch. */
  get buffered(): number {
    return this.used;
  }

  /** Appends `src[0, len)`; sends the pending batch first when the message would not fit. */
  append(src: Buffer, len: number): void {
    const limit = this.transport.payloadLimit;
    if (this.buf.length < limit) this.buf = Buffer.allocUnsafe(limit);
    if (this.used > 0 && this.used + len >= limit) this.flush();
    // conntrackd would loop forever on a message >= the limit (§1.1 quirk): send it alone.
    if (this.buf.length < len) this.buf = Buffer.allocUnsafe(len);
    src.copy(this.buf, this.used, 0, len);
    this.used += len;
  }

  /** Sends the pending batch as one datagram (a fresh Buffer: the channel may keep it). */
  flush(): void {
    if (this.used === 0) return;
    const out = Buffer.allocUnsafe(this.used);
    this.buf.copy(out, 0, 0, this.used);
    this.used = 0;
    this.transport.send(out);
  }

  /** Drops the pending batch (link change or shutdown). */
  clear(): void {
    this.used = 0;
  }
}
