/**
 * apply (shared/spec/vyos.md §2.3): put the rendered files in place (or remove them on
 * delete), then tell the engine. Files first, engine second, as VyOS does; the engine step
 * is one interface so the engine issue plugs start/reload/stop in here.
 */
import path from 'node:path';
import { removeFileDurable, writeFileAtomic } from './atomic-file.js';
import type { RenderedFiles } from './generate.js';

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

/** The sync daemon's lifecycle as a commit sees it. */
export interface EngineService {
  /** conntrack-sync is configured: start the daemon, or make it re-read `confFile`. */
  startOrReload(confFile: string): void;
  /** conntrack-sync was deleted. */
  stop(): void;
}

/** Until the engine exists (a later issue), apply stops after writing the files. */
export const filesOnlyEngine: EngineService = {
  startOrReload: () => undefined,
  stop: () => undefined,
};

function place(file: string, content: string | undefined): void {
  if (content === undefined) removeFileDurable(file);
  else writeFileAtomic(file, content);
}

export function apply(files: RenderedFiles, paths: RenderPaths, engine: EngineService): void {
  place(paths.keepalivedConf, files.keepalived);
  place(paths.conntrackdConf, files.conntrackd);
  if (files.conntrackd === undefined) engine.stop();
  else engine.startOrReload(paths.conntrackdConf);
}
