/**
 * The daemon log (conntrackd's log.c, shared/spec/conntrackd.md §5.3): lines
 * `[<ctime>] (pid=<pid>) [<level>] <msg>` to LogFile (and the console in console mode), and
 * the bare message to syslog with conntrackd's ident (its PACKAGE, "conntrack-tools") when
 * `Syslog` is on. Logging is rare (start, links, commits): it is synchronous and off the
 * hot path on purpose, so a line is on disk before a crash.
 */
import { appendFileSync } from 'node:fs';
import { Syslog, type Severity } from '../common/syslog.js';
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

const SYSLOG_SEVERITY: Record<LogLevel, Severity> = { info: 'info', notice: 'notice', warning: 'warning', ERROR: 'err' };

export interface LoggerOptions {
  /** LogFile path, or false. */
  file: false | string;
  syslog: SyslogSetting;
  /** Console mode (no `-d`): lines also go to stdout, errors to stderr. */
  console?: boolean;
}

export class Logger {
  private readonly syslog: Syslog | undefined;

  constructor(private readonly opts: LoggerOptions) {
    this.syslog = opts.syslog ? new Syslog({ facility: opts.syslog.facility, pid: true }) : undefined;
  }

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
    this.syslog?.log(msg, SYSLOG_SEVERITY[level]);
  }

  /** Hand the last lines to syslog before the process exits. */
  close(): Promise<void> {
    return this.syslog?.close() ?? Promise.resolve();
  }
}
