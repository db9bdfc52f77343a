/**
 * The op-mode command table: words → function and the help text of VyOS's op-mode XML
 * (shared/spec/vyos.md §4.1). The one table drives dispatch (registered with the `ctsync`
 * registry), "valid next words" for unknown or incomplete words, and `ctsync help <verb> …`.
 * Every command takes `--json` (VyOS's raw output: keys decamelized, indent 4); `reset
 * conntrack` also takes `--yes`.
 */
import { registerCommand, type CliContext } from '../cli/registry.js';
import { CtsyncError } from '../common/errors.js';
import { parseTableQuery, showConntrackTable, TABLE_OPTIONS } from './conntrack-table.js';
import { showConntrackStatistics } from './conntrack-statistics.js';
import {
  resetExternalCache, resetInternalCache, restartSync, showSyncCache, showSyncStatistics, showSyncStatus,
} from './conntrack-sync.js';
import { processContext, type OpmodeContext, type OpmodeOptions, type Output } from './context.js';

export interface OpArgs extends OpmodeOptions {
  /** `--yes`: answer the confirmation of `reset conntrack`. */
  yes: boolean;
  /** Words after the command's own (table filters). */
  rest: string[];
}

export interface OpCommand {
  words: string[];
  help: string;
  /** Absent for a node that only groups others. Resolves with nothing when it streamed. */
  run?: (ctx: OpmodeContext, args: OpArgs) => Promise<Output | void>;
  /** The words it takes after its own, with their help (else any extra word is an error). */
  options?: Readonly<Record<string, string>>;
}

export const OPMODE_COMMANDS: readonly OpCommand[] = [
  { words: ['show', 'conntrack'], help: 'Show conntrack tables entries' },
  { words: ['show', 'conntrack', 'table'], help: 'Show conntrack entries for table' },
  {
    words: ['show', 'conntrack', 'table', 'ipv4'],
    help: 'Show conntrack entries for IPv4 protocol',
    options: TABLE_OPTIONS,
    run: (ctx, a) => showConntrackTable(ctx, parseTableQuery('ipv4', a.rest), a),
  },
  {
    words: ['show', 'conntrack', 'table', 'ipv6'],
    help: 'Show conntrack entries for IPv6 protocol',
    options: TABLE_OPTIONS,
    run: (ctx, a) => showConntrackTable(ctx, parseTableQuery('ipv6', a.rest), a),
  },
  { words: ['show', 'conntrack', 'statistics'], help: 'Show conntrack statistics', run: (_ctx, a) => showConntrackStatistics(a) },
  { words: ['monitor', 'conntrack'], help: 'Monitor conntrack tables' },
  {
    words: ['monitor', 'conntrack', 'table'],
    help: 'Monitor conntrack table events until interrupted',
    run: async (ctx, a) => {
      await (await import('./monitor.js')).monitorConntrackTable(ctx, a);
    },
  },
  { words: ['reset', 'conntrack'], help: 'Reset all currently tracked connections', run: async (ctx, a) => (await import('./reset-conntrack.js')).resetConntrack(ctx, a) },
  { words: ['show', 'conntrack-sync'], help: 'Show connection tracking synchronization information' },
  { words: ['show', 'conntrack-sync', 'statistics'], help: 'Show connection syncing statistics', run: showSyncStatistics },
  { words: ['show', 'conntrack-sync', 'status'], help: 'Show conntrack-sync status', run: showSyncStatus },
  { words: ['show', 'conntrack-sync', 'cache'], help: 'Show connection tracking cache entries' },
  ...(['external', 'internal'] as const).flatMap((cache): OpCommand[] => [
    {
      words: ['show', 'conntrack-sync', 'cache', cache],
      help: `Show ${cache} connection tracking cache entries`,
      run: (ctx, a) => showSyncCache(ctx, cache, 'main', a),
    },
    ...(['main', 'expect'] as const).map((table) => ({
      words: ['show', 'conntrack-sync', 'cache', cache, table],
      help: `Show ${cache} ${table} connection tracking cache entries`,
      run: (ctx: OpmodeContext, a: OpArgs) => showSyncCache(ctx, cache, table, a),
    })),
  ]),
  { words: ['reset', 'conntrack-sync'], help: 'Reset connection syncing parameters' },
  {
    words: ['reset', 'conntrack-sync', 'external-cache'],
    help: 'Reset external cache and request resync with other systems',
    run: resetExternalCache,
  },
  {
    words: ['reset', 'conntrack-sync', 'internal-cache'],
    help: 'Reset internal cache and request resync with other systems',
    run: resetInternalCache,
  },
  { words: ['restart', 'conntrack-sync'], help: 'Restart the connection tracking synchronization service', run: restartSync },
];

const startsWith = (words: readonly string[], prefix: readonly string[]): boolean => prefix.every((w, i) => words[i] === w);

/** The commands one word below `prefix`. */
export function childCommands(prefix: readonly string[]): OpCommand[] {
  return OPMODE_COMMANDS.filter((c) => c.words.length === prefix.length + 1 && startsWith(c.words, prefix)).sort((a, b) =>
    a.words[prefix.length]!.localeCompare(b.words[prefix.length]!),
  );
}

/** The words valid after `prefix`: child commands, then the command's own options. */
export function validNextWords(prefix: readonly string[]): string[] {
  const own = OPMODE_COMMANDS.find((c) => c.words.join(' ') === prefix.join(' '));
  return [...childCommands(prefix).map((c) => c.words[prefix.length]!), ...Object.keys(own?.options ?? {})].sort();
}

function invalid(kind: 'Invalid' | 'Incomplete', words: readonly string[], valid: readonly string[]): CtsyncError {
  const hint = valid.length > 0 ? `\nValid next words: ${valid.join(', ')}` : '';
  return new CtsyncError('OPMODE_UNKNOWN_COMMAND', `${kind} command: ${words.join(' ')}${hint}`);
}

/** `ctsync help <words>`: the node's help, then VyOS's "Possible completions". */
export function helpText(words: readonly string[]): string {
  const node = OPMODE_COMMANDS.find((c) => c.words.join(' ') === words.join(' '));
  const children = childCommands(words);
  if (!node && children.length === 0) throw invalid('Invalid', words, []);
  const lines = node ? [`${words.join(' ')}: ${node.help}`] : [];
  lines.push('Possible completions:');
  if (node?.run) lines.push(`  ${'<Enter>'.padEnd(26)}Execute the current command`);
  for (const c of children) lines.push(`  ${c.words[words.length]!.padEnd(26)}${c.help}`);
  for (const [word, help] of Object.entries(node?.options ?? {})) lines.push(`  ${word.padEnd(26)}${help}`);
  return lines.join('\n');
}

/** VyOS's raw-output key normalisation (vyos.md §4): camelCase and `-` to snake_case, lower case. */
export function rawKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rawKeys);
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? Number(value) : value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[-\s]/g, '_').toLowerCase(), rawKeys(v)]),
  );
}

function parseArgs(args: readonly string[]): OpArgs {
  const rest = args.filter((a) => a !== '--json' && a !== '--yes');
  return { json: args.includes('--json'), yes: args.includes('--yes'), rest };
}

export async function runCommand(command: OpCommand, args: readonly string[], ctx: OpmodeContext): Promise<number> {
  const a = parseArgs(args);
  if (a.rest.length > 0 && !command.options) throw invalid('Invalid', [...command.words, a.rest[0]!], validNextWords(command.words));
  if (!command.run) throw invalid('Incomplete', command.words, validNextWords(command.words));
  const output = await command.run(ctx, a);
  if (typeof output === 'string') {
    if (output !== '') ctx.out(output);
  } else if (output !== undefined) {
    ctx.out(JSON.stringify(rawKeys(output), null, 4));
  }
  return 0;
}

function opmodeContext(cli: CliContext): OpmodeContext {
  return processContext(cli.stateDir, cli.env, (text) => cli.io.out(text), (text) => cli.io.err(text));
}

/** Registers every op-mode word with the `ctsync` dispatcher, and `help <verb> …`. */
export function registerOpmodeCommands(): void {
  for (const command of OPMODE_COMMANDS) {
    registerCommand({ words: command.words, summary: command.help, run: (args, cli) => runCommand(command, args, opmodeContext(cli)) });
  }
  for (const verb of new Set(OPMODE_COMMANDS.map((c) => c.words[0]!))) {
    registerCommand({
      words: ['help', verb],
      summary: `Show the op-mode completions of ${verb}`,
      run: (args, cli) => {
        cli.io.out(helpText([verb, ...args]));
        return 0;
      },
    });
  }
}
