/**
 * Time and timers for the caches and the sync modes, injectable so tests run on a fake clock
 * (every timer of conntrackd's modes: ALIVE/ACK 1 s, ALARM refresh, external cache expiry).
 */

export type TimerHandle = { readonly __timer: unique symbol } | object;

export interface Scheduler {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /** Runs `fn` after the current event-loop turn (conntrackd's eventfd-driven tx queue run). */
  soon(fn: () => void): void;
}

/** The real scheduler on Node's timers. */
export const systemScheduler: Scheduler = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
  soon: (fn) => {
    setImmediate(fn);
  },
};

/** Seconds (conntrackd's cached `time()` resolution) of a Scheduler's clock. */
export function seconds(s: Pick<Scheduler, 'now'>): number {
  return Math.floor(s.now() / 1000);
}
