/**
 * The engine's log, by severity as conntrackd's `dlog()` writes it (shared/spec/conntrackd.md
 * §3.3, §3.4, §7). The daemon's conntrackd-format log file / syslog implements it; the engine
 * only chooses the sentence and the level.
 */
export interface EngineLog {
  notice(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
}
