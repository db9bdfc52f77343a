/**
 * One transition per event, whoever reports it, in the order keepalived made them. keepalived
 * calls the notify script and, 1-15 ms earlier, signals on D-Bus (lab REPORT §5); with both
 * wired, the second caller for the same state must do nothing. Callers serialise on a lock
 * file (O_EXCL, holding the owner's pid so a crashed owner's lock is taken over) and consult a
 * record of the last transition and when it was reported:
 * - the same state again within `windowMs` is a duplicate;
 * - a report older than the last one handled is stale: a notify hook that keepalived forked
 *   for BACKUP but that reaches the lock only after the watcher has handled the MASTER that
 *   followed must not purge the new master's timers (nor make the next MASTER run twice).
 */
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CtsyncError } from '../common/errors.js';
import { createPidLock, pidLockOwner, processAlive } from '../common/pid-lock.js';
import type { HookState } from './group-state.js';

export const DEFAULT_LOCK_DIR = '/run/ctsync';

export interface TransitionLockOptions {
  /** Where the lock and record live; default env CTSYNC_LOCK_DIR or /run/ctsync. */
  dir?: string;
  /** Same state again within this window is a duplicate (default 10 s). */
  windowMs?: number;
  /** How long to wait for a running transition (default 60 s). */
  waitMs?: number;
  now?: () => number;
  /** When keepalived made the transition (ms since the epoch; default now). */
  reportedAt?: number;
  /**
   * The last transition's state stands however old it is: a watcher that (re)starts finds
   * keepalived where the last transition left it, and has nothing to redo.
   */
  resuming?: boolean;
}

interface LastTransition {
  state: HookState;
  /** When it was reported. */
  at: number;
  pid: number;
}

export type Once<T> = { ran: true; value: T } | { ran: false; last: LastTransition; stale: boolean };

async function acquire(lock: string, waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  while (!createPidLock(lock)) {
    const owner = pidLockOwner(lock);
    // No pid yet is an owner between open and write: wait, do not steal.
    if (owner !== undefined && !processAlive(owner)) {
      await unlink(lock).catch(() => undefined);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new CtsyncError('HOOK_BUSY', `another transition is still running (lock ${lock}, pid ${owner})`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function writeRecord(path: string, r: LastTransition): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(r));
  await rename(tmp, path);
}

export function transitionPaths(group: string, dir: string): { lock: string; record: string } {
  const safe = group.replace(/[^\w.-]/g, '_');
  return { lock: join(dir, `vrrp-${safe}.lock`), record: join(dir, `vrrp-${safe}.last`) };
}

/** Run `fn` for (group, state) unless the same transition just ran or is running. */
export async function runOnce<T>(group: string, state: HookState, fn: () => Promise<T>, opts: TransitionLockOptions = {}): Promise<Once<T>> {
  const dir = opts.dir ?? (process.env.CTSYNC_LOCK_DIR || DEFAULT_LOCK_DIR);
  const now = opts.now ?? Date.now;
  const { lock, record } = transitionPaths(group, dir);
  await mkdir(dir, { recursive: true });
  await acquire(lock, opts.waitMs ?? 60_000);
  try {
    const last = await readFile(record, 'utf8').then((t) => JSON.parse(t) as LastTransition, () => undefined);
    const at = opts.reportedAt ?? now();
    if (last && at < last.at) return { ran: false, last, stale: last.state !== state };
    if (last && last.state === state && (opts.resuming || at - last.at < (opts.windowMs ?? 10_000))) return { ran: false, last, stale: false };
    await writeRecord(record, { state, at, pid: process.pid });
    try {
      return { ran: true, value: await fn() };
    } catch (e) {
      // A refused or failed transition was not done: the next reporter must try again.
      await (last ? writeRecord(record, last) : unlink(record));
      throw e;
    }
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}
