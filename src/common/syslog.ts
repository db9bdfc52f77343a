/**
 * Syslog for every ctsync program: the daemon log (conntrackd's, facility from `Syslog`), the
 * VRRP hooks and op-mode resets (VyOS's `logger -t conntrack-tools -p daemon.notice`,
 * shared/spec/vyos.md §5.2). Ident `conntrack-tools`, as conntrackd's PACKAGE.
 *
 * Node has no AF_UNIX datagram sockets, so one long-lived `logger` process per Syslog carries
 * the lines (one stdin line = one message, its priority in a `<PRI>` prefix): one spawn per
 * program run, never one per message. Best effort: without the socket or the program nothing
 * is sent, and nothing here ever throws.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export const SYSLOG_IDENT = 'conntrack-tools';

export type Severity = 'err' | 'warning' | 'notice' | 'info';

const SEVERITY: Record<Severity, number> = { err: 3, warning: 4, notice: 5, info: 6 };
/** The facilities conntrackd accepts (`Syslog daemon|local0…7`). */
const FACILITY: Record<string, number> = { daemon: 3, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23 };

export interface SyslogOptions {
  /** The syslog socket; default env CTSYNC_SYSLOG_SOCKET or /dev/log. */
  socketPath?: string;
  /** Default daemon. */
  facility?: string;
  /** Tag each message with this process's pid (the daemon does, as conntrackd). */
  pid?: boolean;
  /** Also hand every line here (tests, foreground runs). */
  mirror?: (line: string) => void;
}

export class Syslog {
  private readonly child: ChildProcess | undefined;
  private readonly mirror: ((line: string) => void) | undefined;
  private readonly facility: number;

  constructor(opts: SyslogOptions = {}) {
    this.mirror = opts.mirror;
    this.facility = FACILITY[opts.facility ?? 'daemon'] ?? FACILITY.daemon!;
    const socketPath = opts.socketPath ?? (process.env.CTSYNC_SYSLOG_SOCKET || '/dev/log');
    if (!existsSync(socketPath)) return;
    const args = ['-t', SYSLOG_IDENT, ...(opts.pid ? [`--id=${process.pid}`] : []), '--prio-prefix', '-u', socketPath, '--socket-errors=off'];
    try {
      const child = spawn('logger', args, { stdio: ['pipe', 'ignore', 'ignore'] });
      child.on('error', () => undefined);
      child.stdin?.on('error', () => undefined);
      child.unref();
      this.child = child;
    } catch {
      this.child = undefined;
    }
  }

  log(line: string, severity: Severity = 'notice'): void {
    this.mirror?.(line);
    const stdin = this.child?.stdin;
    if (stdin && !stdin.destroyed && stdin.writable) {
      stdin.write(`<${this.facility * 8 + SEVERITY[severity]}>${line.replace(/\n/g, ' ')}\n`);
    }
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
