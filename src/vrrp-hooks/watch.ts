/**
 * `ctsync vrrp-watch <sync-group>`: the sync-group's conntrack transitions driven from
 * keepalived's D-Bus signals, in-process (anchors.md §3: a fork per event overran netlink in
 * keepalived #392/#401). Usable alongside the notify lines: the transition lock makes the
 * second reporter of the same transition a no-op.
 */
import { readFile } from 'node:fs/promises';
import { CtsyncError, isCtsyncError } from '../common/errors.js';
import { isHookState, type HookState } from './group-state.js';
import { stdout, transitionDeps, transitionOnce, withHookSyslog, type Out } from './hook.js';
import { DEFAULT_KEEPALIVED_CONF, syncGroupMembers } from './keepalived-conf.js';
import { KeepalivedWatcher, type WatcherOptions } from './keepalived-dbus.js';
import { Syslog } from '../common/syslog.js';
import { DEFAULT_LOCK_DIR, type TransitionLockOptions } from './transition-lock.js';
import type { TransitionDeps, TransitionResult } from './transitions.js';

export interface SyncGroupWatch {
  watcher: KeepalivedWatcher;
  /** Settles when every transition started so far has finished. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Follow one sync-group and run its transitions (the daemon embeds this). */
export function watchSyncGroup(
  group: string,
  watcherOpts: WatcherOptions,
  deps: TransitionDeps,
  lock: TransitionLockOptions = {},
  onResult?: (state: HookState, r: TransitionResult | undefined) => void,
): SyncGroupWatch {
  const watcher = new KeepalivedWatcher({ log: deps.log, ...watcherOpts });
  let chain: Promise<void> = Promise.resolve();
  let resuming = true;
  watcher.on('group', (state) => {
    deps.log(`VRRP sync-group [${group}] is ${state} (from D-Bus)`);
    if (!isHookState(state)) return;
    const report = { ...lock, reportedAt: Date.now(), resuming };
    resuming = false;
    // Transitions run in the order keepalived reported them, one at a time.
    chain = chain.then(
      () => transitionOnce(state, group, deps, report).then((r) => onResult?.(state, r)),
    ).catch((e: Error) => deps.log(isCtsyncError(e) ? e.message : `ERROR: ${state} transition failed: ${e.message}`));
  });
  watcher.start();
  return {
    watcher,
    idle: () => chain,
    stop: async () => {
      watcher.stop();
      await chain;
    },
  };
}

function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/**
 * `argv`: the words after `vrrp-watch`: `<sync-group> [--members A,B] [--keepalived-conf F]`.
 * Runs until SIGTERM/SIGINT; resolves with the exit code.
 */
export async function vrrpWatchMain(argv: string[], env: NodeJS.ProcessEnv = process.env, out: Out = stdout): Promise<number> {
  return withHookSyslog(new Syslog({ mirror: (l) => process.stderr.write(`${l}\n`) }), out, async (log) => {
    const group = argv[0];
    if (!group || group.startsWith('-')) {
      throw new CtsyncError('HOOK_USAGE', 'Usage: ctsync vrrp-watch <sync-group> [--members A,B] [--keepalived-conf FILE]');
    }
    const listed = option(argv, '--members');
    const members = listed
      ? listed.split(',').filter(Boolean)
      : syncGroupMembers(await readFile(option(argv, '--keepalived-conf') ?? DEFAULT_KEEPALIVED_CONF, 'utf8'), group);
    const watch = watchSyncGroup(group, { members }, await transitionDeps(log, env), { dir: env.CTSYNC_LOCK_DIR || DEFAULT_LOCK_DIR });
    await new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    await watch.stop();
    return 0;
  });
}
