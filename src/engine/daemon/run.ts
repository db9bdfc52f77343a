/**
 * `ctsyncd -C conf [-d]`: the daemon process (conntrackd main.c / run.c, shared/spec/
 * conntrackd.md §5.3). It assembles the parts — log, lock file, kernel table, dedicated links,
 * SyncEngine, control socket — starts them in that order and tears them down in reverse on
 * SIGTERM/SIGINT or a KILL request.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineConfig } from '../config/types.js';
import { Multichannel } from '../channel/multichannel.js';
import { ControlServer } from '../control/server.js';
import { openKernelTable, type KernelTableOptions } from '../kernel/index.js';
import { acquireLock, releaseLock } from '../lockfile.js';
import { Logger } from '../log.js';
import { EngineControlHandler } from './control-handler.js';
import { warmUp } from './warm-up.js';
import { SyncEngine } from './engine.js';
import { trackReadiness } from './readiness.js';
import { ReadinessTracker, trackFilePath } from './track-file.js';

export interface DaemonOptions {
  daemonize: boolean;
}

/** Marks the re-executed child of `-d` (Node cannot fork: the daemon is a detached copy). */
const DAEMON_CHILD = 'CTSYNCD_DAEMON_CHILD';
/** How long `-d` waits for the daemon's control socket. */
const DAEMON_START_MS = 30_000;

/** keepalived's track_file (./track-file.ts). */
function readinessTracker(env: NodeJS.ProcessEnv): ReadinessTracker | undefined {
  const path = trackFilePath(env);
  return path === undefined ? undefined : new ReadinessTracker(path);
}

/**
 * Which kernel table the daemon drives: the real one (default), or with CTSYNCD_KERNEL=memory
 * an in-process table (unprivileged demos and tests; nothing reaches the kernel).
 */
function kernelOptions(env: NodeJS.ProcessEnv): KernelTableOptions {
  return env.CTSYNCD_KERNEL === 'memory' ? { kind: 'memory' } : { kind: 'netlink' };
}

/**
 * `-d`: start a detached copy of this command without `-d` and return once its control
 * socket answers, as conntrackd's parent returns after fork.
 */
async function daemonize(config: EngineConfig): Promise<number> {
  const args = process.argv.slice(1).filter((a) => a !== '-d');
  const child = spawn(process.execPath, args, {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, [DAEMON_CHILD]: '1' },
  });
  child.unref();
  // Bounded, but generous: the start-up dump of a large kernel table (100k entries) on a busy
  // machine takes seconds before the socket listens.
  for (const deadline = Date.now() + DAEMON_START_MS; Date.now() < deadline; await sleep(50)) {
    if (existsSync(config.general.unixPath) && child.exitCode === null) return 0;
    if (child.exitCode !== null) return 1;
  }
  return 1;
}

export async function runDaemon(config: EngineConfig, opts: DaemonOptions, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (opts.daemonize && env[DAEMON_CHILD] !== '1') return daemonize(config);
  const log = new Logger({ file: config.general.logFile, syslog: config.general.syslog, console: !opts.daemonize && env[DAEMON_CHILD] !== '1' });
  for (const w of config.warnings) log.warning(w);
  if (config.sync === undefined) {
    log.error('ctsyncd needs a Sync section: statistics-only mode is not supported');
    return 1;
  }
  acquireLock(config.general.lockFile);
  const kernel = kernelOptions(env);
  const links = new Multichannel(config.sync.links, { log });
  const track = readinessTracker(env);
  let engine: SyncEngine | undefined;
  let server: ControlServer | undefined;
  let stopping: Promise<void> | undefined;
  let resolveDone: (status: number) => void = () => undefined;
  const done = new Promise<number>((r) => (resolveDone = r));

  /** Closes what start-up opened, in reverse order, whether it got that far or not. */
  const teardown = async (): Promise<void> => {
    await server?.close();
    track?.stop();
    await engine?.stop();
    links.close();
    releaseLock(config.general.lockFile);
    await log.close();
  };
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      log.notice('---- shutdown received ----');
      await teardown();
      resolveDone(0);
    })();
    return stopping;
  };

  try {
    engine = new SyncEngine(config, {
      openKernel: () => openKernelTable(kernel),
      transport: links,
      log,
      links: () => links.stats(),
    });
    links.onReceive = engine.receive;
    engine.onActiveLink = (link: number) => links.setActive(link);
    if (track) {
      // The track file is advisory: a write that fails is logged, the daemon goes on.
      const failed = (e: Error): void => log.warning(`cannot write ${track.path}: ${e.message}`);
      trackReadiness(engine, track, failed);
      engine.on('role', (master) => void track.roleChanged(master).catch(failed));
      track.start().catch(failed);
    }
    await links.open();
    await warmUp(config.sync, config.general.filter, links);
    await engine.start();
    server = new ControlServer({
      path: config.general.unixPath,
      handler: new EngineControlHandler(engine),
      onKill: () => void shutdown(),
      onError: (e) => log.error(`control request failed: ${e instanceof Error ? e.message : String(e)}`),
    });
    await server.listen();
  } catch (e) {
    await teardown();
    throw e;
  }
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  log.notice(`initialization completed (${kernel.kind} kernel table)`);
  return done;
}
