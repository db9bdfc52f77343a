/**
 * The `ctsyncd` command line: conntrackd's (src/main.c, shared/spec/conntrackd.md §5.3)
 * option for option. Options are recognised by their second character only; an optional
 * sub-argument is the next word when it does not start with `-`, matched as a prefix in
 * conntrackd's order. Request mode parses the config (for the UNIX path), sends one request
 * and prints the reply; daemon mode hands the parsed config to the daemon.
 */
import { createRequire } from 'node:module';
import { isCtsyncError } from '../common/errors.js';
import { DEFAULT_CONFIG_FILE, readConfigFile } from './config/parser.js';
import type { EngineConfig } from './config/types.js';
import { request } from './control/client.js';
import { REQUEST } from './control/requests.js';
import { runDaemon as runEngineDaemon, type DaemonOptions } from './daemon/run.js';
import { formatLogLine } from './log.js';

const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** The conntrackd release whose command line, config and wire ctsyncd reproduce. */
export const CONNTRACKD_COMPAT = '1.4.7';

export type CliIntent =
  | { kind: 'request'; configFile: string; code: number; warnings: string[] }
  | { kind: 'daemon'; configFile: string; daemonize: boolean }
  | { kind: 'exit'; status: number; stdout: string; stderr: string[] };

/** The daemon (src/engine/daemon/run.ts): runs until shutdown, resolves with the exit status. */
export type RunDaemon = (config: EngineConfig, opts: DaemonOptions) => Promise<number>;

export function usage(progname: string): string {
  return (
    `ctsyncd v${VERSION} (conntrackd ${CONNTRACKD_COMPAT} compatible)\n` +
    `Usage: ${progname} [commands] [options]\n\n` +
    'General commands:\n' +
    '  -d, run in daemon mode\n' +
    '  -C [configfile], configuration file path\n' +
    '  -v, display conntrackd version\n' +
    '  -h, display this help information\n\n' +
    'Client mode commands:\n' +
    '  -c [ct|expect], commit external cache to conntrack table\n' +
    '  -f [internal|external], flush internal and external cache\n' +
    '  -F [ct|expect], flush kernel conntrack table\n' +
    '  -i [ct|expect], display content of the internal cache\n' +
    '  -e [ct|expect], display the content of the external cache\n' +
    '  -k, kill conntrack daemon\n' +
    '  -s  [network|cache|runtime|link|rsqueue|queue|ct|expect], dump statistics\n' +
    '  -R [ct|expect], resync with kernel conntrack table\n' +
    '  -n, request resync with other node (only FT-FW and NOTRACK modes)\n' +
    '  -B, force a bulk send to other replica firewalls\n' +
    '  -x, dump cache in XML format (requires -i or -e)\n' +
    '  -t, reset the kernel timeout (see PurgeTimeout clause)\n\n'
  );
}

export function versionText(): string {
  return `ctsyncd v${VERSION}, connection tracking sync daemon (conntrackd ${CONNTRACKD_COMPAT} compatible). Licensed under GPLv2.\n`;
}

/** `-x` turns a dump request into its XML twin. */
const XML_OF = new Map<number, number>([
  [REQUEST.CT_DUMP_INTERNAL, REQUEST.CT_DUMP_INT_XML],
  [REQUEST.CT_DUMP_EXTERNAL, REQUEST.CT_DUMP_EXT_XML],
  [REQUEST.EXP_DUMP_INTERNAL, REQUEST.EXP_DUMP_INT_XML],
  [REQUEST.EXP_DUMP_EXTERNAL, REQUEST.EXP_DUMP_EXT_XML],
]);

/** Sub-arguments per option: [word, code] in the order conntrackd tries them, and the default. */
const SUB: Record<string, { words: Array<[string, number]>; dflt: number; strict: boolean }> = {
  c: { words: [['ct', REQUEST.CT_COMMIT], ['expect', REQUEST.EXP_COMMIT]], dflt: REQUEST.ALL_COMMIT, strict: false },
  i: { words: [['ct', REQUEST.CT_DUMP_INTERNAL], ['expect', REQUEST.EXP_DUMP_INTERNAL]], dflt: REQUEST.CT_DUMP_INTERNAL, strict: false },
  e: { words: [['ct', REQUEST.CT_DUMP_EXTERNAL], ['expect', REQUEST.EXP_DUMP_EXTERNAL]], dflt: REQUEST.CT_DUMP_EXTERNAL, strict: false },
  F: { words: [['ct', REQUEST.CT_FLUSH_MASTER], ['expect', REQUEST.EXP_FLUSH_MASTER]], dflt: REQUEST.ALL_FLUSH_MASTER, strict: false },
  R: { words: [['ct', REQUEST.CT_RESYNC_MASTER], ['expect', REQUEST.EXP_RESYNC_MASTER]], dflt: REQUEST.ALL_RESYNC_MASTER, strict: false },
  f: { words: [['internal', REQUEST.CT_FLUSH_INT_CACHE], ['external', REQUEST.CT_FLUSH_EXT_CACHE]], dflt: REQUEST.ALL_FLUSH_CACHE, strict: true },
  s: {
    words: [
      ['network', REQUEST.STATS_NETWORK], ['cache', REQUEST.STATS_CACHE], ['runtime', REQUEST.STATS_RUNTIME],
      ['multicast', REQUEST.STATS_LINK], ['link', REQUEST.STATS_LINK], ['rsqueue', REQUEST.STATS_RSQUEUE],
      ['process', REQUEST.STATS_PROCESS], ['queue', REQUEST.STATS_QUEUE], ['ct', REQUEST.STATS], ['expect', REQUEST.EXP_STATS],
    ],
    dflt: REQUEST.STATS,
    strict: true,
  },
};
const SIMPLE: Record<string, number> = { B: REQUEST.SEND_BULK, k: REQUEST.KILL, n: REQUEST.REQUEST_DUMP, t: REQUEST.RESET_TIMERS };

/** Scan argv (argv[0] = program name) exactly as conntrackd's main() does. */
export function parseCommandLine(argv: readonly string[]): CliIntent {
  const progname = argv[0] ?? 'ctsyncd';
  const stderr: string[] = [];
  let mode: 'request' | 'daemon' | undefined;
  let code: number | undefined;
  let configFile: string | undefined;
  const fail = (status: number, msg: string): CliIntent => ({ kind: 'exit', status, stdout: usage(progname), stderr: [...stderr, msg] });

  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    const opt = arg[1] ?? '';
    const want = opt === 'd' ? 'daemon' : opt in SUB || opt in SIMPLE ? 'request' : undefined;
    if (want) {
      if (mode !== undefined && mode !== want) return fail(1, 'Invalid parameters');
      mode = want;
    }
    if (opt === 'd') continue;
    if (opt in SIMPLE) {
      code = SIMPLE[opt];
      continue;
    }
    const sub = SUB[opt];
    if (sub) {
      code = sub.dflt;
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('-')) {
        const hit = sub.words.find(([word]) => word.startsWith(next));
        if (hit) {
          code = hit[1];
          i++;
          if (hit[0] === 'multicast') stderr.push("use `link' instead of `multicast' as parameter.");
        } else if (sub.strict) {
          return { kind: 'exit', status: 1, stdout: '', stderr: [...stderr, `unknown parameter \`${next}' for option \`-${opt}'`] };
        }
      }
      continue;
    }
    switch (opt) {
      case 'C':
        if (i + 1 < argv.length) {
          configFile = argv[++i];
        } else {
          return { kind: 'exit', status: 1, stdout: usage(progname), stderr: [...stderr, 'Missing config filename'] };
        }
        break;
      case 'x': {
        const xml = code === undefined ? undefined : XML_OF.get(code);
        if (xml === undefined) return fail(1, 'Invalid parameters');
        code = xml;
        break;
      }
      case 'v':
        return { kind: 'exit', status: 0, stdout: versionText(), stderr };
      case 'h':
        return { kind: 'exit', status: 0, stdout: usage(progname), stderr };
      default:
        // conntrackd prints usage and returns 0 here.
        return { kind: 'exit', status: 0, stdout: usage(progname), stderr: [...stderr, `Unknown option: ${arg}`] };
    }
  }
  const file = configFile ?? DEFAULT_CONFIG_FILE;
  if (mode === 'request') return { kind: 'request', configFile: file, code: code!, warnings: stderr };
  return { kind: 'daemon', configFile: file, daemonize: mode === 'daemon' };
}

export interface CliIo {
  stdout: (text: string | Buffer) => void;
  /** Gets a complete log line. */
  stderr: (line: string) => void;
}

const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (l) => process.stderr.write(l),
};

/** Run the command line; resolves with the exit status. Never throws. */
export async function main(argv: readonly string[], io: CliIo = processIo, runDaemon: RunDaemon = runEngineDaemon): Promise<number> {
  const intent = parseCommandLine(argv);
  const error = (msg: string): void => io.stderr(formatLogLine('ERROR', msg));
  if (intent.kind === 'exit') {
    for (const msg of intent.stderr) {
      io.stderr(formatLogLine(msg.startsWith('use `link') ? 'warning' : 'ERROR', msg));
    }
    if (intent.stdout) io.stdout(intent.stdout);
    return intent.status;
  }
  let config: EngineConfig;
  try {
    config = readConfigFile(intent.configFile);
  } catch (e) {
    error(isCtsyncError(e) ? e.message : String(e));
    return 1;
  }
  if (intent.kind === 'daemon') {
    try {
      return await runDaemon(config, { daemonize: intent.daemonize });
    } catch (e) {
      error(e instanceof Error ? e.message : String(e));
      return 1;
    }
  }
  for (const w of intent.warnings) io.stderr(formatLogLine('warning', w));
  // conntrackd prints its own parse warnings in every mode; ctsyncd's notes are for the daemon.
  for (const w of config.warnings) if (!w.startsWith('ctsyncd:')) io.stderr(formatLogLine('warning', w));
  try {
    await request(config.general.unixPath, intent.code, (chunk) => io.stdout(chunk));
    return 0;
  } catch (e) {
    error(isCtsyncError(e) ? e.message : String(e));
    return 1;
  }
}
