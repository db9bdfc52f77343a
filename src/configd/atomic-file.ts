/**
 * Crash-safe file replacement: a temp file in the same directory, fsync, rename, fsync of the
 * directory. A kill -9 at any point leaves the old bytes or the new ones, never a mix.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomic(file: string, data: string, mode = 0o644): void {
  const dir = path.dirname(file);
  mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  fsyncDir(dir);
}

/** Remove a file if it exists, durably. */
export function removeFileDurable(file: string): void {
  rmSync(file, { force: true });
  try {
    fsyncDir(path.dirname(file));
  } catch {
    // The directory itself is gone: nothing left to make durable.
  }
}
