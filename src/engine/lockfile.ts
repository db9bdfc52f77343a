/**
 * The daemon's lock file (conntrackd main.c, shared/spec/conntrackd.md §5.3): created with
 * O_CREAT|O_EXCL at start, removed at clean shutdown; an existing file means another daemon
 * may run, and start-up stops with conntrackd's sentence.
 */
import { closeSync, constants, openSync, unlinkSync } from 'node:fs';
import { CtsyncError } from '../common/errors.js';

export function acquireLock(path: string): void {
  try {
    closeSync(openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_TRUNC | constants.O_WRONLY, 0o600));
  } catch (e) {
    throw new CtsyncError('ENGINE_LOCKED', `lockfile \`${path}' exists, perhaps conntrackd already running?`, { cause: e });
  }
}

export function releaseLock(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already removed.
  }
}
