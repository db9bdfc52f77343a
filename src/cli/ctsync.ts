/**
 * `ctsync`: the operator's command. A small dispatcher over the registry: global option
 * `--state-dir DIR`, then the longest registered word prefix. `show` is shared: followed by
 * nothing, `--commands` or a top-level config node it is the config `show`; any other word
 * goes to op-mode. Errors print their message only (never a stack) and exit 1.
 */
import { CtsyncError } from '../common/errors.js';
import { registerConfigCommands } from '../configd/commands.js';
import { registerVrrpCommands } from '../vrrp-hooks/commands.js';
import { registerOpmodeCommands } from '../opmode/commands.js';
import { DEFAULT_STATE_DIR } from '../configd/session.js';
import { childNames, ROOT_SCHEMA } from '../configd/schema.js';
import { findCommand, nextWords, registeredCommands, type CliCommand, type CliContext, type CliIo } from './registry.js';

registerConfigCommands();
registerVrrpCommands();
registerOpmodeCommands();

const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

function takeStateDir(argv: string[], env: NodeJS.ProcessEnv): { stateDir: string; rest: string[] } {
  const rest: string[] = [];
  let stateDir = env.CTSYNC_STATE_DIR ?? DEFAULT_STATE_DIR;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--state-dir' && i + 1 < argv.length) stateDir = argv[++i]!;
    else if (a.startsWith('--state-dir=')) stateDir = a.slice('--state-dir='.length);
    else rest.push(a);
  }
  return { stateDir, rest };
}

/** The verbs and every complete op-mode command (its prefixes only list their next words), aligned. */
function usage(): string {
  const all = registeredCommands();
  const extended = (c: CliCommand): boolean => all.some((o) => o.words.length > c.words.length && c.words.every((w, i) => o.words[i] === w));
  const leaves = all.filter((c) => c.words.length === 1 || !extended(c));
  const width = Math.max(...leaves.map((c) => c.words.join(' ').length)) + 2;
  const lines = leaves.map((c) => `  ${c.words.join(' ').padEnd(width)}${c.summary}`);
  return ['Usage: ctsync [--state-dir DIR] <command> [args…]', '', 'Commands:', ...lines].join('\n');
}

/** Whether `show <args>` is the config show rather than an op-mode command. */
function isConfigShow(args: string[]): boolean {
  const first = args[0];
  return first === undefined || first === '--commands' || childNames(ROOT_SCHEMA).includes(first);
}

/** The words valid after the longest known prefix of `argv`. */
function validNextWords(argv: string[]): string[] {
  // After a bare `show` come both the config tree's top nodes and the op-mode words.
  const lowest = argv[0] === 'show' ? 2 : 1;
  for (let n = argv.length - 1; n >= lowest; n--) {
    const words = nextWords(argv.slice(0, n));
    if (words.length > 0) return words;
  }
  return argv[0] === 'show' ? ['--commands', ...childNames(ROOT_SCHEMA), ...nextWords(['show'])] : nextWords([]);
}

function unknown(argv: string[]): CtsyncError {
  const valid = validNextWords(argv);
  const hint = valid.length > 0 ? `\nValid next words: ${valid.join(', ')}` : '';
  return new CtsyncError('OPMODE_UNKNOWN_COMMAND', `Unknown command: ${argv.join(' ')}${hint}`);
}

export async function main(argv: string[], io: CliIo = processIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const { stateDir, rest } = takeStateDir(argv, env);
  const ctx: CliContext = { io, env, stateDir };
  try {
    if (rest.length === 0 || rest[0] === '--help' || rest[0] === '-h') {
      io.out(usage());
      return rest.length === 0 ? 1 : 0;
    }
    const configShow = rest[0] === 'show' && isConfigShow(rest.slice(1));
    const command = configShow ? findCommand(['show']) : findCommand(rest);
    // An op-mode `show …` must match an op-mode command; it never falls back to the config show.
    if (!command || (rest[0] === 'show' && !configShow && command.words.length < 2)) throw unknown(rest);
    return await command.run(rest.slice(command.words.length), ctx);
  } catch (e) {
    io.err(e instanceof Error ? e.message : String(e));
    return 1;
  }
}
