/**
 * apply (shared/spec/vyos.md §2.3): put the rendered files in place (or remove them on
 * delete), then bring the engine in line: started or restarted when its config changed or it
 * is not running (conntrackd has no reload: VyOS's reload-or-restart restarts it), stopped
 * when the service is deleted. If the engine does not come up on the new files, the old
 * files go back and the old engine is started again, so a failed commit changes nothing.
 * Once the engine is in line, so is the D-Bus watcher of the failover sync-group
 * (`ctsync vrrp-watch`): run, restarted when keepalived.conf changed, or stopped.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CtsyncError } from '../common/errors.js';
import { removeFileDurable, writeFileAtomic } from './atomic-file.js';
import { EngineService } from '../engine/service.js';
import { WatchService, type WatchTarget } from '../vrrp-hooks/watch-service.js';
import type { RenderedFiles } from './generate.js';
import { CTSYNC_BIN } from './package-paths.js';

/** Where rendered files go (env CTSYNC_RUN_DIR, CTSYNC_KEEPALIVED_DIR). */
export interface RenderPaths {
  conntrackdConf: string;
  keepalivedConf: string;
}

export function renderPaths(env: NodeJS.ProcessEnv = process.env): RenderPaths {
  return {
    conntrackdConf: path.join(env.CTSYNC_RUN_DIR ?? '/run/conntrackd', 'conntrackd.conf'),
    keepalivedConf: path.join(env.CTSYNC_KEEPALIVED_DIR ?? '/run/keepalived', 'keepalived.conf'),
  };
}

/** The sync daemon as a commit drives it (src/engine/service.ts implements it for ctsyncd). */
export interface Engine {
  alive(): Promise<boolean>;
  /** Start it and wait until it answers; false if it did not come up. */
  start(log: (line: string) => void): Promise<boolean>;
  stop(): Promise<void>;
}

/** The engine a config file names (its control socket and lock file are read from it). */
export type EngineAt = (confFile: string) => Engine;

const FILES_ONLY: Engine = { alive: async () => true, start: async () => true, stop: async () => undefined };

/** ctsyncd, or CTSYNC_ENGINE_CMD; `none` keeps a commit to its files (something else runs the engine). */
export function engineFor(env: NodeJS.ProcessEnv = process.env): EngineAt {
  return env.CTSYNC_ENGINE_CMD === 'none' ? () => FILES_ONLY : (conf) => EngineService.fromConf(conf, env);
}

/** The D-Bus watcher as a commit drives it (src/vrrp-hooks/watch-service.ts). */
export interface Watcher {
  /** Run it for `target` (restarted if `restart`), or stop it (no target). */
  ensure(target: WatchTarget | undefined, restart: boolean): Promise<void>;
}

/** What a commit does about the watcher. */
export interface WatchPlan {
  watcher: Watcher;
  target: WatchTarget | undefined;
}

export const NO_WATCHER: Watcher = { ensure: async () => undefined };

/**
 * The watcher a commit runs: this package's `ctsync vrrp-watch`, with the commit's
 * environment. CTSYNC_VRRP_WATCH=off: none (one still running is stopped); with
 * CTSYNC_ENGINE_CMD=none something else runs the services, the watcher included.
 */
export function watcherFor(env: NodeJS.ProcessEnv = process.env): Watcher {
  if (env.CTSYNC_ENGINE_CMD === 'none') return NO_WATCHER;
  const service = new WatchService({ command: [process.execPath, CTSYNC_BIN], env });
  return env.CTSYNC_VRRP_WATCH === 'off' ? { ensure: () => service.ensure(undefined, false) } : service;
}

function read(file: string): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

function place(file: string, content: string | undefined): void {
  if (content === undefined) removeFileDurable(file);
  else writeFileAtomic(file, content);
}

export async function apply(
  files: RenderedFiles,
  paths: RenderPaths,
  engineAt: EngineAt,
  log: (line: string) => void,
  watch: WatchPlan = { watcher: NO_WATCHER, target: undefined },
): Promise<void> {
  const conf = paths.conntrackdConf;
  const old = { conntrackd: read(conf), keepalived: read(paths.keepalivedConf) };
  // The watcher only speeds transitions up (keepalived's notify lines run them too): a watcher
  // that cannot run is a warning, not a failed commit.
  const watcherInLine = () =>
    watch.watcher.ensure(watch.target, files.keepalived !== old.keepalived).catch((e: Error) => log(`WARNING: vrrp-watch: ${e.message}`));
  // The old file names the socket the running daemon answers on: bind to it before replacing it.
  const running = old.conntrackd === undefined ? undefined : engineAt(conf);
  if (files.conntrackd === old.conntrackd && (await running?.alive())) {
    place(paths.keepalivedConf, files.keepalived);
    return watcherInLine();
  }
  await running?.stop();
  place(paths.keepalivedConf, files.keepalived);
  place(conf, files.conntrackd);
  if (files.conntrackd === undefined || (await engineAt(conf).start(log))) return watcherInLine();
  place(paths.keepalivedConf, old.keepalived);
  place(conf, old.conntrackd);
  if (old.conntrackd !== undefined) await engineAt(conf).start(log);
  throw new CtsyncError('CONFIG_APPLY_FAILED', `conntrack-sync engine did not start with the new configuration (${conf}): commit aborted`);
}
