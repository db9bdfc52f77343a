/**
 * The commit lock: one file in the state dir, created O_EXCL with the holder's pid. A lock
 * whose pid is dead (kill(pid, 0) → ESRCH, e.g. after kill -9) is stale and taken over.
 * While held by a live process: CONFIG_COMMIT_LOCKED "Commit already in progress"
 * (VyOS's CommitInProgress, shared/spec/vyos.md §4.2).
 */
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CtsyncError } from '../common/errors.js';
import { createPidLock, pidLockOwner, processAlive } from '../common/pid-lock.js';

export const LOCK_FILE = 'commit.lock';
export const COMMIT_LOCKED_MESSAGE = 'Commit already in progress';

/** Take the state dir's lock; returns its release. */
function acquire(stateDir: string): () => void {
  mkdirSync(stateDir, { recursive: true });
  const file = path.join(stateDir, LOCK_FILE);
  if (!createPidLock(file)) {
    const pid = pidLockOwner(file);
    // A lock without a live owner (killed holder, or torn write) is taken over once.
    if (pid !== undefined && processAlive(pid)) throw new CtsyncError('CONFIG_COMMIT_LOCKED', COMMIT_LOCKED_MESSAGE);
    rmSync(file, { force: true });
    if (!createPidLock(file)) throw new CtsyncError('CONFIG_COMMIT_LOCKED', COMMIT_LOCKED_MESSAGE);
  }
  return () => rmSync(file, { force: true });
}

/** Run `fn` holding the state dir's lock. */
export function withCommitLock<T>(stateDir: string, fn: () => T): T {
  const release = acquire(stateDir);
  try {
    return fn();
  } finally {
    release();
  }
}

/** Run `fn` holding the state dir's lock until its promise settles (a commit drives the engine). */
export async function withCommitLockAsync<T>(stateDir: string, fn: () => Promise<T>): Promise<T> {
  const release = acquire(stateDir);
  try {
    return await fn();
  } finally {
    release();
  }
}
