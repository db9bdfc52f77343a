/**
 * `ctsync vrrp-watch` as a service next to the engine: a commit that configures
 * `failover-mechanism vrrp sync-group G` runs one watcher for G, restarts it when
 * keepalived.conf changed (its members may have), and stops it when the sync-group goes away
 * (src/configd/apply.ts). The watcher is a detached process recorded in a pid file beside the
 * transition lock; a recorded pid counts only while it is alive and still a vrrp-watch, so a
 * reused pid is never signalled.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive } from '../common/pid-lock.js';
import { DEFAULT_LOCK_DIR } from './transition-lock.js';

/** What a commit wants: a watcher for this sync-group of this keepalived.conf. */
export interface WatchTarget {
  group: string;
  keepalivedConf: string;
}

export interface WatchServiceOptions {
  /** Default `<CTSYNC_LOCK_DIR or /run/ctsync>/vrrp-watch.pid`. */
  pidFile?: string;
  /** argv prefix of the `ctsync` program (the watcher is `… vrrp-watch <group> …`). */
  command: string[];
  /** The watcher's environment (the commit's: bus address, lock dir, engine conf). */
  env?: NodeJS.ProcessEnv;
}

export class WatchService {
  readonly pidFile: string;
  private readonly command: string[];
  private readonly env: NodeJS.ProcessEnv;

  constructor(opts: WatchServiceOptions) {
    this.env = opts.env ?? process.env;
    this.pidFile = opts.pidFile ?? join(this.env.CTSYNC_LOCK_DIR || DEFAULT_LOCK_DIR, 'vrrp-watch.pid');
    this.command = opts.command;
  }

  /** The running watcher's pid, if any. */
  running(): number | undefined {
    if (!existsSync(this.pidFile)) return undefined;
    const pid = Number.parseInt(readFileSync(this.pidFile, 'utf8'), 10);
    if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return undefined;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('vrrp-watch') ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Bring the watcher in line: run it for `target` (restarting it if asked), or stop it. */
  async ensure(target: WatchTarget | undefined, restart: boolean): Promise<void> {
    if (target === undefined || restart) await this.stop();
    if (target !== undefined && this.running() === undefined) await this.start(target);
  }

  async start(target: WatchTarget): Promise<void> {
    await mkdir(dirname(this.pidFile), { recursive: true });
    const argv = [...this.command, 'vrrp-watch', target.group, '--keepalived-conf', target.keepalivedConf];
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: 'ignore', env: this.env });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid!));
    });
    child.unref();
    const tmp = `${this.pidFile}.${process.pid}.tmp`;
    try {
      await writeFile(tmp, `${pid}\n`);
      await rename(tmp, this.pidFile);
    } catch (e) {
      child.kill(); // unrecorded, it could never be stopped
      throw e;
    }
  }

  /** SIGTERM, then (bounded) SIGKILL; the pid file goes. */
  async stop(timeoutMs = 5000): Promise<void> {
    const pid = this.running();
    if (pid !== undefined) {
      process.kill(pid, 'SIGTERM');
      for (const deadline = Date.now() + timeoutMs; this.running() !== undefined && Date.now() < deadline; ) await sleep(50);
      if (this.running() !== undefined) process.kill(pid, 'SIGKILL');
    }
    await rm(this.pidFile, { force: true });
  }
}
