/**
 * The conntrackd.conf scanner (shared/spec/conntrackd.md §6, conntrackd's read_config_lex.l).
 *
 * It follows flex's rules, because operators' files depend on them: at each position every
 * pattern is tried, the longest match wins, and a tie goes to the rule listed first (keywords
 * first). That is why `Mode persistent` is a syntax error while `persistenT` is ALARM (the
 * upstream pattern ends in `[T|T]`), why a word made only of hex digits such as `dead` scans
 * as an IP address, and why a path runs until a space, a quote or a newline (a tab or `}` right
 * after a path belongs to the path).
 */

export type TokenKind =
  | 'keyword'
  | 'ON'
  | 'OFF'
  | 'NUMBER'
  | 'SIGNED_NUMBER'
  | 'IP'
  | 'PATH'
  | 'ALARM'
  | 'FTFW'
  | 'NOTRACK'
  | 'STRING'
  | 'CHAR'
  | 'EOF';

export interface Token {
  kind: TokenKind;
  /** The matched text (`yytext`); empty at end of file. */
  text: string;
  /** flex's `yylineno` after the token: 1 + newlines consumed so far. */
  line: number;
  /** For ALARM/FTFW: the lexer's own deprecation warning (`persistent`, `nack`). */
  warning?: string;
}

/** Every keyword of conntrackd 1.4.7's scanner (case-sensitive). */
export const KEYWORDS = new Set([
  'UNIX', 'IPv4_address', 'IPv6_address', 'IPv4_Destination_Address', 'IPv6_Destination_Address',
  'IPv4_interface', 'IPv6_interface', 'Interface', 'Multicast', 'UDP', 'TCP', 'HashSize',
  'RefreshTime', 'CacheTimeout', 'CommitTimeout', 'HashLimit', 'Path', 'Backlog', 'Group', 'Port',
  'LogFile', 'Syslog', 'LockFile', 'General', 'Sync', 'Stats', 'SocketBufferSize',
  'SocketBufferSizeMaxGrown', 'SocketBufferSizeMaxGrowth', 'NetlinkBufferSize',
  'NetlinkBufferSizeMaxGrowth', 'Mode', 'ResendQueueSize', 'Checksum', 'ACKWindowSize', 'for',
  'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE',
  'CLOSED', 'LISTEN', 'SndSocketBuffer', 'RcvSocketBuffer', 'Filter', 'Protocol', 'Address', 'State',
  'Accept', 'Ignore', 'PurgeTimeout', 'From', 'Userspace', 'Kernelspace', 'EventIterationLimit',
  'Default', 'PollSecs', 'NetlinkOverrunResync', 'Nice', 'Scheduler', 'Type', 'Priority',
  'NetlinkEventsReliable', 'DisableInternalCache', 'DisableExternalCache', 'Options',
  'TCPWindowTracking', 'ExpectationSync', 'ErrorQueueLength', 'Helper', 'QueueNum', 'QueueLen',
  'Policy', 'ExpectMax', 'ExpectTimeout', 'Systemd', 'StartupResync', 'Setup',
]);

const HEX = '[0-9a-fA-F]{1,4}';
const IP6_PART = `${HEX}:?`;

/** Patterns after the keywords, in rule order (order breaks ties). `null` kind: skipped. */
const RULES: Array<{ kind: TokenKind | null; re: RegExp; warning?: string }> = [
  { kind: 'ON', re: /[o|O][n|N]|[y|Y][e|E][s|S]/y },
  { kind: 'OFF', re: /[o|O][f|F][f|F]|[n|N][o|O]/y },
  { kind: 'NUMBER', re: /[0-9]+/y },
  { kind: 'SIGNED_NUMBER', re: /[-+][0-9]+/y },
  { kind: 'IP', re: /[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+(?:\/[0-9]+)?/y },
  {
    kind: 'IP',
    re: new RegExp(`(?:(?:${IP6_PART}){0,7}::(?:${IP6_PART}){0,7}|(?:${HEX}:){0,7}${HEX})(?:\\/[0-9]+)?`, 'y'),
  },
  { kind: 'PATH', re: /\/[^"\n ]*/y },
  { kind: 'ALARM', re: /[A|a][L|l][A|a][R|r][M|m]/y },
  {
    kind: 'ALARM',
    re: /[P|p][E|e][R|r][S|s][I|i][S|s][T|t][E|e][N|n][T|T]/y,
    warning: "Now `persistent' mode is called `alarm'. Please, update your conntrackd.conf file.",
  },
  { kind: 'FTFW', re: /[F|f][T|t][F|f][W|w]/y },
  {
    kind: 'FTFW',
    re: /[N|n][A|a][C|c][K|k]/y,
    warning: "Now `nack' mode is called `ftfw'. Please, update your conntrackd.conf file.\n",
  },
  { kind: 'NOTRACK', re: /[N|n][O|o][T|t][R|r][A|a][C|c][K|k]/y },
  { kind: 'STRING', re: /[a-zA-Z][a-zA-Z0-9._-]*/y },
  { kind: null, re: /#.*/y },
  { kind: null, re: /[ \t]+/y },
  { kind: null, re: /[\n\r]/y },
];

const KEYWORD_RE = /[A-Za-z0-9_]+/y;

export function* scan(text: string): Generator<Token> {
  let pos = 0;
  let line = 1;
  while (pos < text.length) {
    let bestLen = 0;
    let best: (typeof RULES)[number] | undefined;
    let keyword = false;
    KEYWORD_RE.lastIndex = pos;
    const word = KEYWORD_RE.exec(text)?.[0];
    // Keyword rules are literal strings: a keyword matches its exact length.
    for (let len = word?.length ?? 0; len > 0; len--) {
      if (KEYWORDS.has(text.slice(pos, pos + len))) {
        bestLen = len;
        keyword = true;
        break;
      }
    }
    for (const rule of RULES) {
      rule.re.lastIndex = pos;
      const m = rule.re.exec(text);
      if (m && m[0].length > bestLen) {
        bestLen = m[0].length;
        best = rule;
        keyword = false;
      }
    }
    const matched = bestLen > 0 ? text.slice(pos, pos + bestLen) : text[pos]!;
    pos += matched.length;
    for (const ch of matched) if (ch === '\n') line++;
    if (keyword) {
      yield { kind: 'keyword', text: matched, line };
    } else if (!best) {
      yield { kind: 'CHAR', text: matched, line };
    } else if (best.kind !== null) {
      yield { kind: best.kind, text: matched, line, ...(best.warning ? { warning: best.warning } : {}) };
    }
  }
  yield { kind: 'EOF', text: '', line };
}
