/**
 * Interface state of the dedicated links (conntrackd follows rtnetlink link events through
 * libnfnetlink's nlif, shared/spec/conntrackd.md §4.5).
 *
 * ctsyncd polls sysfs on a short timer instead of running `ip -o monitor link` as a child:
 * two small reads per link per tick cost less than a process to supervise, restart and
 * parse, and a poll cannot miss a state the way a lost or misparsed event line can. The
 * price is up to one interval of latency (200 ms), far below any failover that matters.
 *
 * UP is IFF_UP of `flags`; RUNNING is what the kernel's dev_get_flags() reports, i.e.
 * netif_running() && netif_oper_up(): UP and operstate `up` or `unknown` (sysfs `flags`
 * holds dev->flags, which never carries IFF_RUNNING).
 */
import { readFileSync } from 'node:fs';
import type { LinkStatus } from '../stats.js';

export interface LinkFlags {
  up: boolean;
  running: boolean;
}

const IFF_UP = 0x1;
export const DEFAULT_POLL_MS = 200;

/** `-s link` status: RUNNING (UP+RUNNING), NO-CARRIER (UP only), DOWN (§5.4). */
export function linkStatus(f: LinkFlags): LinkStatus {
  if (f.up && f.running) return 'RUNNING';
  return f.up ? 'NO-CARRIER' : 'DOWN';
}

/** What Multichannel needs from a monitor (tests substitute a fake). */
export interface LinkStateSource {
  /** The last sampled flags of a device (a missing device is neither UP nor RUNNING). */
  flags(device: string): LinkFlags;
  /** Samples now, then calls `onChange` whenever a device's flags change. */
  start(devices: readonly string[], onChange: () => void): void;
  stop(): void;
}

export class SysfsLinkMonitor implements LinkStateSource {
  private readonly state = new Map<string, LinkFlags>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly intervalMs = DEFAULT_POLL_MS,
    private readonly sysfs = '/sys/class/net',
  ) {}

  flags(device: string): LinkFlags {
    return this.state.get(device) ?? this.read(device);
  }

  start(devices: readonly string[], onChange: () => void): void {
    this.stop();
    for (const d of devices) this.state.set(d, this.read(d));
    this.timer = setInterval(() => {
      let changed = false;
      for (const d of devices) {
        const now = this.read(d);
        const before = this.state.get(d)!;
        if (now.up !== before.up || now.running !== before.running) {
          this.state.set(d, now);
          changed = true;
        }
      }
      if (changed) onChange();
    }, this.intervalMs);
    // Monitoring alone must not keep the process alive.
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private read(device: string): LinkFlags {
    try {
      const flags = Number.parseInt(readFileSync(`${this.sysfs}/${device}/flags`, 'utf8'), 16);
      const oper = readFileSync(`${this.sysfs}/${device}/operstate`, 'utf8').trim();
      const up = (flags & IFF_UP) !== 0;
      return { up, running: up && (oper === 'up' || oper === 'unknown') };
    } catch {
      return { up: false, running: false };
    }
  }
}
