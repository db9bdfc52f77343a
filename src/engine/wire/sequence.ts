/**
 * Sequence numbers (shared/spec/conntrackd.md §1.9): one 32-bit counter per daemon for every
 * message sent, and the receiver-side tracking that feeds "sequence tracking statistics".
 */
import type { SequenceStats } from '../stats.js';
import { after } from './nethdr.js';

/** Sender counter: seeded with time(NULL) at the first message, bumped for every message. */
export class SeqCounter {
  private seq = 0;
  private seeded = false;

  /** `now` returns epoch seconds (injectable for tests). */
  constructor(private readonly now: () => number = () => Math.floor(Date.now() / 1000)) {}

  next(): number {
    if (!this.seeded) {
      this.seq = this.now() >>> 0;
      this.seeded = true;
      return this.seq;
    }
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }
}

export enum SeqTrack {
  UNSET = 0,
  IN_SYNC = 1,
  AFTER = 2,
  BEFORE = 3,
}

/**
 * Receiver side (`nethdr_track_seq`). Tracking starts with the first message the mode
 * accepts (`accept`, conntrackd's `nethdr_track_update_seq`); until then every seq is UNSET.
 */
export class SequenceTracker {
  readonly stats: SequenceStats = { lost: 0n, before: 0n };
  lastSeqRecv = 0;
  private seen = false;

  track(seq: number): SeqTrack {
    if (!this.seen) return SeqTrack.UNSET;
    const expected = (this.lastSeqRecv + 1) >>> 0;
    if (seq === expected) return SeqTrack.IN_SYNC;
    if (after(seq, expected)) {
      // quirk: conntrackd adds seq - last + 1, over-counting the gap by 2 (§1.9)
      this.stats.lost += BigInt((seq - this.lastSeqRecv + 1) >>> 0);
      return SeqTrack.AFTER;
    }
    this.stats.before += 1n;
    return SeqTrack.BEFORE;
  }

  /** The seq the next in-order message will carry. */
  get expected(): number {
    return (this.lastSeqRecv + 1) >>> 0;
  }

  /** True once a message was accepted (FT-FW's ALIVE timer only ACKs after that). */
  get started(): boolean {
    return this.seen;
  }

  /** Records `seq` as the last received one (done by the mode for DATA/CTL results). */
  accept(seq: number): void {
    this.seen = true;
    this.lastSeqRecv = seq >>> 0;
  }
}
