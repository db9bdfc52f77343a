/**
 * `monitor conntrack table`: the kernel's conntrack events, one line each as `conntrack -E`
 * prints them (`    [NEW] tcp      6 120 SYN_SENT src=… ` — the type right-aligned in 9
 * columns, then nfct_snprintf's default line with the event's timeout), until interrupted.
 * `--json`: one `MonitorEvent` object per line (schema/opmode/monitor-event.schema.json).
 */
import { formatConntrackLine } from '../engine/control/format.js';
import type { Conntrack, CtEvent, CtEventType } from '../engine/model/conntrack.js';
import { records } from '../engine/kernel/record.js';
import { tableEntry, type TableEntry } from './conntrack-table.js';
import type { OpmodeContext, OpmodeOptions } from './context.js';

export interface MonitorEvent extends TableEntry {
  event: CtEventType;
  /** Netlink port id of the process that caused the event; 0 for the kernel (traffic, timeouts). */
  portid: number;
}

const EVENT_TAG: Record<CtEventType, string> = { new: '[NEW]', update: '[UPDATE]', destroy: '[DESTROY]' };

/**
 * The cache-dump line is the same nfct_snprintf text without the timeout; an event's timeout
 * (absent on DESTROY) goes right after the `%-8s %u` protocol pair (conntrackd.md §5.5).
 */
export function formatEventLine(ev: { type: CtEventType; ct: Conntrack; portId: number }): string {
  const line = formatConntrackLine(ev.ct).trimEnd();
  const protoEnd = line.indexOf(' ', 9);
  const body = ev.ct.timeout === undefined ? line : `${line.slice(0, protoEnd)} ${ev.ct.timeout}${line.slice(protoEnd)}`;
  // conntrack -E marks events a process caused (netlink port id ≠ 0, i.e. not the kernel).
  const origin = ev.portId !== 0 ? ` [USERSPACE] portid=${ev.portId}` : '';
  return `${EVENT_TAG[ev.type].padStart(9)} ${body}${origin}`;
}

export function monitorEvent(ev: CtEvent): MonitorEvent {
  return { event: ev.type, portid: ev.portId, ...tableEntry(ev.ct) };
}

/** Streams events to `ctx.out` until interrupted; resolves with the number of events shown. */
export async function monitorConntrackTable(ctx: OpmodeContext, opts: OpmodeOptions): Promise<number> {
  const kernel = await ctx.kernel();
  let shown = 0;
  let failure: Error | undefined;
  const stop = ctx.interrupted();
  const failed = new Promise<void>((resolve) => {
    const sub = kernel.subscribe({
      onRecords: ({ buf, count }) => {
        const events = records().events(buf, count).cts;
        for (const ev of events) ctx.out(opts.json ? JSON.stringify(monitorEvent(ev)) : formatEventLine(ev));
        shown += events.length;
      },
      onOverrun: (count) => ctx.warn(`WARNING: ${count} event(s) lost: the kernel's event buffer overran`),
      onError: (err) => {
        failure = err;
        resolve();
      },
    });
    void stop.then(() => sub.close());
  });
  try {
    await Promise.race([stop, failed]);
  } finally {
    kernel.close();
  }
  if (failure) throw failure;
  return shown;
}
