/**
 * What an op-mode function may use: the running config's state dir, the environment, the
 * kernel table and the engine's control socket (loaded and opened on use, so a command needing
 * neither never touches them), the operator's answers, and the interrupt that ends `monitor`.
 */
import { CtsyncError } from '../common/errors.js';
import { ConfigSession } from '../configd/session.js';
import { getConfig, type ConntrackSyncConfig } from '../configd/get-config.js';
import type { KernelTable } from '../engine/kernel/index.js';
import { engineClient, type EngineClient } from './engine-client.js';

/** A function's result: text for the operator, or data for `--json`. */
export type Output = string | object;

export interface OpmodeOptions {
  json: boolean;
}

export interface OpmodeContext {
  stateDir: string;
  env: NodeJS.ProcessEnv;
  /** Streamed output (monitor, progress); results are returned, not written. */
  out(text: string): void;
  /** Warnings beside the output (stderr): they must not break a --json stream. */
  warn(text: string): void;
  kernel(): Promise<KernelTable>;
  engine(): EngineClient;
  /** A yes/no question; false unless the operator answers y or yes. */
  confirm(question: string): Promise<boolean>;
  /** Resolves when the operator interrupts (SIGINT/SIGTERM) or the output's reader is gone. */
  interrupted(): Promise<void>;
}

/** `is_configured()` of VyOS (vyos.md §4.2): the running config must have the service. */
export function syncConfig(ctx: OpmodeContext): ConntrackSyncConfig {
  const cs = getConfig(new ConfigSession({ stateDir: ctx.stateDir }).running()).conntrackSync;
  if (!cs) throw new CtsyncError('OPMODE_UNCONFIGURED', 'conntrack-sync is not configured!');
  return cs;
}

async function askStdin(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.question(`${question} [y/N] `, resolve);
      // End of input (no terminal, nothing piped) is a "no".
      rl.once('close', () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** SIGINT/SIGTERM, or a stdout that can no longer be written (`… | head`: EPIPE). */
function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      process.stdout.off('error', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    process.stdout.once('error', done);
  });
}

/** The live context of a `ctsync` process. */
export function processContext(
  stateDir: string,
  env: NodeJS.ProcessEnv,
  out: (text: string) => void,
  warn: (text: string) => void,
): OpmodeContext {
  return {
    stateDir,
    env,
    out,
    warn,
    kernel: async () => (await import('../engine/kernel/index.js')).openKernelTable({ kind: 'netlink' }),
    engine: () => engineClient(env),
    confirm: askStdin,
    interrupted: untilInterrupted,
  };
}
