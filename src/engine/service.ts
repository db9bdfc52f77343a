/**
 * A sync daemon as its clients see it — configd's apply, op-mode's restart, the VRRP hooks:
 * where its control socket and lock file are (read from its conntrackd.conf), whether it
 * answers, and how to start and stop it. Only the command line and the control socket are
 * used, so the same code drives ctsyncd or a stock conntrackd (CTSYNC_ENGINE_CMD).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { readConfigFile } from './config/parser.js';
import { requestText } from './control/client.js';
import { REQUEST } from './control/requests.js';

/** The rendered config VyOS and configd write (shared/spec/vyos.md §2.3). */
export const DEFAULT_ENGINE_CONF = '/run/conntrackd/conntrackd.conf';

/** The lines VyOS logs before removing a crashed daemon's lock file (vyos.md §5.2). */
export const STALE_LOCK_WARNING = [
  'WARNING: conntrackd was not cleanly stopped.',
  'If you suspect that it has crashed:',
  '1) Enable coredumps',
  '2) Try to reproduce the problem',
  '3) Post the coredump to netfilter-devel@vger.kernel.org',
] as const;

const CTSYNCD_BIN = join(dirname(fileURLToPath(import.meta.url)), '../../bin/ctsyncd.js');

/** The engine's argv before `-C <conf> …`: CTSYNC_ENGINE_CMD, else this package's ctsyncd. */
export function engineCommand(env: NodeJS.ProcessEnv = process.env): string[] {
  const cmd = env.CTSYNC_ENGINE_CMD?.split(/\s+/).filter(Boolean);
  return cmd && cmd.length > 0 ? cmd : [process.execPath, CTSYNCD_BIN];
}

export interface EngineEndpoints {
  conf: string;
  unixPath: string;
  lockFile: string;
}

export function engineEndpoints(conf: string): EngineEndpoints {
  // The interfaces may live in another namespace than the caller's: only the paths matter here.
  const { general } = readConfigFile(conf, { interfaceExists: () => true });
  return { conf, unixPath: general.unixPath, lockFile: general.lockFile };
}

/** Exit status of a command, or undefined if it did not end within `timeoutMs`. */
function run(argv: string[], timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', detached: true });
    const t = setTimeout(() => resolve(undefined), timeoutMs);
    child.once('error', () => {
      clearTimeout(t);
      resolve(127);
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code ?? 1);
    });
    child.unref();
  });
}

export class EngineService {
  constructor(
    readonly endpoints: EngineEndpoints,
    readonly command: string[],
  ) {}

  static fromConf(conf: string, env: NodeJS.ProcessEnv = process.env): EngineService {
    return new EngineService(engineEndpoints(conf), engineCommand(env));
  }

  /** One request; rejects with ENGINE_NOT_RUNNING when the socket does not answer. */
  request(code: number): Promise<string> {
    return requestText(this.endpoints.unixPath, code);
  }

  async alive(): Promise<boolean> {
    try {
      await this.request(REQUEST.STATS);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Start the daemon (`-C conf -d`) and wait until it answers. A lock file left by a crash
   * would make it refuse to start: it is removed after VyOS's warning lines.
   */
  async start(log: (line: string) => void, timeoutMs = 30_000): Promise<boolean> {
    if (existsSync(this.endpoints.lockFile)) {
      for (const line of STALE_LOCK_WARNING) log(line);
      await unlink(this.endpoints.lockFile).catch(() => undefined);
    }
    const code = await run([...this.command, '-C', this.endpoints.conf, '-d'], timeoutMs);
    if (code !== undefined && code !== 0) return false;
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(50)) {
      if (await this.alive()) return true;
    }
    return false;
  }

  /** KILL, then wait (bounded) until the daemon has released its lock file. */
  async stop(timeoutMs = 5000): Promise<void> {
    if (!(await this.alive())) return;
    await this.request(REQUEST.KILL).catch(() => undefined);
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await sleep(50)) {
      if (!existsSync(this.endpoints.lockFile) && !(await this.alive())) return;
    }
  }
}
