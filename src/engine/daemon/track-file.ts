/**
 * Readiness for the HA manager (what pfsync does with CARP demotion, shared/spec/anchors.md
 * §1.2): a node whose external cache is not yet in sync must not pre-empt a healthy master.
 * keepalived reads an integer from a `track_file` and adds value × weight to the priority
 * of the instances that track it, so the engine writes 0 when ready and a negative
 * demotion while it is not (templates/keepalived.conf.hbs renders the wiring):
 *
 *   track_file ctsync_ready { file /run/ctsync/vrrp-ready }
 *   vrrp_instance VI_LAN { track_file { ctsync_ready weight 1 } ... }
 *
 * The default demotion, 253, brings any priority up to 254 down to keepalived's floor of 1
 * whatever the gap between the nodes' priorities (-254 and below would mean FAULT instead).
 * A missing file reads as 0: an engine that writes none (conntrackd) demotes nobody.
 *
 * The policy is pure; `ReadinessTracker` holds the facts the daemon reports and writes the
 * file only when the value changes.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export const DEFAULT_TRACK_FILE = '/run/ctsync/vrrp-ready';

/** The track file (env CTSYNC_TRACK_FILE, default DEFAULT_TRACK_FILE; `off`: none). */
export function trackFilePath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.CTSYNC_TRACK_FILE === 'off' ? undefined : env.CTSYNC_TRACK_FILE || DEFAULT_TRACK_FILE;
}

export interface ReadinessFacts {
  /** When the engine started (ms). */
  startedAt: number;
  /** A full resync/bulk from the peer has been received since start (or since `stale`). */
  inSync: boolean;
  /** The cache is known to have missed updates (lost messages, overrun) until a resync. */
  stale: boolean;
  /** This node is master: demoting it would only cause a fail-over to an unknown peer. */
  master: boolean;
}

export interface ReadinessPolicy {
  /** Priority penalty while not ready (written as its negative). */
  demotion: number;
  /** Give up waiting for the peer after this long since start: a lone node must win. */
  maxWaitMs: number;
}

export const DEFAULT_READINESS_POLICY: ReadinessPolicy = { demotion: 253, maxWaitMs: 60_000 };

export type ReadinessReason = 'in-sync' | 'master' | 'gave-up-waiting' | 'awaiting-resync' | 'cache-stale';

export interface Readiness {
  ready: boolean;
  /** What the track file must hold. */
  value: number;
  reason: ReadinessReason;
}

export function evaluateReadiness(f: ReadinessFacts, now: number, policy = DEFAULT_READINESS_POLICY): Readiness {
  const ready = (reason: ReadinessReason): Readiness => ({ ready: true, value: 0, reason });
  const notReady = (reason: ReadinessReason): Readiness => ({ ready: false, value: -policy.demotion, reason });
  if (f.master) return ready('master');
  if (f.inSync && !f.stale) return ready('in-sync');
  if (now - f.startedAt >= policy.maxWaitMs) return ready('gave-up-waiting');
  return notReady(f.stale ? 'cache-stale' : 'awaiting-resync');
}

export async function writeTrackFile(path: string, value: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${value}\n`);
  await rename(tmp, path);
}

/** The daemon's handle: report facts, the file follows. */
export class ReadinessTracker {
  private facts: ReadinessFacts;
  private written: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly path = DEFAULT_TRACK_FILE,
    private readonly policy = DEFAULT_READINESS_POLICY,
    private readonly now: () => number = Date.now,
  ) {
    this.facts = { startedAt: now(), inSync: false, stale: false, master: false };
  }

  get current(): Readiness {
    return evaluateReadiness(this.facts, this.now(), this.policy);
  }

  /** Write the initial value and re-evaluate once the wait limit passes. */
  async start(): Promise<Readiness> {
    const wait = this.facts.startedAt + this.policy.maxWaitMs - this.now();
    this.timer = setTimeout(() => void this.refresh().catch(() => undefined), Math.max(0, wait));
    this.timer.unref();
    return this.refresh();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** A complete resync/bulk from the peer has been applied to the external cache. */
  resyncComplete(): Promise<Readiness> {
    return this.update({ inSync: true, stale: false });
  }

  /** Updates were lost (FTFW gap not recovered, netlink overrun): in sync again after a resync. */
  cacheStale(): Promise<Readiness> {
    return this.update({ stale: true });
  }

  roleChanged(master: boolean): Promise<Readiness> {
    return this.update({ master });
  }

  private update(p: Partial<ReadinessFacts>): Promise<Readiness> {
    this.facts = { ...this.facts, ...p };
    return this.refresh();
  }

  private async refresh(): Promise<Readiness> {
    const r = this.current;
    if (r.value !== this.written) {
      await writeTrackFile(this.path, r.value);
      this.written = r.value;
    }
    return r;
  }
}
