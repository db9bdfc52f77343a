/**
 * What the hooks need from the engine: conntrackd's control-socket protocol
 * (shared/spec/conntrackd.md §5.1): connect, send one native-endian int, read text until the
 * server closes. ctsyncd and conntrackd both speak it, so the hooks drive either.
 *
 * The engine's own client (src/engine/control/) is being written alongside; `EngineControl`
 * is the seam: swap `unixEngineControl` for it once it lands, nothing else changes.
 */
import { connect } from 'node:net';
import { endianness } from 'node:os';
import { CtsyncError } from '../common/errors.js';

/** The request codes the hooks send (include/conntrackd.h; conntrackd.md §5.2, §3.4). */
export const REQUEST = {
  SEND_BULK: 22,
  REQUEST_DUMP: 23,
  STATS: 21,
  RESET_TIMERS: 26,
  ALL_RESYNC_MASTER: 44,
  ALL_FLUSH_CACHE: 45,
  ALL_COMMIT: 46,
} as const;

export type RequestCode = (typeof REQUEST)[keyof typeof REQUEST];

export interface EngineControl {
  /** Resolves with the reply text; rejects when the socket cannot be reached. */
  request(code: RequestCode): Promise<string>;
}

/**
 * A client on the engine's UNIX socket. `timeoutMs` bounds one request; commit replies only
 * when the whole commit is done (§3.3), so the default is generous.
 */
export function unixEngineControl(path: string, timeoutMs = 300_000): EngineControl {
  return {
    request: (code) =>
      new Promise<string>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const sock = connect(path);
        sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`no reply within ${timeoutMs} ms`)));
        sock.on('connect', () => {
          const req = Buffer.alloc(4);
          if (endianness() === 'LE') req.writeInt32LE(code);
          else req.writeInt32BE(code);
          sock.write(req);
        });
        sock.on('data', (c: Buffer) => chunks.push(c));
        sock.on('error', (e) =>
          reject(new CtsyncError('ENGINE_NOT_RUNNING', `can't connect to ${path}: ${e.message}`, { cause: e })),
        );
        sock.on('close', (hadError) => {
          if (!hadError) resolve(Buffer.concat(chunks).toString('utf8'));
        });
      }),
  };
}

/** Where the engine keeps its control socket and lock file, read from its conntrackd.conf. */
export interface EngineEndpoints {
  unixPath: string;
  lockFile: string;
}

/** conntrackd's built-in lock file (conntrackd.md §5.3). */
const DEFAULT_LOCK_FILE = '/var/lock/conntrackd.lock';

/**
 * Only the two General options the hooks need (`UNIX { Path }`, `LockFile`); the full parser
 * lives in src/engine/config/.
 */
export function engineEndpoints(confText: string): EngineEndpoints {
  const text = confText.replace(/#[^\n]*/g, '');
  const unix = /\bUNIX\s*\{[^}]*?\bPath\s+(\S+)/i.exec(text);
  if (!unix) throw new CtsyncError('ENGINE_CONFIG_INVALID', 'conntrackd.conf has no UNIX { Path } for the control socket');
  const lock = /\bLockFile\s+(\S+)/i.exec(text);
  return { unixPath: unix[1], lockFile: lock?.[1] ?? DEFAULT_LOCK_FILE };
}
