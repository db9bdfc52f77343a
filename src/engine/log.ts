/**
 * The daemon log (conntrackd's log.c, shared/spec/conntrackd.md §5.3): lines
 * `[<ctime>] (pid=<pid>) [<level>] <msg>` to LogFile (and the console in console mode), and
 * the bare message to syslog with conntrackd's ident (its PACKAGE, "conntrack-tools") when
 * `Syslog` is on. Logging is rare (start, links, commits): it is synchronous and off the
 * hot path on purpose, so a line is on disk before a crash.
 */
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import type { SyslogSetting } from './config/types.js';

export type LogLevel = 'info' | 'notice' | 'warning' | 'ERROR';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

/** ctime(3) without its newline, local time: `Sun Nov 22 02:11:00 2026`. */
export function ctime(d: Date): string {
  return (
    `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2)} ` +
    `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${d.getFullYear()}`
  );
}

/** One log line, newline included. */
export function formatLogLine(level: LogLevel, message: string, now = new Date(), pid = process.pid): string {
  return `[${ctime(now)}] (pid=${pid}) [${level}] ${message}\n`;
}

const SYSLOG_PRIORITY: Record<LogLevel, string> = { info: 'info', notice: 'notice', warning: 'warning', ERROR: 'err' };

export interface LoggerOptions {
  /** LogFile path, or false. */
  file: false | string;
  syslog: SyslogSetting;
  /** Console mode (no `-d`): lines also go to stdout, errors to stderr. */
  console?: boolean;
  /** Syslog ident; conntrackd's is its package name. */
  ident?: string;
}

export class Logger {
  constructor(private readonly opts: LoggerOptions) {}

  info(msg: string): void {
    this.log('info', msg);
  }
  notice(msg: string): void {
    this.log('notice', msg);
  }
  warning(msg: string): void {
    this.log('warning', msg);
  }
  error(msg: string): void {
    this.log('ERROR', msg);
  }

  log(level: LogLevel, msg: string): void {
    const line = formatLogLine(level, msg);
    if (this.opts.file) {
      try {
        appendFileSync(this.opts.file, line);
      } catch {
        // A full or vanished disk must not stop the daemon; the console/syslog still get it.
      }
    }
    if (this.opts.console) (level === 'ERROR' ? process.stderr : process.stdout).write(line);
    if (this.opts.syslog) this.syslog(level, msg, this.opts.syslog.facility);
  }

  /**
   * Node cannot open the AF_UNIX datagram socket /dev/log (node:dgram is UDP only), so the
   * message goes through logger(1); best effort, failures are ignored.
   */
  private syslog(level: LogLevel, msg: string, facility: string): void {
    try {
      const child = spawn('logger', ['-t', this.opts.ident ?? 'conntrack-tools', `--id=${process.pid}`, '-p', `${facility}.${SYSLOG_PRIORITY[level]}`, '--', msg], {
        stdio: 'ignore',
      });
      child.on('error', () => undefined);
      child.unref();
    } catch {
      // No logger(1): syslog is best effort.
    }
  }
}
