/**
 * Syslog for the hooks, as VyOS's script logs: ident `conntrack-tools`, facility daemon,
 * level notice (shared/spec/vyos.md §5.2, `logger -t conntrack-tools -p daemon.notice`).
 *
 * Node has no AF_UNIX datagram sockets, so one long-lived `logger` process per Syslog
 * carries the lines (it sends each stdin line as one message): one spawn per hook run or per
 * watcher lifetime, never one per event. Best effort: without the socket or the program
 * nothing is sent, and nothing here ever throws.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export const SYSLOG_IDENT = 'conntrack-tools';

export interface SyslogOptions {
  /** The syslog socket; default env CTSYNC_SYSLOG_SOCKET or /dev/log. */
  socketPath?: string;
  /** Also hand every line here (tests, foreground runs). */
  mirror?: (line: string) => void;
}

export class Syslog {
  private readonly child: ChildProcess | undefined;
  private readonly mirror: ((line: string) => void) | undefined;

  constructor(opts: SyslogOptions = {}) {
    this.mirror = opts.mirror;
    const socketPath = opts.socketPath ?? (process.env.CTSYNC_SYSLOG_SOCKET || '/dev/log');
    if (!existsSync(socketPath)) return;
    try {
      const child = spawn('logger', ['-t', SYSLOG_IDENT, '-p', 'daemon.notice', '-u', socketPath, '--socket-errors=off'], {
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      child.on('error', () => undefined);
      child.stdin?.on('error', () => undefined);
      child.unref();
      this.child = child;
    } catch {
      this.child = undefined;
    }
  }

  log(line: string): void {
    this.mirror?.(line);
    const stdin = this.child?.stdin;
    if (stdin && !stdin.destroyed && stdin.writable) stdin.write(`${line.replace(/\n/g, ' ')}\n`);
  }

  /** Flush and let the logger process exit (resolves when it has, at most after 1 s). */
  async close(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 1000);
      child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      child.stdin?.end();
    });
  }
}
