/**
 * The conntrack-sync side of a VRRP sync-group transition (shared/spec/vyos.md §5.2,
 * conntrackd.md §9): the step sequences as data, and one runner that both the notify hook
 * (`ctsync vrrp-hook`) and the D-Bus watcher use.
 *
 * MASTER: the external cache goes into the kernel first — under the fail-over guard, since
 * flows not yet committed must not be reset (anchors.md §3) — then the caches are flushed,
 * refilled from the kernel and pushed to the new backup. `-c` (ALL_COMMIT) commits
 * conntracks and expectations in one request; VyOS's extra `-c exp` would commit the
 * expectations twice. The guard goes up while the commit already runs: raising it is an nft
 * process (~50 ms idle, ~250 ms on a busy box, of which preloading the table would save ~12),
 * and a flow the commit has already put back needs no guard, so the commit does not wait.
 * BACKUP: a dead engine is started first; then the kernel timers are purged (-t) and a
 * resync is requested from the new master (-n). FAULT: purge only.
 * A failed request is logged as VyOS does and the sequence carries on.
 */
import { hostname } from 'node:os';
import { CtsyncError } from '../common/errors.js';
import { REQUEST, type RequestCode } from '../engine/control/requests.js';
import type { HookState } from './group-state.js';
import type { FailoverGuard } from './guard.js';
import { formatDate, writeFailoverState } from './state-file.js';

export type Step =
  | { do: 'request'; code: RequestCode; flag: string }
  | { do: 'guard-up' }
  | { do: 'guard-down' };

const request = (code: RequestCode, flag: string): Step => ({ do: 'request', code, flag });

/** Groups run one after the other; the steps of a group run at the same time. */
export const TRANSITIONS: Readonly<Record<HookState, readonly (readonly Step[])[]>> = {
  MASTER: [
    [{ do: 'guard-up' }, request(REQUEST.ALL_COMMIT, '-c')],
    [{ do: 'guard-down' }],
    [request(REQUEST.ALL_FLUSH_CACHE, '-f')],
    [request(REQUEST.ALL_RESYNC_MASTER, '-R')],
    [request(REQUEST.SEND_BULK, '-B')],
  ],
  BACKUP: [[request(REQUEST.RESET_TIMERS, '-t')], [request(REQUEST.REQUEST_DUMP, '-n')]],
  FAULT: [[request(REQUEST.RESET_TIMERS, '-t')]],
};

/** The engine as a transition drives it: its control socket (src/engine/service.ts). */
export interface EngineControl {
  /** Resolves with the reply text; rejects when the socket cannot be reached. */
  request(code: RequestCode): Promise<string>;
}

async function engineAlive(engine: EngineControl): Promise<boolean> {
  try {
    await engine.request(REQUEST.STATS);
    return true;
  } catch {
    return false;
  }
}

export interface TransitionDeps {
  engine: EngineControl;
  log: (line: string) => void;
  stateFile: string;
  /** Absent: no guard (e.g. nft unavailable by configuration). */
  guard?: FailoverGuard;
  /** Brings a dead engine back; only BACKUP asks (§5.2). Absent: a dead engine is refused. */
  startEngine?: () => Promise<boolean>;
  host?: string;
  now?: () => Date;
}

export interface StepResult {
  step: string;
  ok: boolean;
  ms: number;
  error?: string;
}

export interface TransitionResult {
  state: HookState;
  stateLine: string;
  steps: StepResult[];
}

function stepName(s: Step): string {
  return s.do === 'request' ? s.flag : s.do;
}

async function runStep(s: Step, deps: TransitionDeps): Promise<void> {
  switch (s.do) {
    case 'request':
      await deps.engine.request(s.code);
      return;
    case 'guard-up':
      await deps.guard?.up();
      return;
    case 'guard-down':
      await deps.guard?.down();
      return;
  }
}

function failureLine(s: Step): string {
  return s.do === 'request' ? `ERROR: failed to invoke conntrackd ${s.flag}` : `ERROR: failed to ${s.do === 'guard-up' ? 'raise' : 'lift'} the fail-over guard`;
}

export async function runTransition(state: HookState, group: string, deps: TransitionDeps): Promise<TransitionResult> {
  const now = deps.now ?? (() => new Date());
  const host = deps.host ?? hostname();
  const vrrpGroup = `VRRP sync-group [${group}]`;
  deps.log(`ctsync vrrp-hook invoked at ${formatDate(now())}`);

  if (!(await engineAlive(deps.engine))) {
    if (state !== 'BACKUP' || !deps.startEngine) {
      throw new CtsyncError('HOOK_ENGINE_DOWN', 'conntrackd service not running');
    }
    if (!(await deps.startEngine())) {
      deps.log('ERROR: cannot launch conntrackd');
      throw new CtsyncError('HOOK_ENGINE_DOWN', 'ERROR: cannot launch conntrackd');
    }
  }

  const stateLine = await writeFailoverState(deps.stateFile, state, now());
  deps.log(`${host} transitioning to ${state} state for ${vrrpGroup}`);

  const timed = async (s: Step): Promise<StepResult> => {
    const t0 = performance.now();
    try {
      await runStep(s, deps);
      return { step: stepName(s), ok: true, ms: performance.now() - t0 };
    } catch (e) {
      deps.log(failureLine(s));
      return { step: stepName(s), ok: false, ms: performance.now() - t0, error: (e as Error).message };
    }
  };
  const steps: StepResult[] = [];
  const started = performance.now();
  for (const group of TRANSITIONS[state]) {
    steps.push(...(await Promise.all(group.filter((s) => s.do === 'request' || deps.guard).map(timed))));
  }
  // How long the fail-over took, step by step: the figure an operator asks for after one.
  const took = steps.map((s) => `${s.step} ${Math.round(s.ms)}${s.ok ? '' : ' failed'}`).join(', ');
  deps.log(`${state} transition for ${vrrpGroup} done in ${Math.round(performance.now() - started)} ms (${took} ms)`);
  return { state, stateLine, steps };
}
