/**
 * conntrackd's "errorq" (shared/spec/conntrackd.md §4.4, §5.4 `-s queue`): payloads a TCP
 * link could not send, retried in order before newer data. Bounded by `ErrorQueueLength`;
 * when full the oldest payload is dropped and counted as "not enough space".
 */
import type { QueueStats } from '../stats.js';

export class ErrorQueue {
  private readonly items: Buffer[] = [];
  private noSpace = 0;

  constructor(readonly max: number) {}

  get length(): number {
    return this.items.length;
  }

  push(payload: Buffer): void {
    if (this.max <= 0) {
      this.noSpace++;
      return;
    }
    if (this.items.length >= this.max) {
      this.items.shift();
      this.noSpace++;
    }
    this.items.push(payload);
  }

  /** Hands queued payloads to `send` oldest first while it accepts them; returns true when empty. */
  drain(send: (payload: Buffer) => boolean): boolean {
    while (this.items.length > 0) {
      if (!send(this.items[0]!)) return false;
      this.items.shift();
    }
    return true;
  }

  stats(): QueueStats {
    return { name: 'errorq', current: this.items.length, max: this.max, noSpace: this.noSpace };
  }
}
