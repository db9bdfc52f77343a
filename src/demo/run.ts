/**
 * `npm run demo` (issue 4): two ctsyncd nodes, flows created on A, B's external cache filling,
 * a failover (commit on B) and both nodes' statistics. `memory` runs both engines in this
 * process on memory kernel tables (no privileges); `netns` runs two real ctsyncd daemons in
 * two network namespaces joined by a veth pair, on the real kernel tables (root).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CtsyncError, isCtsyncError } from '../common/errors.js';
import { memoryDemo } from './memory.js';
import { netnsDemo, netnsUnavailable } from './netns.js';
import type { Out } from './report.js';

export type DemoMode = 'memory' | 'netns';

export interface DemoOptions {
  flows: number;
  mode: DemoMode;
  /** Bound of each wait (sync, commit). */
  timeoutMs: number;
}

/** One mode's steps, and the teardown that must run whatever happened. */
export interface DemoRun {
  run(): Promise<void>;
  cleanup(): Promise<void>;
}

export const DEFAULT_FLOWS = 20_000;

export const USAGE = 'usage: npm run demo -- [--flows N] [--mode memory|netns]\n';

export function parseDemoArgs(argv: string[]): { flows: number; mode?: DemoMode } {
  const { values } = parseArgs({ args: argv, options: { flows: { type: 'string' }, mode: { type: 'string' } }, strict: true });
  const flows = values.flows === undefined ? DEFAULT_FLOWS : Number(values.flows);
  if (!Number.isInteger(flows) || flows < 1 || flows > 1_000_000) throw new CtsyncError('DEMO_USAGE', `--flows must be an integer from 1 to 1000000\n${USAGE}`);
  if (values.mode !== undefined && values.mode !== 'memory' && values.mode !== 'netns') throw new CtsyncError('DEMO_USAGE', `--mode must be memory or netns\n${USAGE}`);
  return { flows, ...(values.mode !== undefined ? { mode: values.mode } : {}) };
}

/** Runs the demo; resolves with the exit status. Cleans up on failure and on SIGINT/SIGTERM. */
export async function runDemo(argv: string[], out: Out = process.stdout, err: Out = process.stderr): Promise<number> {
  let opts: DemoOptions;
  try {
    const args = parseDemoArgs(argv);
    const unavailable = netnsUnavailable();
    if (args.mode === 'netns' && unavailable) throw new CtsyncError('DEMO_USAGE', `--mode netns: ${unavailable}`);
    const mode = args.mode ?? (unavailable ? 'memory' : 'netns');
    if (args.mode === undefined && unavailable) out.write(`(memory mode: ${unavailable})\n`);
    // the sync of 20,000 flows takes a few seconds; allow far more, and more for more flows
    opts = { flows: args.flows, mode, timeoutMs: 30_000 + args.flows * 2 };
  } catch (e) {
    err.write(`${isCtsyncError(e) ? e.message : String(e)}\n`);
    return 2;
  }
  const dir = mkdtempSync(join(tmpdir(), 'ctsync-demo-'));
  const demo = opts.mode === 'memory' ? memoryDemo(opts, dir, out) : netnsDemo(opts, dir, out);
  let cleaned: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaned ??= demo.cleanup().finally(() => rmSync(dir, { recursive: true, force: true })));
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupted = true;
    err.write(`\n${sig}: cleaning up\n`);
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await demo.run();
    return 0;
  } catch (e) {
    // after a signal the steps fail because cleanup() took their nodes away: nothing to say
    if (!interrupted) err.write(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
