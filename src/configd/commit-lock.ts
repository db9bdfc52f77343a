/**
 * The commit lock: one file in the state dir, created O_EXCL with the holder's pid. A lock
 * whose pid is dead (kill(pid, 0) → ESRCH, e.g. after kill -9) is stale and taken over.
 * While held by a live process: CONFIG_COMMIT_LOCKED "Commit already in progress"
 * (VyOS's CommitInProgress, shared/spec/vyos.md §4.2).
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { CtsyncError } from '../common/errors.js';

export const LOCK_FILE = 'commit.lock';
export const COMMIT_LOCKED_MESSAGE = 'Commit already in progress';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryCreate(file: string): boolean {
  try {
    const fd = openSync(file, 'wx', 0o644);
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
}

function holder(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isFinite(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Run `fn` holding the state dir's lock. */
export function withCommitLock<T>(stateDir: string, fn: () => T): T {
  mkdirSync(stateDir, { recursive: true });
  const file = path.join(stateDir, LOCK_FILE);
  if (!tryCreate(file)) {
    const pid = holder(file);
    // A lock without a live owner (killed holder, or torn write) is taken over once.
    if (pid !== undefined && alive(pid)) throw new CtsyncError('CONFIG_COMMIT_LOCKED', COMMIT_LOCKED_MESSAGE);
    rmSync(file, { force: true });
    if (!tryCreate(file)) throw new CtsyncError('CONFIG_COMMIT_LOCKED', COMMIT_LOCKED_MESSAGE);
  }
  try {
    return fn();
  } finally {
    rmSync(file, { force: true });
  }
}
