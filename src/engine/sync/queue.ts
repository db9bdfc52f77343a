/**
 * A sync queue (conntrackd `queue.c`, shared/spec/conntrackd.md §2.1): a FIFO of cache objects
 * and control messages, linked through the nodes themselves (`Queued`). Push, removal from
 * anywhere and shift are O(1) and allocate nothing: every replicated event passes through the
 * tx queue and, in FT-FW, the resend queue.
 */
import type { Queued } from '../cache/object.js';

export class NodeQueue<N extends Queued> {
  private head: N | undefined;
  private tail: N | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The oldest node. */
  first(): N | undefined {
    return this.head;
  }

  push(node: N): void {
    node.prevQueued = this.tail;
    node.nextQueued = undefined;
    if (this.tail === undefined) this.head = node;
    else this.tail.nextQueued = node;
    this.tail = node;
    this.count++;
  }

  /** Unlinks `node`, which must be in this queue. */
  remove(node: N): void {
    const prev = node.prevQueued as N | undefined;
    const next = node.nextQueued as N | undefined;
    if (prev === undefined) this.head = next;
    else prev.nextQueued = next;
    if (next === undefined) this.tail = prev;
    else next.prevQueued = prev;
    node.prevQueued = undefined;
    node.nextQueued = undefined;
    this.count--;
  }

  shift(): N | undefined {
    const node = this.head;
    if (node !== undefined) this.remove(node);
    return node;
  }

  clear(): void {
    while (this.head !== undefined) this.remove(this.head);
  }

  /** Oldest first; the current node may be removed meanwhile (not its successor). */
  *[Symbol.iterator](): IterableIterator<N> {
    for (let n = this.head; n !== undefined; ) {
      const next = n.nextQueued as N | undefined;
      yield n;
      n = next;
    }
  }
}
