/**
 * Bringing a dead engine back on BACKUP (shared/spec/vyos.md §5.2, conntrackd.md §9): a lock
 * file left by a crash would make the new daemon refuse to start ("lockfile exists"), so it
 * is removed after the same five warning lines VyOS logs; then the engine is started
 * daemonised and must answer its control socket within a bounded time.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { REQUEST, type EngineControl } from './engine-control.js';

export const DEFAULT_ENGINE_CMD = 'ctsyncd';
export const DEFAULT_ENGINE_CONF = '/run/conntrackd/conntrackd.conf';

export const STALE_LOCK_WARNING = [
  'WARNING: conntrackd was not cleanly stopped.',
  'If you suspect that it has crashed:',
  '1) Enable coredumps',
  '2) Try to reproduce the problem',
  '3) Post the coredump to netfilter-devel@vger.kernel.org',
] as const;

export interface EngineLaunch {
  /** argv of the engine, e.g. ['ctsyncd'] or ['conntrackd']; `-C <conf> -d` is appended. */
  command: string[];
  conf: string;
  lockFile: string;
  /** How long the started engine has to answer (default 5 s). */
  readyTimeoutMs?: number;
}

export function engineCommand(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.CTSYNC_ENGINE_CMD || DEFAULT_ENGINE_CMD).split(/\s+/).filter(Boolean);
}

export async function engineAlive(engine: EngineControl): Promise<boolean> {
  try {
    await engine.request(REQUEST.STATS);
    return true;
  } catch {
    return false;
  }
}

/** Exit code of the daemonising parent, or undefined if it did not exit in time. */
function launch(argv: string[], timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore', detached: true });
    const t = setTimeout(() => resolve(undefined), timeoutMs);
    child.on('error', () => {
      clearTimeout(t);
      resolve(127);
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve(code ?? 1);
    });
    child.unref();
  });
}

/** Start the engine; true once it answers. Logs through `log` as the VyOS script does. */
export async function startEngine(engine: EngineControl, l: EngineLaunch, log: (line: string) => void): Promise<boolean> {
  if (existsSync(l.lockFile)) {
    for (const line of STALE_LOCK_WARNING) log(line);
    await unlink(l.lockFile).catch(() => undefined);
  }
  const timeoutMs = l.readyTimeoutMs ?? 5000;
  const code = await launch([...l.command, '-C', l.conf, '-d'], timeoutMs);
  if (code !== undefined && code !== 0) return false;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await engineAlive(engine)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
