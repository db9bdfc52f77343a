/** errno answers of the kernel (or of the memory table, which mimics them) as CtsyncErrors. */
import { constants } from 'node:os';
import { CtsyncError } from '../../common/errors.js';

export const ERRNO = constants.errno;

export function kernelError(errno: number, what: string): CtsyncError {
  const name = errnoName(errno);
  switch (errno) {
    case ERRNO.EEXIST:
      return new CtsyncError('KERNEL_EXISTS', `${what}: the entry already exists (EEXIST)`);
    case ERRNO.ENOENT:
      return new CtsyncError('KERNEL_NOT_FOUND', `${what}: the entry does not exist (ENOENT)`);
    case ERRNO.EPERM:
    case ERRNO.EACCES:
      return new CtsyncError('KERNEL_PERMISSION', `${what}: the kernel table needs root or CAP_NET_ADMIN (${name})`);
    default:
      return new CtsyncError('KERNEL_IO', `${what}: ${name}`);
  }
}

export function errnoName(errno: number): string {
  for (const [name, value] of Object.entries(ERRNO)) if (value === errno) return name;
  return `errno ${errno}`;
}
