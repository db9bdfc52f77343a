/**
 * The one error catalogue of ctsync. Every error a user can see has a stable code and the
 * sentence printed for it; CLIs print `message` (never a stack) and exit non-zero.
 *
 * Add a code here when a module needs a new kind of error; keep codes stable once released.
 */
export const ERROR_CODES = {
  // configd
  CONFIG_INVALID_VALUE: 'a value failed the schema or a validator',
  CONFIG_INVALID_PATH: 'a path names no node of the config tree',
  CONFIG_VERIFY_FAILED: 'the candidate failed a semantic (verify) rule',
  CONFIG_COMMIT_LOCKED: 'another commit holds the lock',
  CONFIG_LOAD_FAILED: 'a config file could not be read or parsed',
  CONFIG_STATE_CORRUPT: 'a stored config file is not valid',
  CONFIG_APPLY_FAILED: 'the engine did not start on the rendered configuration',
  // native / kernel
  KERNEL_PERMISSION: 'the kernel table needs root or CAP_NET_ADMIN',
  KERNEL_ADDON_MISSING: 'the ctnetlink addon is not built',
  KERNEL_EXISTS: 'the entry already exists (EEXIST)',
  KERNEL_NOT_FOUND: 'the entry does not exist (ENOENT)',
  KERNEL_IO: 'a netlink operation failed',
  // engine
  ENGINE_CONFIG_SYNTAX: 'conntrackd.conf does not parse',
  ENGINE_CONFIG_INVALID: 'conntrackd.conf parses but is not usable',
  ENGINE_LOCKED: 'the lock file exists, another daemon may be running',
  ENGINE_NOT_RUNNING: 'the control socket does not answer',
  ENGINE_CHANNEL: 'a sync link could not be opened',
  // opmode
  OPMODE_UNCONFIGURED: 'the subsystem is not configured',
  OPMODE_UNKNOWN_COMMAND: 'the words do not name an op-mode command',
  OPMODE_PERMISSION: 'permission denied',
  OPMODE_UNAVAILABLE: 'data is not available (yet)',
  OPMODE_ABORTED: 'the operator declined a confirmation',
  OPMODE_ACTION_FAILED: 'a step of a reset or restart failed',
  // vrrp-hooks
  HOOK_USAGE: 'unknown transition or missing argument',
  HOOK_ENGINE_DOWN: 'the engine is down and cannot be started',
  HOOK_BUSY: 'another transition of the sync-group is still running',
  // demo
  DEMO_USAGE: 'a demo option is not valid',
  DEMO_STEP_FAILED: 'a step of the demo failed or did not finish in time',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class CtsyncError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CtsyncError';
    this.code = code;
  }
}

export function isCtsyncError(e: unknown, code?: ErrorCode): e is CtsyncError {
  return e instanceof CtsyncError && (code === undefined || e.code === code);
}
