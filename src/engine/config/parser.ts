/**
 * conntrackd.conf → EngineConfig (shared/spec/conntrackd.md §6; conntrackd 1.4.7's
 * read_config_yy.y). A recursive-descent twin of the upstream grammar: the same clauses in
 * the same blocks, the same messages, the same defaults (a zero means "use the default", as
 * upstream's init_config does).
 *
 * Errors: a token the grammar cannot take → ENGINE_CONFIG_SYNTAX with conntrackd's
 * "parsing config file in line (%d), symbol '%s': syntax error"; a semantic error upstream
 * exits on → ENGINE_CONFIG_INVALID with its sentence. Upstream's warnings (a clause it logs
 * and ignores) and clauses ctsyncd parses but does not act on are collected in `warnings`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIPv4, isIPv6 } from 'node:net';
import { CtsyncError } from '../../common/errors.js';
import { TCP_STATE } from '../model/conntrack.js';
import { scan, type Token } from './lexer.js';
import type {
  AddressMatch,
  EngineConfig,
  FilterConfig,
  FilterPolicy,
  GeneralConfig,
  LinkConfig,
  LinkKind,
  SyncConfig,
  SyncModeName,
  SyslogSetting,
} from './types.js';

export const DEFAULT_CONFIG_FILE = '/etc/conntrackd/conntrackd.conf';
export const DEFAULT_LOCKFILE = '/var/lock/conntrackd.lock';
export const DEFAULT_LOGFILE = '/var/log/conntrackd.log';
export const DEFAULT_STATS_LOGFILE = '/var/log/conntrackd-stats.log';
/** MULTICHANNEL_MAX (§4.1). */
export const MAX_LINKS = 4;
/** sun_path minus the terminating NUL, as upstream checks it. */
const UNIX_PATH_MAX = 107;
/** The helpers conntrackd 1.4.7 ships (ct_helper_*.so); others are "Unknown `%s' helper". */
const KNOWN_HELPERS = new Set(['amanda', 'dhcpv6', 'ftp', 'mdns', 'rpc', 'sane', 'slp', 'ssdp', 'tftp', 'tns']);
const SYSLOG_FACILITIES = new Set(['daemon', 'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7']);

export interface ParseOptions {
  /** if_nametoindex() stand-in: does the interface exist here? Default: /sys/class/net. */
  interfaceExists?: (name: string) => boolean;
  /** getprotobyname() stand-in. Default: /etc/protocols, then a built-in table. */
  protocolNumber?: (name: string) => number | undefined;
}

/** Read and parse a config file; a missing file is upstream's "can't open config file `%s'". */
export function readConfigFile(path: string, options: ParseOptions = {}): EngineConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CtsyncError('ENGINE_CONFIG_INVALID', `can't open config file \`${path}'`, { cause: e });
  }
  return parseConfig(text, options);
}

export function parseConfig(text: string, options: ParseOptions = {}): EngineConfig {
  return new ConfigParser(text, options).parse();
}

/** The link being filled in (upstream's conf.channel[conf.channel_num]). */
interface LinkDraft {
  family?: 'ipv4' | 'ipv6';
  address?: string;
  destination?: string;
  port: number;
  ipv4Interface?: string;
  interface: string;
  /** Multicast IPv6: ifindex resolved (the Interface-after-IPv6_address quirk, §4.2). */
  ifindexKnown: boolean;
  sndSocketBuffer?: number;
  rcvSocketBuffer?: number;
  checksum: boolean;
}

const TCP_STATE_WORDS: Record<string, number> = {
  SYN_SENT: TCP_STATE.SYN_SENT,
  SYN_RECV: TCP_STATE.SYN_RECV,
  ESTABLISHED: TCP_STATE.ESTABLISHED,
  FIN_WAIT: TCP_STATE.FIN_WAIT,
  CLOSE_WAIT: TCP_STATE.CLOSE_WAIT,
  LAST_ACK: TCP_STATE.LAST_ACK,
  TIME_WAIT: TCP_STATE.TIME_WAIT,
  CLOSE: TCP_STATE.CLOSE,
  CLOSED: TCP_STATE.CLOSE,
  // TCP_CONNTRACK_LISTEN shares the value of SYN_SENT2.
  LISTEN: TCP_STATE.SYN_SENT2,
};

class ConfigParser {
  private readonly tokens: Generator<Token>;
  private tok: Token;
  private readonly warnings: string[] = [];
  private readonly interfaceExists: (name: string) => boolean;
  private readonly protocolNumber: (name: string) => number | undefined;

  // Upstream's global `conf`, zero meaning "default" where init_config says so.
  private hashSize = 0;
  private hashSizeSeen = false;
  private hashLimit = 0;
  private logFile: false | string = false;
  private syslog: SyslogSetting = false;
  private lockFile = '';
  private unixPath = '';
  private netlinkBufferSize?: number;
  private netlinkBufferSizeMaxGrowth = 0;
  private overrunResync = 0;
  private eventsReliable = false;
  private eventIterationLimit = 0;
  private pollSecs?: number;
  private filter?: FilterConfig;
  private scheduler?: { type: 'RR' | 'FIFO'; priority: number };
  private systemd = false;
  private syncSeen = false;
  private statsSeen = false;
  private stats = { logFile: false as false | string, syslog: false as SyslogSetting };
  private modes = new Set<SyncModeName>();
  private refresh = 0;
  private cacheTimeout = 0;
  private commitTimeout = 0;
  private purgeTimeout = 0;
  private resendQueueSize = 0;
  private windowSize = 0;
  private disableInternalCache = false;
  private disableExternalCache = false;
  private startupResync = false;
  private tcpWindowTracking = false;
  private expectationSync?: 'all' | string[];
  private errorQueueLength = 0;
  private linkKind?: LinkKind;
  private readonly links: Array<{ kind: LinkKind; isDefault: boolean; draft: LinkDraft }> = [];
  private draft: LinkDraft = newDraft();
  private helperSeen = false;

  constructor(text: string, options: ParseOptions) {
    this.tokens = scan(text);
    this.interfaceExists = options.interfaceExists ?? ((n) => existsSync(`/sys/class/net/${n}`));
    this.protocolNumber = options.protocolNumber ?? systemProtocolNumber;
    this.tok = this.next();
  }

  parse(): EngineConfig {
    while (this.tok.kind !== 'EOF') {
      if (this.isKw('General')) this.general();
      else if (this.isKw('Sync')) this.sync();
      else if (this.isKw('Stats')) this.statsBlock();
      else if (this.isKw('Helper')) this.helper();
      else this.syntaxError();
    }
    return this.build();
  }

  // ---- token helpers -------------------------------------------------------------------

  private next(): Token {
    const t = this.tokens.next().value as Token;
    if (t.warning) this.warnings.push(t.warning);
    return t;
  }

  private advance(): Token {
    const t = this.tok;
    this.tok = this.next();
    return t;
  }

  private isKw(word: string): boolean {
    return this.tok.kind === 'keyword' && this.tok.text === word;
  }

  private isChar(c: string): boolean {
    return this.tok.kind === 'CHAR' && this.tok.text === c;
  }

  private syntaxError(): never {
    throw new CtsyncError(
      'ENGINE_CONFIG_SYNTAX',
      `parsing config file in line (${this.tok.line}), symbol '${this.tok.text}': syntax error`,
    );
  }

  private invalid(message: string): never {
    throw new CtsyncError('ENGINE_CONFIG_INVALID', message);
  }

  private expectKw(word: string): void {
    if (!this.isKw(word)) this.syntaxError();
    this.advance();
  }

  private expectChar(c: string): void {
    if (!this.isChar(c)) this.syntaxError();
    this.advance();
  }

  private expect(kind: Token['kind']): string {
    if (this.tok.kind !== kind) this.syntaxError();
    return this.advance().text;
  }

  private number(): number {
    // atoi(): digits only here, so Number() is exact up to 2^53; upstream wraps at 2^31.
    return Number(this.expect('NUMBER')) | 0;
  }

  private bool(): boolean {
    if (this.tok.kind === 'ON') return (this.advance(), true);
    if (this.tok.kind === 'OFF') return (this.advance(), false);
    this.syntaxError();
  }

  /** `{ item* }` where `item` consumes one clause and returns false if it cannot start. */
  private block(item: () => boolean): void {
    this.expectChar('{');
    while (!this.isChar('}')) {
      if (!item()) this.syntaxError();
    }
    this.advance();
  }

  // ---- General -------------------------------------------------------------------------

  private general(): void {
    this.advance();
    this.block(() => {
      const kw = this.tok.kind === 'keyword' ? this.tok.text : '';
      switch (kw) {
        case 'HashSize':
          this.advance();
          this.hashSize = this.number();
          this.hashSizeSeen = true;
          return true;
        case 'HashLimit':
          this.advance();
          this.hashLimit = this.number();
          return true;
        case 'LogFile':
          this.advance();
          this.logFile = this.logFileValue(this.logFile, DEFAULT_LOGFILE);
          return true;
        case 'Syslog':
          this.advance();
          this.syslog = this.syslogValue(this.syslog, this.stats.syslog, "'%s' is not a known syslog facility, ignoring");
          return true;
        case 'LockFile':
          this.advance();
          this.lockFile = this.expect('PATH');
          return true;
        case 'UNIX':
          this.advance();
          this.unixBlock();
          return true;
        case 'NetlinkBufferSize':
        case 'SocketBufferSize':
          this.advance();
          this.netlinkBufferSize = this.number();
          return true;
        case 'NetlinkBufferSizeMaxGrowth':
        case 'SocketBufferSizeMaxGrown':
        case 'SocketBufferSizeMaxGrowth':
          this.advance();
          this.netlinkBufferSizeMaxGrowth = this.number();
          return true;
        case 'NetlinkOverrunResync':
          this.advance();
          if (this.tok.kind === 'NUMBER') this.overrunResync = this.number();
          else this.overrunResync = this.bool() ? 30 : -1;
          return true;
        case 'NetlinkEventsReliable':
          this.advance();
          this.eventsReliable = this.bool();
          return true;
        case 'EventIterationLimit':
          this.advance();
          this.eventIterationLimit = this.number();
          return true;
        case 'PollSecs':
          this.advance();
          this.pollSecs = this.number();
          if (this.pollSecs === 0) this.invalid("`PollSecs' clause must be > 0");
          return true;
        case 'Filter':
          this.advance();
          this.filterBlock();
          return true;
        case 'Nice':
          this.advance();
          this.expect('SIGNED_NUMBER');
          this.warnings.push(
            'deprecated nice configuration, ignoring. The nice value can be set externally with nice(1) and renice(1).',
          );
          return true;
        case 'Scheduler':
          this.advance();
          this.schedulerBlock();
          return true;
        case 'Systemd':
          this.advance();
          this.systemd = this.bool();
          return true;
        default:
          return false;
      }
    });
  }

  private logFileValue(current: false | string, onPath: string): false | string {
    if (this.tok.kind === 'PATH') return this.advance().text;
    // `LogFile off` leaves an earlier value alone, as upstream's empty action does.
    return this.bool() ? onPath : current;
  }

  /** `Syslog on|off|<facility>`; a facility also checks the General/Stats conflict, as upstream. */
  private syslogValue(current: SyslogSetting, other: SyslogSetting, unknown: string): SyslogSetting {
    if (this.tok.kind === 'STRING') {
      const name = this.advance().text;
      if (!SYSLOG_FACILITIES.has(name)) {
        this.warnings.push(unknown.replace('%s', name));
        return current;
      }
      if (other !== false && other.facility !== name) {
        this.warnings.push('conflicting Syslog facility values, defaulting to General');
      }
      return { facility: name };
    }
    return this.bool() ? { facility: 'daemon' } : false;
  }

  private unixBlock(): void {
    this.block(() => {
      if (this.isKw('Path')) {
        this.advance();
        const path = this.expect('PATH');
        if (path.length > UNIX_PATH_MAX) this.invalid(`Path is longer than ${UNIX_PATH_MAX} characters`);
        this.unixPath = path;
        return true;
      }
      if (this.isKw('Backlog')) {
        this.advance();
        this.number();
        this.warnings.push('deprecated unix backlog configuration, ignoring.');
        return true;
      }
      return false;
    });
  }

  private schedulerBlock(): void {
    const sched = this.scheduler ?? { type: 'RR' as const, priority: 99 };
    this.block(() => {
      if (this.isKw('Type')) {
        this.advance();
        const type = this.expect('STRING');
        if (type.toLowerCase() === 'rr') sched.type = 'RR';
        else if (type.toLowerCase() === 'fifo') sched.type = 'FIFO';
        else this.invalid(`unknown scheduler \`${type}'`);
        return true;
      }
      if (this.isKw('Priority')) {
        this.advance();
        sched.priority = this.number();
        if (sched.priority < 0 || sched.priority > 99) this.invalid("`Priority' must be [0, 99]\n");
        return true;
      }
      return false;
    });
    this.scheduler = sched;
  }

  private filterBlock(): void {
    let from: FilterConfig['from'] = 'userspace';
    if (this.isKw('From')) {
      this.advance();
      if (this.isKw('Userspace')) from = 'userspace';
      else if (this.isKw('Kernelspace')) from = 'kernelspace';
      else this.syntaxError();
      this.advance();
    }
    const filter: FilterConfig = this.filter ?? { from };
    filter.from = from;
    this.block(() => {
      if (this.isKw('Protocol')) {
        this.advance();
        const policy = this.policy();
        const set = (filter.protocol ??= { policy, protos: [] });
        set.policy = policy;
        this.block(() => this.protocolItem(set.protos));
        return true;
      }
      if (this.isKw('Address')) {
        this.advance();
        const policy = this.policy();
        const set = (filter.address ??= { policy, addresses: [] });
        set.policy = policy;
        this.block(() => this.addressItem(set.addresses));
        return true;
      }
      if (this.isKw('State')) {
        this.advance();
        const policy = this.policy();
        const set = (filter.state ??= { policy, states: [] });
        set.policy = policy;
        this.block(() => this.stateItem(set.states));
        return true;
      }
      return false;
    });
    this.filter = filter;
  }

  private policy(): FilterPolicy {
    if (this.isKw('Accept')) return (this.advance(), 'accept');
    if (this.isKw('Ignore')) return (this.advance(), 'ignore');
    this.syntaxError();
  }

  private protocolItem(protos: number[]): boolean {
    let name: string;
    if (this.isKw('TCP')) name = 'tcp';
    else if (this.isKw('UDP')) name = 'udp';
    else if (this.tok.kind === 'STRING') name = this.tok.text;
    else return false;
    this.advance();
    const proto = this.protocolNumber(name);
    if (proto === undefined) {
      this.warnings.push(`getprotobyname() cannot find protocol \`${name}' in /etc/protocols`);
    } else if (!protos.includes(proto)) {
      protos.push(proto);
    }
    return true;
  }

  private addressItem(list: AddressMatch[]): boolean {
    const v6 = this.isKw('IPv6_address');
    if (!v6 && !this.isKw('IPv4_address')) return false;
    this.advance();
    const text = this.expect('IP');
    const max = v6 ? 128 : 32;
    const slash = text.indexOf('/');
    const address = slash < 0 ? text : text.slice(0, slash);
    const prefix = slash < 0 ? max : parseInt(text.slice(slash + 1), 10);
    if (prefix > max) {
      this.warnings.push(`${address}/${prefix} is not a valid network, ignoring`);
      return true;
    }
    const parsed = v6 ? (isIPv6(address) ? address : undefined) : inetAton(address);
    if (parsed === undefined) {
      this.warnings.push(`${address} is not a valid IPv${v6 ? 6 : 4}, ignoring`);
      return true;
    }
    const l3 = v6 ? 'ipv6' : 'ipv4';
    if (list.some((a) => a.l3 === l3 && a.address === parsed && a.prefix === prefix)) {
      this.warnings.push(prefix < max ? `netmask ${address} is repeated in the ignore pool` : `IP ${address} is repeated in the ignore pool`);
      return true;
    }
    list.push({ l3, address: parsed, prefix });
    return true;
  }

  /** `tcp_states for TCP`: one or more state words, then `for TCP`. */
  private stateItem(states: number[]): boolean {
    if (!(this.tok.kind === 'keyword' && this.tok.text in TCP_STATE_WORDS) && !this.isKw('for')) return false;
    while (this.tok.kind === 'keyword' && this.tok.text in TCP_STATE_WORDS) {
      const s = TCP_STATE_WORDS[this.advance().text]!;
      if (!states.includes(s)) states.push(s);
    }
    this.expectKw('for');
    this.expectKw('TCP');
    return true;
  }

  // ---- Sync ----------------------------------------------------------------------------

  private sync(): void {
    this.advance();
    this.block(() => {
      if (this.timerClause(['RefreshTime', 'CacheTimeout', 'CommitTimeout', 'PurgeTimeout'])) return true;
      if (this.isKw('Multicast')) return (this.linkBlock('multicast'), true);
      if (this.isKw('UDP')) return (this.linkBlock('udp'), true);
      if (this.isKw('TCP')) return (this.linkBlock('tcp'), true);
      if (this.isKw('Mode')) return (this.modeBlock(), true);
      if (this.isKw('Options')) return (this.optionsBlock(), true);
      return false;
    });
    if (this.statsSeen) this.invalid("cannot use both `Stats' and `Sync' clauses in conntrackd.conf");
    this.syncSeen = true;
  }

  /** RefreshTime / CacheTimeout / CommitTimeout / PurgeTimeout, where the block allows them. */
  private timerClause(allowed: string[]): boolean {
    if (this.tok.kind !== 'keyword' || !allowed.includes(this.tok.text)) return false;
    const kw = this.advance().text;
    const n = this.number();
    if (kw === 'RefreshTime') this.refresh = n;
    else if (kw === 'CacheTimeout') this.cacheTimeout = n;
    else if (kw === 'CommitTimeout') this.commitTimeout = n;
    else this.purgeTimeout = n;
    return true;
  }

  private modeBlock(): void {
    this.advance();
    const kind = this.tok.kind;
    if (kind !== 'FTFW' && kind !== 'ALARM' && kind !== 'NOTRACK') this.syntaxError();
    this.advance();
    this.block(() => {
      if (kind === 'ALARM') return this.timerClause(['RefreshTime', 'CacheTimeout', 'CommitTimeout', 'PurgeTimeout']);
      if (this.timerClause(['CommitTimeout', 'PurgeTimeout'])) return true;
      if (kind === 'FTFW' && this.isKw('ResendQueueSize')) return (this.advance(), (this.resendQueueSize = this.number()), true);
      if (kind === 'FTFW' && this.isKw('ACKWindowSize')) return (this.advance(), (this.windowSize = this.number()), true);
      if (kind === 'NOTRACK' && this.isKw('DisableInternalCache')) {
        return (this.advance(), (this.disableInternalCache = this.bool()), true);
      }
      if (this.isKw('DisableExternalCache')) return (this.advance(), (this.disableExternalCache = this.bool()), true);
      if (this.isKw('StartupResync')) return (this.advance(), (this.startupResync = this.bool()), true);
      return false;
    });
    this.modes.add(kind);
  }

  private optionsBlock(): void {
    this.advance();
    this.block(() => {
      if (this.isKw('TCPWindowTracking')) return (this.advance(), (this.tcpWindowTracking = this.bool()), true);
      if (this.isKw('ExpectationSync')) {
        this.advance();
        if (this.isChar('{')) {
          const helpers: string[] = Array.isArray(this.expectationSync) ? this.expectationSync : [];
          this.block(() => (this.tok.kind === 'STRING' ? (helpers.push(this.advance().text), true) : false));
          // `ExpectationSync on` earlier already selects every helper.
          if (this.expectationSync !== 'all') this.expectationSync = helpers;
        } else {
          // `off` only resets the netlink groups upstream; CTD_EXPECT stays if set earlier.
          if (this.bool()) this.expectationSync = 'all';
        }
        return true;
      }
      return false;
    });
  }

  private maxLinksReached(): void {
    if (this.links.length >= MAX_LINKS) {
      this.invalid(`too many dedicated links in the configuration file (Maximum: ${MAX_LINKS})`);
    }
  }

  private linkBlock(kind: LinkKind): void {
    this.advance();
    let isDefault = false;
    if (this.isKw('Default')) {
      this.advance();
      isDefault = true;
    }
    this.block(() => this.linkOption(kind));
    const name = kind === 'multicast' ? 'Multicast' : kind.toUpperCase();
    if (this.linkKind !== undefined && this.linkKind !== kind) {
      this.invalid(`cannot use \`${name}' with other dedicated link protocols!`);
    }
    this.maxLinksReached();
    this.linkKind = kind;
    this.links.push({ kind, isDefault, draft: this.draft });
    this.draft = newDraft();
  }

  private linkOption(kind: LinkKind): boolean {
    if (this.tok.kind !== 'keyword') return false;
    const d = this.draft;
    const kw = this.tok.text;
    const mcast = kind === 'multicast';
    switch (kw) {
      case 'IPv4_address':
      case 'IPv4_Destination_Address':
      case 'IPv4_interface': {
        if ((kw === 'IPv4_Destination_Address' && mcast) || (kw === 'IPv4_interface' && !mcast)) return false;
        this.advance();
        const text = this.expect('IP');
        this.maxLinksReached();
        const addr = inetAton(text);
        if (addr === undefined) {
          this.warnings.push(`${text} is not a valid IPv4 address`);
          return true;
        }
        if (mcast && d.family === 'ipv6') {
          this.warnings.push(
            kw === 'IPv4_address'
              ? 'your multicast address is IPv4 but is binded to an IPv6 interface? Surely, this is not what you want'
              : 'your multicast interface is IPv4 but is binded to an IPv6 interface? Surely, this is not what you want',
          );
          return true;
        }
        if (kw === 'IPv4_address') d.address = addr;
        else if (kw === 'IPv4_interface') d.ipv4Interface = addr;
        else d.destination = addr;
        d.family = 'ipv4';
        return true;
      }
      case 'IPv6_address':
      case 'IPv6_Destination_Address': {
        if (kw === 'IPv6_Destination_Address' && mcast) return false;
        this.advance();
        const text = this.expect('IP');
        this.maxLinksReached();
        if (!isIPv6(text)) {
          this.warnings.push(`${text} is not a valid IPv6 address`);
          return true;
        }
        if (mcast && d.family === 'ipv4') {
          this.warnings.push(
            'your multicast address is IPv6 but is binded to an IPv4 interface? Surely this is not what you want',
          );
          return true;
        }
        if (kw === 'IPv6_address') d.address = text;
        else d.destination = text;
        d.family = 'ipv6';
        // §4.2 quirk: with `Interface` already given, upstream resolves the *address* as an
        // interface name, which fails; the group is then joined on ifindex 0.
        if (mcast && d.interface !== '' && !d.ifindexKnown) {
          this.warnings.push(`${text} is an invalid interface`);
        }
        return true;
      }
      case 'IPv6_interface':
        if (!mcast) return false;
        this.advance();
        this.expect('IP');
        this.warnings.push("`IPv6_interface' not required, ignoring");
        return true;
      case 'Interface': {
        this.advance();
        const name = this.expect('STRING');
        this.maxLinksReached();
        d.interface = name.slice(0, 15);
        if (!this.interfaceExists(name)) {
          this.warnings.push(`${name} is an invalid interface`);
          return true;
        }
        if (mcast && d.family === 'ipv6') d.ifindexKnown = true;
        return true;
      }
      case 'Group':
      case 'Port':
        if ((kw === 'Group') !== mcast) return false;
        this.advance();
        d.port = this.number();
        this.maxLinksReached();
        return true;
      case 'SndSocketBuffer':
        this.advance();
        d.sndSocketBuffer = this.number();
        this.maxLinksReached();
        return true;
      case 'RcvSocketBuffer':
        this.advance();
        d.rcvSocketBuffer = this.number();
        this.maxLinksReached();
        return true;
      case 'Checksum':
        this.advance();
        d.checksum = this.bool();
        this.maxLinksReached();
        return true;
      case 'ErrorQueueLength':
        if (kind !== 'tcp') return false;
        this.advance();
        // One global value upstream (CONFIG(channelc)): the last one wins for every link.
        this.errorQueueLength = this.number();
        this.maxLinksReached();
        return true;
      default:
        return false;
    }
  }

  // ---- Stats and Helper ----------------------------------------------------------------

  private statsBlock(): void {
    this.advance();
    this.block(() => {
      if (this.isKw('LogFile')) {
        this.advance();
        this.stats.logFile = this.logFileValue(this.stats.logFile, DEFAULT_STATS_LOGFILE);
        return true;
      }
      if (this.isKw('Syslog')) {
        this.advance();
        this.stats.syslog = this.syslogValue(this.stats.syslog, this.syslog, "'%s' is not a known syslog facility, ignoring.");
        return true;
      }
      return false;
    });
    if (this.syncSeen) this.invalid("cannot use both `Stats' and `Sync' clauses in conntrackd.conf");
    this.statsSeen = true;
  }

  private helper(): void {
    this.advance();
    this.block(() => {
      if (this.isKw('Setup')) return (this.advance(), this.bool(), true);
      if (this.isKw('Type')) return (this.helperType(), true);
      return false;
    });
    this.helperSeen = true;
  }

  private helperType(): void {
    this.advance();
    const name = this.expect('STRING');
    const l3 = this.expect('STRING');
    const l4 = this.expect('STRING');
    let policyLeaf = false;
    const typeItem = (): boolean => {
      if (this.isKw('QueueNum') || this.isKw('QueueLen')) return (this.advance(), this.number(), true);
      if (this.isKw('Policy')) {
        this.advance();
        this.expect('STRING');
        policyLeaf = false;
        this.block(() => {
          if (this.isKw('ExpectMax') || this.isKw('ExpectTimeout')) return (this.advance(), this.number(), (policyLeaf = true));
          return false;
        });
        if (!policyLeaf) this.invalid('Helper policy configuration empty, fix your configuration file, please');
        return true;
      }
      return false;
    };
    this.block(typeItem);
    if (l3 !== 'inet' && l3 !== 'inet6') this.invalid('unknown layer 3 protocol');
    if (l4 !== 'tcp' && l4 !== 'udp') this.invalid('unknown layer 4 protocol');
    if (!KNOWN_HELPERS.has(name)) this.invalid(`Unknown \`${name}' helper`);
  }

  // ---- result --------------------------------------------------------------------------

  private build(): EngineConfig {
    const general: GeneralConfig = {
      hashSize: this.hashSize || 65536,
      hashLimit: this.hashLimit || 262144,
      logFile: this.logFile,
      syslog: this.syslog,
      lockFile: this.lockFile || DEFAULT_LOCKFILE,
      unixPath: this.unixPath,
      netlinkBufferSizeMaxGrowth: this.netlinkBufferSizeMaxGrowth,
      netlinkOverrunResync: this.overrunResync === -1 ? false : this.overrunResync || 30,
      netlinkEventsReliable: this.eventsReliable,
      eventIterationLimit: this.eventIterationLimit || 100,
      systemd: this.systemd,
      ...(this.netlinkBufferSize !== undefined ? { netlinkBufferSize: this.netlinkBufferSize } : {}),
      ...(this.pollSecs !== undefined ? { pollSecs: this.pollSecs } : {}),
      ...(this.filter ? { filter: this.filter } : {}),
      ...(this.scheduler ? { scheduler: this.scheduler } : {}),
    };
    const config: EngineConfig = { general, warnings: this.warnings };
    if (this.syncSeen) config.sync = this.buildSync();
    if (this.statsSeen) {
      config.stats = this.stats;
      this.warnings.push('ctsyncd: the Stats block (statistics mode) is not supported, only the control socket is served');
    }
    this.notActedOn();
    return config;
  }

  private buildSync(): SyncConfig {
    // Several Mode blocks: FT-FW wins, then ALARM (§6.2); none: FT-FW.
    const mode: SyncModeName = this.modes.has('FTFW') || this.modes.size === 0 ? 'FTFW' : this.modes.has('ALARM') ? 'ALARM' : 'NOTRACK';
    const errorQueueLength = this.errorQueueLength || 128;
    const links: LinkConfig[] = this.links.map(({ kind, isDefault, draft }) => ({
      kind,
      isDefault,
      family: draft.family ?? 'ipv4',
      port: draft.port,
      interface: draft.interface,
      checksum: draft.checksum,
      errorQueueLength,
      ...(draft.address !== undefined ? { address: draft.address } : {}),
      ...(draft.destination !== undefined ? { destination: draft.destination } : {}),
      ...(draft.ipv4Interface !== undefined ? { ipv4Interface: draft.ipv4Interface } : {}),
      ...(draft.sndSocketBuffer !== undefined ? { sndSocketBuffer: draft.sndSocketBuffer } : {}),
      ...(draft.rcvSocketBuffer !== undefined ? { rcvSocketBuffer: draft.rcvSocketBuffer } : {}),
    }));
    // Only the last `Default` counts upstream (conf.channel_default is overwritten).
    const lastDefault = links.map((l) => l.isDefault).lastIndexOf(true);
    links.forEach((l, i) => (l.isDefault = i === lastDefault));
    return {
      mode,
      ftfw: { resendQueueSize: this.resendQueueSize || 131072, ackWindowSize: this.windowSize || 300 },
      alarm: { refreshTime: this.refresh || 60, cacheTimeout: this.cacheTimeout || 180 },
      purgeTimeout: this.purgeTimeout || 60,
      disableExternalCache: this.disableExternalCache,
      disableInternalCache: this.disableInternalCache,
      startupResync: this.startupResync,
      tcpWindowTracking: this.tcpWindowTracking,
      links,
      ...(this.commitTimeout ? { commitTimeout: this.commitTimeout } : {}),
      ...(this.expectationSync !== undefined ? { expectationSync: this.expectationSync } : {}),
    };
  }

  /** Valid clauses that ctsyncd parses but does not act on: said once at start, never silently taken. */
  private notActedOn(): void {
    const w = this.warnings;
    if (this.helperSeen) w.push('ctsyncd: the Helper block (user-space conntrack helpers) is not supported, ignoring');
    if (this.scheduler) w.push('ctsyncd: the Scheduler clause is not supported (Node.js runs SCHED_OTHER), ignoring');
    if (this.systemd) w.push('ctsyncd: `Systemd on` is not supported (no sd_notify), ignoring');
    if (this.hashSizeSeen) w.push('ctsyncd: `HashSize` has no effect (the caches are hash maps that grow as needed; HashLimit bounds them)');
    if (this.filter?.from === 'kernelspace') {
      w.push('ctsyncd: `Filter From Kernelspace` is applied in user space (no BPF filter on the event socket): filtered events are still read, then dropped');
    }
  }
}

function newDraft(): LinkDraft {
  return { port: 0, interface: '', ifindexKnown: false, checksum: true };
}

/** inet_aton() for what the scanner lets through (dotted quads): canonical text, or undefined. */
function inetAton(text: string): string | undefined {
  if (!/^[0-9]+(\.[0-9]+){3}$/.test(text)) return undefined;
  const parts = text.split('.').map((p) => (/^0[0-7]*$/.test(p) && p.length > 1 ? parseInt(p, 8) : /^0[0-9]/.test(p) ? NaN : Number(p)));
  if (parts.some((p) => !(p >= 0 && p <= 255))) return undefined;
  const addr = parts.join('.');
  return isIPv4(addr) ? addr : undefined;
}

let protocols: Map<string, number> | undefined;

/** getprotobyname(): /etc/protocols names and aliases (case-sensitive), with a fallback table. */
function systemProtocolNumber(name: string): number | undefined {
  if (!protocols) {
    protocols = new Map([
      ['icmp', 1], ['ICMP', 1], ['igmp', 2], ['IGMP', 2], ['tcp', 6], ['TCP', 6], ['udp', 17], ['UDP', 17],
      ['dccp', 33], ['DCCP', 33], ['gre', 47], ['GRE', 47], ['ipv6-icmp', 58], ['IPv6-ICMP', 58],
      ['sctp', 132], ['SCTP', 132], ['udplite', 136], ['UDPLite', 136], ['vrrp', 112], ['VRRP', 112],
    ]);
    try {
      for (const line of readFileSync('/etc/protocols', 'utf8').split('\n')) {
        const words = line.replace(/#.*/, '').trim().split(/\s+/);
        if (words.length < 2 || !/^[0-9]+$/.test(words[1]!)) continue;
        const num = Number(words[1]);
        for (const w of [words[0]!, ...words.slice(2)]) if (!protocols.has(w)) protocols.set(w, num);
      }
    } catch {
      // No /etc/protocols: the built-in table stands in.
    }
  }
  return protocols.get(name);
}
