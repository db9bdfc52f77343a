/**
 * The sync queues of internal-cache entries (conntrackd `queue.c`, shared/spec/conntrackd.md
 * §2.1): FIFOs of slot numbers, linked through typed columns indexed by slot. Push, removal from
 * anywhere and shift are O(1) and allocate nothing: every replicated event passes through the
 * tx queue and, in FT-FW, the resend queue. An entry is in one queue at a time, so a mode's
 * queues share one set of links, which also says which queue holds an entry.
 */
import { NONE, fit } from '../cache/store.js';

/** Which queue holds each slot (0: none), and its neighbours there. */
export class QueueLinks {
  private held = new Uint8Array(0);
  prev = new Int32Array(0);
  next = new Int32Array(0);

  /** The id of the queue holding `e`, 0 when none does. */
  queueOf(e: number): number {
    return e < this.held.length ? this.held[e]! : 0;
  }

  /** Room for slot `e`, and `e` marked as held by queue `id`. */
  hold(e: number, id: number): void {
    if (e >= this.held.length) {
      this.held = fit(this.held, e + 1);
      this.prev = fit(this.prev, e + 1);
      this.next = fit(this.next, e + 1);
    }
    this.held[e] = id;
  }
}

export class SlotQueue {
  private head = NONE;
  private tail = NONE;
  private count = 0;

  constructor(
    private readonly links: QueueLinks,
    /** This queue's id in `links` (non-zero). */
    readonly id: number,
  ) {}

  get size(): number {
    return this.count;
  }

  /** The oldest entry, NONE when empty. */
  first(): number {
    return this.head;
  }

  /** The entry after `e` (which must be in this queue), NONE at the end. */
  after(e: number): number {
    return this.links.next[e]!;
  }

  push(e: number): void {
    const L = this.links;
    L.hold(e, this.id);
    L.prev[e] = this.tail;
    L.next[e] = NONE;
    if (this.tail === NONE) this.head = e;
    else L.next[this.tail] = e;
    this.tail = e;
    this.count++;
  }

  /** Unlinks `e`, which must be in this queue. */
  remove(e: number): void {
    const L = this.links;
    const prev = L.prev[e]!;
    const next = L.next[e]!;
    if (prev === NONE) this.head = next;
    else L.next[prev] = next;
    if (next === NONE) this.tail = prev;
    else L.prev[next] = prev;
    L.hold(e, 0);
    this.count--;
  }

  /** The oldest entry, out of the queue; NONE when empty. */
  shift(): number {
    const e = this.head;
    if (e !== NONE) this.remove(e);
    return e;
  }
}
