/**
 * How op-mode reaches the sync engine: only through its control socket (conntrackd.md §5.1),
 * by the engine's own client and service (src/engine/control/client.ts, src/engine/service.ts),
 * which ctsyncd and conntrackd both answer. This module picks the engine's config and turns
 * socket failures into one clear line each.
 */
import { existsSync } from 'node:fs';
import { CtsyncError, isCtsyncError } from '../common/errors.js';
import type { RequestCode } from '../engine/control/requests.js';
import { DEFAULT_ENGINE_CONF, EngineService } from '../engine/service.js';

export { REQUEST } from '../engine/control/requests.js';

export interface EngineClient {
  /** The daemon: endpoints, alive/start/stop (what `restart` uses). */
  readonly service: EngineService;
  /** The reply text; rejects with ENGINE_NOT_RUNNING or OPMODE_PERMISSION. */
  request(code: RequestCode): Promise<string>;
  /**
   * A structured request (codes ≥ 1000): the JSON document. conntrackd ignores these codes and
   * closes without a word, so an empty reply means the engine is not ctsyncd.
   */
  requestJson<T>(code: RequestCode): Promise<T>;
}

/** The engine's config: env CTSYNC_ENGINE_CONF, else VyOS's /run/conntrackd/conntrackd.conf. */
export function engineConf(env: NodeJS.ProcessEnv): string {
  return env.CTSYNC_ENGINE_CONF || DEFAULT_ENGINE_CONF;
}

function socketError(e: unknown, path: string): unknown {
  if (!isCtsyncError(e, 'ENGINE_NOT_RUNNING')) return e;
  const errno = (e.cause as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'EACCES' || errno === 'EPERM') {
    return new CtsyncError('OPMODE_PERMISSION', `Permission denied on the conntrack-sync control socket ${path}: run as root`, { cause: e });
  }
  return new CtsyncError('ENGINE_NOT_RUNNING', `conntrack-sync engine is not running (no answer on ${path})`, { cause: e });
}

export function engineClient(env: NodeJS.ProcessEnv): EngineClient {
  const conf = engineConf(env);
  // configd renders the file on commit and removes it on delete: no file, no engine.
  if (!existsSync(conf)) throw new CtsyncError('ENGINE_NOT_RUNNING', `conntrack-sync engine is not running (${conf} is missing)`);
  const service = EngineService.fromConf(conf, env);
  const path = service.endpoints.unixPath;
  const request = (code: RequestCode): Promise<string> => service.request(code).catch((e: unknown) => Promise.reject(socketError(e, path)));
  return {
    service,
    request,
    requestJson: async <T>(code: RequestCode): Promise<T> => {
      const reply = await request(code);
      if (reply.trim() === '') {
        throw new CtsyncError('OPMODE_UNAVAILABLE', 'Machine-readable conntrack-sync data is not available: the engine answers no structured requests');
      }
      return JSON.parse(reply) as T;
    },
  };
}
