/**
 * `ctsync vrrp-hook master|backup|fault <sync-group>`: what keepalived's notify lines call
 * (shared/spec/vyos.md §5.1-5.2). Exit 0 after a transition (failed steps are logged, as
 * VyOS does), 1 when refused: engine down, or an unknown state.
 */
import { hostname } from 'node:os';
import { isCtsyncError } from '../common/errors.js';
import { DEFAULT_ENGINE_CONF, EngineService } from '../engine/service.js';
import type { HookState } from './group-state.js';
import { FailoverGuard } from './guard.js';
import { failoverStateFile, writeFailoverState } from './state-file.js';
import { Syslog } from '../common/syslog.js';
import { DEFAULT_LOCK_DIR, runOnce, type TransitionLockOptions } from './transition-lock.js';
import { runTransition, type TransitionDeps, type TransitionResult } from './transitions.js';

const USAGE = 'Usage: ctsync vrrp-hook {master|backup|fault} <sync-group>';

/** Everything a transition needs, from the environment (hook and watcher alike). */
export async function transitionDeps(log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<TransitionDeps> {
  const conf = env.CTSYNC_ENGINE_CONF || DEFAULT_ENGINE_CONF;
  const stateFile = failoverStateFile(env);
  let engine: EngineService;
  try {
    engine = EngineService.fromConf(conf, env);
  } catch {
    // Not configured: nothing to reach; the runner refuses as with a dead engine.
    return { engine: { request: () => Promise.reject(new Error(`${conf} missing`)) }, log, stateFile };
  }
  const guardMs = Number(env.CTSYNC_GUARD_TIMEOUT_MS || 10_000);
  return {
    engine,
    log,
    stateFile,
    guard: env.CTSYNC_GUARD === 'off' ? undefined : new FailoverGuard({ timeoutMs: guardMs, onTimeout: () => log('WARNING: fail-over guard lifted by its timeout') }),
    startEngine: () => engine.start(log),
  };
}

export function hookState(word: string | undefined): HookState | undefined {
  const s = word?.toUpperCase();
  return s === 'MASTER' || s === 'BACKUP' || s === 'FAULT' ? s : undefined;
}

/** Run one transition once (the watcher may have run it already). */
export async function transitionOnce(
  state: HookState,
  group: string,
  deps: TransitionDeps,
  lock: TransitionLockOptions = {},
): Promise<TransitionResult | undefined> {
  const r = await runOnce(group, state, () => runTransition(state, group, deps), lock);
  if (r.ran) return r.value;
  deps.log(
    r.stale
      ? `${state} for VRRP sync-group [${group}] reported after the later ${r.last.state} (pid ${r.last.pid}): ignored`
      : `${state} for VRRP sync-group [${group}] already handled (pid ${r.last.pid})`,
  );
  return undefined;
}

/** Where a main prints what VyOS's script prints (usage, refusal). */
export type Out = (line: string) => void;

export const stdout: Out = (line) => process.stdout.write(`${line}\n`);

/** `argv`: the words after `vrrp-hook`. Resolves with the exit code. */
export async function vrrpHookMain(argv: string[], env: NodeJS.ProcessEnv = process.env, out: Out = stdout): Promise<number> {
  return withHookSyslog(new Syslog(), out, async (log) => {
    const [word, group] = argv;
    const state = hookState(word);
    if (!state || !group) {
      if (group) {
        await writeFailoverState(failoverStateFile(env), 'UNKNOWN');
        log(`ERROR: ${hostname()} unknown state transition for VRRP sync-group [${group}]`);
      }
      out(USAGE);
      return 1;
    }
    // keepalived forked this process for the transition: its start is when it was reported.
    await transitionOnce(state, group, await transitionDeps(log, env), { dir: env.CTSYNC_LOCK_DIR || DEFAULT_LOCK_DIR, reportedAt: performance.timeOrigin });
    return 0;
  });
}

/** Run a hook program's body with its syslog: a CtsyncError is its one output line and exit 1. */
export async function withHookSyslog(syslog: Syslog, out: Out, body: (log: (line: string) => void) => Promise<number>): Promise<number> {
  try {
    return await body((line) => syslog.log(line));
  } catch (e) {
    if (!isCtsyncError(e)) throw e;
    out(e.message);
    return 1;
  } finally {
    await syslog.close();
  }
}
