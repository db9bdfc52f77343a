/**
 * The `ctsync` command registry. Each feature registers its words here (config verbs from
 * src/configd, op-mode `show …`/`reset …`/`restart …`/`monitor …` from src/opmode, `vrrp-hook`
 * / `vrrp-watch` from src/vrrp-hooks); the dispatcher picks the longest registered prefix.
 */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export interface CliContext {
  io: CliIo;
  env: NodeJS.ProcessEnv;
  /** `--state-dir`, else CTSYNC_STATE_DIR, else /var/lib/ctsync. */
  stateDir: string;
}

export interface CliCommand {
  /** The words that select it, e.g. ['commit'] or ['show', 'conntrack-sync', 'status']. */
  words: string[];
  summary: string;
  /** `args` are the words after `words`; returns the exit status. */
  run(args: string[], ctx: CliContext): number | Promise<number>;
}

const commands: CliCommand[] = [];

export function registerCommand(command: CliCommand): void {
  commands.push(command);
}

export function registeredCommands(): readonly CliCommand[] {
  return commands;
}

/** The command whose words are the longest prefix of `argv`. */
export function findCommand(argv: string[]): CliCommand | undefined {
  let best: CliCommand | undefined;
  for (const c of commands) {
    const matches = c.words.every((w, i) => argv[i] === w);
    if (matches && (!best || c.words.length > best.words.length)) best = c;
  }
  return best;
}

/** The words that may follow `prefix` among registered commands. */
export function nextWords(prefix: string[]): string[] {
  const words = commands
    .filter((c) => c.words.length > prefix.length && prefix.every((w, i) => c.words[i] === w))
    .map((c) => c.words[prefix.length]!);
  return [...new Set(words)].sort();
}
