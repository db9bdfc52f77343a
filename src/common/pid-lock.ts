/**
 * Lock files that name their holder: created O_EXCL with the owner's pid, so a lock whose
 * owner died (kill -9) can be recognised as stale and taken over. Used by the commit lock
 * (configd) and the transition lock (vrrp-hooks).
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';

/** Creates `file` holding our pid; false if it exists already. */
export function createPidLock(file: string): boolean {
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

/** The pid a lock file names, or undefined (gone, empty: its owner is between open and write). */
export function pidLockOwner(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** kill(pid, 0): EPERM still means the process exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
