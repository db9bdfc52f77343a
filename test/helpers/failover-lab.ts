/**
 * The fail-over lab (issue 6, after shared/lab/REPORT.md §2 and §5), used by the fail-over
 * integration test and by `npm run bench:failover`:
 *
 *   client 10.0.1.10 ── sw:br-lan ── fw1 lan0 10.0.1.1 / fw2 lan0 10.0.1.2   VIP 10.0.1.254 (LAN, vrid 61)
 *   server 10.0.2.10 ── sw:br-wan ── fw1 wan0 10.0.2.1 / fw2 wan0 10.0.2.2   VIP 10.0.2.254 (WAN, vrid 62)
 *   fw1 sync0 10.200.0.1 ══ dedicated veth ══ fw2 sync0 10.200.0.2            FT-FW over UDP
 *
 * Each firewall is a box of its own: a network namespace with a private /run (Netns.privateRun),
 * so everything runs at VyOS's default paths — the rendered /run/conntrackd/conntrackd.conf and
 * /run/keepalived/keepalived.conf, the engine's lock and socket, the system bus, the track file,
 * the fail-over state file. Each is configured the way an operator does it: `ctsync load` of
 * `set` lines and `ctsync commit`, which starts ctsyncd and `ctsync vrrp-watch`. Then a real
 * dbus-daemon (the packaged system bus config, with keepalived's policy) and keepalived on the
 * rendered file, whose sync-group G1 = {LAN, WAN} calls `ctsync vrrp-hook`.
 *
 * Both firewalls run a stateful nftables ruleset (established/related accepted, invalid dropped,
 * new only a SYN from the LAN; sync link, VRRP and multicast untracked) with
 * nf_conntrack_tcp_loose=0: a connection survives a fail-over only if the new master's kernel
 * got its state. The reference engine runs the same way: conntrackd 1.4.7 on the rendered file
 * (its Helper block emptied: this kernel has no nfnetlink_cthelper, README "Known limit"),
 * driven by conntrack-tools' primary-backup sequence from keepalived's notify lines.
 *
 * Every fail-over is timed from the fault: the new master's sync-group MASTER on its D-Bus (both
 * instances' VrrpStatusChange(2), as its dbus-monitor timed them), the end of its commit (from
 * the transition's syslog line), and its kernel table holding the N background flows plus the
 * M connections (read from /proc/<pid>/net/stat/nf_conntrack every 5 ms, no process per poll).
 * tcpdump on the client and the server counts RST segments.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { deriveGroupState, instanceStateFromNumber, type GroupState, type InstanceState } from '../../src/vrrp-hooks/group-state.js';
import { injectFlows } from '../integration/interop/flows.js';
import { parseCacheCounts } from '../integration/interop/node.js';
import { Netns, veth, waitFor } from './netns.js';
import { CONNTRACKD, CTSYNC, DAEMON_ARGV, ROOT, type Daemon } from './programs.js';
import { SyslogSink, type SyslogLine } from './syslog-sink.js';

export type FaultKind = 'graceful' | 'linkdown';
export const FAULT_KINDS: readonly FaultKind[] = ['graceful', 'linkdown'];

export const PROGRAMS = ['keepalived', 'dbus-daemon', 'dbus-monitor', 'conntrack', 'conntrackd', 'nft', 'tcpdump', 'nsenter', 'unshare', 'python3', 'logger'];

const CLIENT = '10.0.1.10';
const SERVER = '10.0.2.10';
const PORT = 8080;
const GROUP = 'G1';
const MEMBERS = ['LAN', 'WAN'];
/** Their D-Bus objects (interface/vrid/family). */
const INSTANCE_PATHS = ['/org/keepalived/Vrrp1/Instance/lan0/61/IPv4', '/org/keepalived/Vrrp1/Instance/wan0/62/IPv4'];
const FLOWS_PROGRAM = join(ROOT, 'test/helpers/tcp-flows.mjs');
const CONF = '/run/conntrackd/conntrackd.conf';
/** The reference conntrackd runs on the rendered file minus its Helper block. */
const REFERENCE_CONF = '/run/conntrackd/conntrackd.reference.conf';

const NODES = {
  fw1: { lan: '10.0.1.1', wan: '10.0.2.1', sync: '10.200.0.1', peer: '10.200.0.2', priority: 150 },
  fw2: { lan: '10.0.1.2', wan: '10.0.2.2', sync: '10.200.0.2', peer: '10.200.0.1', priority: 100 },
} as const;
type NodeName = keyof typeof NODES;

const RULESET = `flush ruleset
table inet fw {
  chain raw_pre {
    type filter hook prerouting priority raw; policy accept;
    iifname "sync0" notrack
    ip protocol vrrp notrack
    ip daddr 224.0.0.0/4 notrack
  }
  chain raw_out {
    type filter hook output priority raw; policy accept;
    oifname "sync0" notrack
    ip protocol vrrp notrack
    ip daddr 224.0.0.0/4 notrack
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct state invalid counter drop
    iifname "lan0" oifname "wan0" tcp flags & (fin|syn|rst|ack) == syn ct state new accept
  }
}
`;

/** conntrack-tools' doc/sync/primary-backup.sh sequence, as keepalived's notify lines call it. */
const PRIMARY_BACKUP = `#!/bin/sh
# the reference: conntrackd driven by conntrack-tools' primary-backup sequence
# (called as: <this> vrrp-hook master|backup|fault <group>)
C="${CONNTRACKD} -C ${REFERENCE_CONF}"
log() { logger -u "$CTSYNC_SYSLOG_SOCKET" -t primary-backup "$*"; }
case "$2" in
master) t=$(date +%s%N); $C -c; log "commit done in $((($(date +%s%N) - t) / 1000000)) ms"; $C -f; $C -R; $C -B ;;
backup) $C -s >/dev/null; $C -t; $C -n ;;
fault) $C -t ;;
esac
log "$2 done"
`;

function setLines(node: NodeName): string {
  const n = NODES[node];
  const cs = 'set service conntrack-sync';
  const ha = 'set high-availability vrrp';
  return [
    `${cs} accept-protocol tcp`,
    `${cs} interface sync0 peer ${n.peer}`,
    `${cs} listen-address ${n.sync}`,
    `${cs} failover-mechanism vrrp sync-group ${GROUP}`,
    ...[['LAN', 'lan0', '61', '10.0.1.254/24'], ['WAN', 'wan0', '62', '10.0.2.254/24']].flatMap(([g, ifname, vrid, vip]) => [
      `${ha} group ${g} interface ${ifname}`,
      `${ha} group ${g} vrid ${vrid}`,
      `${ha} group ${g} address ${vip}`,
      `${ha} group ${g} priority ${n.priority}`,
    ]),
    ...MEMBERS.map((m) => `${ha} sync-group ${GROUP} member ${m}`),
    '',
  ].join('\n');
}

export class Firewall {
  readonly ns: Netns;
  syslog!: SyslogSink;
  /** keepalived's console log (all runs). */
  keepalivedLog = '';
  /**
   * The sync-group's state after each change, derived as the watcher does from the
   * VrrpStatusChange signals on this box's bus, timed by a dbus-monitor of its own (nothing
   * here asks keepalived for a property: see src/vrrp-hooks/keepalived-dbus.ts).
   */
  readonly groups: { state: GroupState; at: number }[] = [];
  private keepalived: ChildProcess | undefined;

  constructor(
    readonly name: NodeName,
    private readonly lab: FailoverLab,
  ) {
    this.ns = new Netns(name === 'fw1' ? 'fo1' : 'fo2');
  }

  get engine(): Daemon {
    return this.lab.engine;
  }

  /** The environment of everything ctsync in this box (commit, hooks, watcher, op-mode). */
  env(): string[] {
    const e = [`PATH=${process.env.PATH}`, `CTSYNC_STATE_DIR=${join(this.lab.dir, this.name, 'state')}`, `CTSYNC_SYSLOG_SOCKET=${this.syslog.path}`];
    if (this.engine === 'conntrackd') e.push('CTSYNC_ENGINE_CMD=none', `CTSYNC_HOOK_BIN=${join(this.lab.dir, 'primary-backup.sh')}`);
    return e;
  }

  ctsync(...args: string[]): { status: number; stdout: string; stderr: string } {
    return this.ns.try('env', [...this.env(), ...CTSYNC, ...args]);
  }

  /** A request through the engine's own client (`-s cache`, `-k` …). */
  client(...args: string[]): { status: number; stdout: string; stderr: string } {
    const argv = DAEMON_ARGV[this.engine];
    return this.ns.try(argv[0]!, [...argv.slice(1), '-C', this.engine === 'ctsyncd' ? CONF : REFERENCE_CONF, ...args]);
  }

  externalCount(): number {
    return parseCacheCounts(this.client('-s', 'cache').stdout)?.external ?? -1;
  }

  /** Objects this engine has yet to send or to have acknowledged (txqueue, and the objects of the resend queue). */
  inFlight(): number {
    const tx = /queue txqueue:\s*\ncurrent elements:\s*(\d+)/.exec(this.client('-s', 'queue').stdout);
    const rs = this.client('-s', 'rsqueue').stdout.split('\n').filter((l) => l.startsWith('object ->')).length;
    return tx ? Number(tx[1]) + rs : -1;
  }

  /** Entries of the kernel table, without a process (the per-netns `entries` column, hex). */
  kernelCount(): number {
    const text = readFileSync(`/proc/${this.ns.anchorPid}/net/stat/nf_conntrack`, 'utf8');
    return Number.parseInt(text.split('\n')[1]!.split(/\s+/)[0]!, 16);
  }

  vips(): number {
    return this.ns.run('ip', ['-4', '-br', 'addr']).match(/10\.0\.[12]\.254\//g)?.length ?? 0;
  }

  /** A file of this box (its private /run). */
  read(path: string): string | undefined {
    try {
      return readFileSync(this.ns.path(path), 'utf8');
    } catch {
      return undefined;
    }
  }

  /** keepalived's track file, as ctsyncd writes it. */
  trackFile(): string | undefined {
    return this.read('/run/ctsync/vrrp-ready')?.trim();
  }

  /** The last transition, as `show conntrack-sync status` reads it. */
  stateFile(): string | undefined {
    return this.read('/var/run/vyatta-conntrackd-failover-state')?.trim();
  }

  /** Syslog lines since `since` (ms) matching `re`. */
  logged(re: RegExp, since = 0): SyslogLine[] {
    return this.syslog.lines.filter((l) => l.at >= since && re.test(l.text));
  }

  async setUp(): Promise<void> {
    const n = NODES[this.name];
    mkdirSync(join(this.lab.dir, this.name), { recursive: true });
    this.syslog = await SyslogSink.open(join(this.lab.dir, `${this.name}.syslog`));
    await this.ns.privateRun();
    this.ns.run('sysctl', ['-qw', 'net.ipv4.ip_forward=1', 'net.netfilter.nf_conntrack_tcp_loose=0']);
    this.ns.addr('lan0', `${n.lan}/24`);
    this.ns.addr('wan0', `${n.wan}/24`);
    this.ns.addr('sync0', `${n.sync}/24`);
    this.ns.run('nft', ['-f', '-'], RULESET);
    // the system bus, as the box boots it (/usr/share/dbus-1/system.conf + keepalived's policy)
    this.ns.run('mkdir', ['-p', '/run/dbus']);
    this.ns.spawn('dbus-daemon', ['--system', '--nofork']);
    if (!(await waitFor(() => existsSync(this.ns.path('/run/dbus/system_bus_socket')), 5000))) throw new Error(`${this.name}: no system bus`);
    this.monitorSignals();
    const config = join(this.lab.dir, this.name, 'config.set');
    writeFileSync(config, setLines(this.name));
    for (const args of [['load', config], ['commit']]) {
      const r = this.ctsync(...args);
      if (r.status !== 0) throw new Error(`${this.name}: ctsync ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    }
    if (this.engine === 'conntrackd') {
      const rendered = this.read(CONF)!;
      writeFileSync(this.ns.path(REFERENCE_CONF), rendered.replace(/\nHelper \{\n[\s\S]*?\n\}\n\n# General settings/, '\nHelper {\n}\n\n# General settings'));
      await this.startEngine();
    }
    if (!(await this.engineUp())) throw new Error(`${this.name}: ${this.engine} does not answer`);
  }

  /** `<engine> -C <conf> -d`, as a commit (ctsyncd) or the reference set-up (conntrackd) starts it. */
  async startEngine(): Promise<boolean> {
    const argv = DAEMON_ARGV[this.engine];
    this.ns.run('env', [...this.env(), ...argv, '-C', this.engine === 'ctsyncd' ? CONF : REFERENCE_CONF, '-d']);
    return this.engineUp();
  }

  /** `signal time=<s> … path=<p>; …member=VrrpStatusChange` then `uint32 <state>`. */
  private monitorSignals(): void {
    const mon = this.ns.spawn('dbus-monitor', ['--system', "type='signal',interface='org.keepalived.Vrrp1.Instance',member='VrrpStatusChange'"]);
    let partial = '';
    let pending: { at: number; path: string } | undefined;
    const instances = new Map<string, InstanceState>();
    mon.stdout!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const head = /^signal time=([\d.]+) .* path=([^;]+);.*member=VrrpStatusChange/.exec(line);
        if (head) pending = { at: Number(head[1]) * 1000, path: head[2]! };
        const body = /^\s+uint32 (\d+)/.exec(line);
        if (body && pending) {
          instances.set(pending.path, instanceStateFromNumber(Number(body[1])));
          const group = deriveGroupState(INSTANCE_PATHS, instances);
          if (group !== this.groups.at(-1)?.state) this.groups.push({ state: group, at: pending.at });
          pending = undefined;
        }
      }
    });
  }

  /** When the sync-group turned MASTER (both instances signalled 2) since `since`, if so. */
  groupMasterAt(since: number): number | undefined {
    return this.groups.find((g) => g.at >= since && g.state === 'MASTER')?.at;
  }

  /** keepalived on the rendered file; `notify: false` runs it on a copy without the notify lines. */
  startKeepalived(opts: { notify: boolean } = { notify: true }): void {
    let conf = '/run/keepalived/keepalived.conf';
    if (!opts.notify) {
      conf = '/run/keepalived/keepalived.dbus-only.conf';
      writeFileSync(this.ns.path(conf), this.read('/run/keepalived/keepalived.conf')!.replace(/^\s*notify_\w+ .*\n/gm, ''));
    }
    const ka = this.ns.spawn('env', [...this.env(), 'keepalived', '-n', '-l', '-D', '-f', conf]);
    for (const out of [ka.stdout!, ka.stderr!]) out.on('data', (d: Buffer) => (this.keepalivedLog += d.toString()));
    this.keepalived = ka;
  }

  /** SIGTERM keepalived (it sends priority-0 adverts, then exits about a second later). */
  stopKeepalived(): Promise<void> {
    const ka = this.keepalived;
    this.keepalived = undefined;
    if (!ka || ka.exitCode !== null) return Promise.resolve();
    const gone = new Promise<void>((r) => ka.once('exit', () => r()));
    ka.kill('SIGTERM');
    return Promise.race([gone, sleep(10_000)]);
  }

  /** The D-Bus watcher the commit started (its pid file), if it runs. */
  watcherPid(): number | undefined {
    const pid = Number(this.read('/run/ctsync/vrrp-watch.pid'));
    return pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
  }

  /** The engine daemon's pid (the process in this box running on its config), if it runs. */
  enginePid(): number | undefined {
    const conf = this.engine === 'ctsyncd' ? CONF : REFERENCE_CONF;
    for (const pid of spawnSync('ip', ['netns', 'pids', this.ns.name], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        if (argv.includes(conf) && argv.every((a) => !a.startsWith('-') || a === '-C' || a === '-d')) return pid;
      } catch {
        /* exited meanwhile */
      }
    }
    return undefined;
  }

  /** The engine answers `-s` (bounded wait). */
  engineUp(): Promise<boolean> {
    return waitFor(() => this.client('-s').status === 0, 10_000);
  }
}

/** One fail-over, timed from the fault. */
export interface FailoverTiming {
  fault: FaultKind;
  /** The new master's sync-group turned MASTER on its D-Bus. */
  toMasterMs: number;
  /** Its commit returned (the transition's own timing). */
  toCommitDoneMs: number;
  /** Its kernel table held all N + M entries (NaN: not within 30 s, e.g. entries were lost). */
  toFullMs: number;
  /** fw2's external cache when the fault came, and its kernel table at the end. */
  externalBefore: number;
  kernelAfter: number;
  /** The commit alone, as the transition timed it. */
  commitMs: number;
}

export interface FlowCheck {
  /** Connections that echoed within the round's timeout. */
  ok: number;
  fail: number;
  /** Slowest echo of the round. */
  maxMs: number;
  /** Longest a message of a continuous sender waited for its echo since the last reset. */
  maxStallMs: number;
  /** Socket errors and closes seen by the client so far. */
  errors: number;
  closed: number;
  /** RST segments seen on the wire, client and server side, since the lab started watching. */
  rst: { client: number; server: number };
}

export interface LabOptions {
  engine: Daemon;
  /** Background flows loaded into fw1's kernel. */
  flows: number;
  /** Long-lived TCP connections client → server; half of them send continuously. */
  connections: number;
  /** Where a progress line goes. */
  log?: (line: string) => void;
}

interface ClientReply {
  event: string;
  [k: string]: unknown;
}

export class FailoverLab {
  readonly dir: string;
  readonly engine: Daemon;
  readonly fw1: Firewall;
  readonly fw2: Firewall;
  readonly client: Netns;
  readonly server: Netns;
  readonly sw: Netns;
  private flows: ChildProcess | undefined;
  private replies: ClientReply[] = [];
  private readonly rst = { client: 0, server: 0 };
  private readonly log: (line: string) => void;

  private constructor(readonly opts: LabOptions) {
    this.engine = opts.engine;
    this.log = opts.log ?? (() => undefined);
    this.dir = mkdtempSync(join(tmpdir(), 'ctsync-failover-'));
    chmodSync(this.dir, 0o755);
    this.sw = new Netns('fos');
    this.client = new Netns('foc');
    this.server = new Netns('fov');
    this.fw1 = new Firewall('fw1', this);
    this.fw2 = new Firewall('fw2', this);
  }

  get expected(): number {
    return this.opts.flows + this.opts.connections;
  }

  /** Build, configure and start everything; fw1 master, fw2 backup and in sync, flows running. */
  static async create(opts: LabOptions): Promise<FailoverLab> {
    const lab = new FailoverLab(opts);
    try {
      await lab.build();
    } catch (e) {
      lab.close();
      throw e;
    }
    return lab;
  }

  private async build(): Promise<void> {
    const all = [this.sw, this.client, this.server, this.fw1.ns, this.fw2.ns];
    // IPv4 only: no ND/MLD chatter making stray conntrack entries
    for (const n of all) n.run('sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    for (const br of ['br-lan', 'br-wan']) {
      this.sw.run('ip', ['link', 'add', br, 'type', 'bridge']);
      this.sw.run('ip', ['link', 'set', br, 'up']);
    }
    const port = (n: Netns, ifname: string, swPort: string, br: string) => {
      veth(n, ifname, this.sw, swPort);
      this.sw.run('ip', ['link', 'set', swPort, 'master', br]);
    };
    port(this.client, 'eth0', 'c-lan', 'br-lan');
    port(this.server, 'eth0', 's-wan', 'br-wan');
    for (const [fw, i] of [[this.fw1, 1], [this.fw2, 2]] as const) {
      port(fw.ns, 'lan0', `f${i}-lan`, 'br-lan');
      port(fw.ns, 'wan0', `f${i}-wan`, 'br-wan');
    }
    veth(this.fw1.ns, 'sync0', this.fw2.ns, 'sync0');
    this.client.addr('eth0', `${CLIENT}/24`);
    this.client.run('ip', ['route', 'add', 'default', 'via', '10.0.1.254']);
    this.server.addr('eth0', `${SERVER}/24`);
    this.server.run('ip', ['route', 'add', 'default', 'via', '10.0.2.254']);
    writeFileSync(join(this.dir, 'primary-backup.sh'), PRIMARY_BACKUP, { mode: 0o755 });
    await this.fw1.setUp();
    await this.fw2.setUp();

    // fw1 first: once it holds the VIPs, fw2 can only come up as BACKUP
    this.fw1.startKeepalived();
    await this.until(() => this.fw1.vips() === 2, 20_000, 'fw1 holds the VIPs');
    this.fw2.startKeepalived();
    await this.until(() => this.last('fw2') === 'BACKUP' && this.settled('fw2', 'BACKUP'), 20_000, 'fw2 is BACKUP');
    this.log(`keepalived: fw1 MASTER, fw2 BACKUP (${this.engine})`);

    await this.startRstCapture();
    await this.startFlows();
    const t0 = performance.now();
    await injectFlows(this.fw1.ns, this.dir, 'tcp4', this.opts.flows, { chunk: 20_000, pauseMs: 100 });
    const loaded = performance.now() - t0;
    await this.until(() => this.fw2.externalCount() >= this.expected, 120_000, `fw2's external cache holds ${this.expected}`, 250);
    this.log(`${this.opts.flows} flows loaded into fw1 in ${(loaded / 1000).toFixed(2)} s; fw2 has all ${this.expected} after ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  }

  /** The node's transition for `state` has finished (its syslog says so) since `since`. */
  settled(node: NodeName, state: 'MASTER' | 'BACKUP', since = 0): boolean {
    const fw = node === 'fw1' ? this.fw1 : this.fw2;
    const re = this.engine === 'ctsyncd' ? new RegExp(`^<\\d+>.*conntrack-tools: ${state} transition for VRRP sync-group \\[${GROUP}\\] done`) : new RegExp(`primary-backup: ${state.toLowerCase()} done`);
    return fw.logged(re, since).length > 0;
  }

  /** The last sync-group state a node's bus showed. */
  last(node: NodeName): GroupState | undefined {
    return (node === 'fw1' ? this.fw1 : this.fw2).groups.at(-1)?.state;
  }

  private async until(check: () => boolean, ms: number, what: string, stepMs = 50, detail?: () => string): Promise<void> {
    if (!(await waitFor(check, ms, stepMs))) throw new Error(`fail-over lab: timed out waiting until ${what}${detail ? `\n${detail()}` : ''}`);
  }

  private async startRstCapture(): Promise<void> {
    for (const side of ['client', 'server'] as const) {
      const td = this[side].spawn('tcpdump', ['-i', 'eth0', '-n', '-l', '-q', 'tcp[tcpflags] & tcp-rst != 0']);
      let err = '';
      td.stderr!.on('data', (d: Buffer) => (err += d.toString()));
      td.stdout!.on('data', (d: Buffer) => (this.rst[side] += d.toString().split('\n').filter(Boolean).length));
      await this.until(() => err.includes('listening on'), 10_000, `tcpdump listens (${side})`);
    }
    // proof the capture sees resets: a connection to a closed port of the server, through fw1
    this.client.try(process.execPath, ['-e', `require('net').connect(9, '${SERVER}').on('error', () => process.exit(0))`]);
    await this.until(() => this.rst.client >= 1 && this.rst.server >= 1, 5000, 'tcpdump counts a RST on both sides');
    this.rst.client = 0;
    this.rst.server = 0;
  }

  private async startFlows(): Promise<void> {
    const server = this.server.spawn(process.execPath, [FLOWS_PROGRAM, 'server', SERVER, String(PORT)]);
    let out = '';
    server.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await this.until(() => out.includes('listening'), 10_000, 'the echo server listens');
    const m = this.opts.connections;
    this.flows = this.client.spawn(process.execPath, [FLOWS_PROGRAM, 'client', SERVER, String(PORT), String(m), String(Math.floor(m / 2)), '20']);
    let partial = '';
    this.flows.stdout!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const l of lines) if (l) this.replies.push(JSON.parse(l) as ClientReply);
    });
    await this.reply('connected', 30_000);
  }

  private async reply(event: string, ms: number): Promise<ClientReply> {
    await this.until(() => this.replies.some((r) => r.event === event), ms, `the client answers ${event}`, 20);
    const i = this.replies.findIndex((r) => r.event === event);
    return this.replies.splice(i, 1)[0]!;
  }

  /** One message on every connection; then the client's counters and the RST counts. */
  async checkFlows(timeoutMs = 20_000): Promise<FlowCheck> {
    this.flows!.stdin!.write(`round ${timeoutMs}\n`);
    const round = await this.reply('round', timeoutMs + 5000);
    this.flows!.stdin!.write('stats\n');
    const stats = await this.reply('stats', 5000);
    return {
      ok: round.ok as number,
      fail: round.fail as number,
      maxMs: round.maxMs as number,
      maxStallMs: stats.maxWaitMsSenders as number,
      errors: (stats.errors as unknown[]).length,
      closed: stats.closed as number,
      rst: { ...this.rst },
    };
  }

  /** Zero the client's stall counters (before a fault). */
  async resetStalls(): Promise<void> {
    this.flows!.stdin!.write('reset\n');
    await this.reply('reset', 5000);
  }

  /** fw1's LAN and WAN switch ports down (fw1 → FAULT) or up again. */
  links(fw: Firewall, up: boolean): void {
    const i = fw.name === 'fw1' ? 1 : 2;
    for (const p of [`f${i}-lan`, `f${i}-wan`]) this.sw.run('ip', ['link', 'set', p, up ? 'up' : 'down']);
  }

  /**
   * Fault fw1 (the master) and time fw2's take-over: SIGTERM to its keepalived (graceful) or
   * its switch ports down (linkdown). Resolves once fw2's kernel holds all N + M entries and
   * its transition is done.
   */
  async failover(fault: FaultKind): Promise<FailoverTiming> {
    await this.resetStalls();
    const externalBefore = this.fw2.externalCount();
    const t0 = Date.now();
    if (fault === 'graceful') void this.fw1.stopKeepalived();
    else this.links(this.fw1, false);
    let full = 0;
    const poll = setInterval(() => {
      if (!full && this.fw2.kernelCount() >= this.expected) full = Date.now();
    }, 5);
    try {
      await this.until(() => this.fw2.groupMasterAt(t0) !== undefined, 20_000, 'fw2 is MASTER on D-Bus', 10);
      await this.until(() => this.settled('fw2', 'MASTER', t0), 30_000, "fw2's MASTER transition is done");
      // an engine that lost entries never gets there: a figure of its own, not a broken run
      await waitFor(() => full > 0, 30_000, 10);
    } finally {
      clearInterval(poll);
    }
    const master = this.fw2.groupMasterAt(t0)!;
    const commit = this.commitDone('fw2', t0);
    return {
      fault,
      toMasterMs: master - t0,
      toCommitDoneMs: commit.at - t0,
      toFullMs: full ? full - t0 : Number.NaN,
      commitMs: commit.ms,
      externalBefore,
      kernelAfter: this.fw2.kernelCount(),
    };
  }

  /** When the node's commit of this transition returned, and how long it took. */
  private commitDone(node: NodeName, since: number): { at: number; ms: number } {
    const fw = node === 'fw1' ? this.fw1 : this.fw2;
    if (this.engine === 'conntrackd') {
      const done = fw.logged(/primary-backup: commit done in \d+ ms/, since)[0]!;
      return { at: done.at, ms: Number(/done in (\d+) ms/.exec(done.text)![1]) };
    }
    // `MASTER transition … done in T ms (guard-up a, -c b, guard-down c, -f d, -R e, -B f ms)`:
    // the commit starts with the transition (its first group), so it ended T - b ms before the line
    const line = fw.logged(/MASTER transition for VRRP sync-group \S+ done in/, since)[0]!;
    const total = Number(/done in (\d+) ms/.exec(line.text)![1]);
    const commit = Number(/-c (\d+)/.exec(line.text)![1]);
    return { at: line.at - total + commit, ms: commit };
  }

  /**
   * Restart a backup's keepalived (`notify: false`: without its notify lines) and wait until
   * the box has handled the BACKUP it comes up in.
   */
  async restartKeepalived(fw: Firewall, opts: { notify: boolean }): Promise<void> {
    const t0 = Date.now();
    await fw.stopKeepalived();
    fw.startKeepalived(opts);
    const handled = this.engine === 'ctsyncd' ? /BACKUP (transition for VRRP sync-group \S+ done|for VRRP sync-group \S+ already handled)/ : /primary-backup: backup done/;
    await this.until(() => fw.groups.some((g) => g.at >= t0 && g.state === 'BACKUP') && fw.logged(handled, t0).length > 0, 30_000, `${fw.name} is BACKUP again`);
  }

  /** Bring fw1 back (keepalived started again, or its ports up) and wait until it is MASTER again. */
  async failBack(fault: FaultKind, opts: { notify: boolean } = { notify: true }): Promise<number> {
    await this.resetStalls();
    const t0 = Date.now();
    if (fault === 'graceful') this.fw1.startKeepalived(opts);
    else this.links(this.fw1, true);
    await this.until(() => this.fw1.vips() === 2 && this.fw2.vips() === 0, 60_000, 'fw1 holds the VIPs again', 50, () =>
      `VIPs fw1 ${this.fw1.vips()} fw2 ${this.fw2.vips()}\n--- fw1 keepalived:\n${this.fw1.keepalivedLog.split('\n').slice(-25).join('\n')}\n--- fw1 syslog:\n${this.fw1.syslog.texts().slice(-15).join('\n')}`);
    await this.until(() => this.settled('fw1', 'MASTER', t0), 30_000, "fw1's MASTER transition is done");
    return Date.now() - t0;
  }

  /**
   * Ready fw2 for the next measured fail-over as in a fresh run (lab REPORT §3: tables flushed
   * before every run): its kernel table emptied, its external cache full again.
   */
  async resetBackup(): Promise<void> {
    const lastMaster = this.fw2.groups.findLast((g) => g.state === 'MASTER')?.at ?? 0;
    await this.until(() => this.last('fw2') === 'BACKUP' && this.settled('fw2', 'BACKUP', lastMaster), 30_000, 'fw2 is BACKUP again');
    this.fw2.ns.run('conntrack', ['-F']);
    await this.until(() => this.fw2.kernelCount() === 0, 10_000, "fw2's kernel table is empty");
    // The flush empties fw2's kernel and internal cache; its external cache is fw1's state,
    // refilled by fw1's bulk and fw2's resync request. An engine that lost messages for good
    // stays short: the next run records it (externalBefore) instead of stopping here.
    await waitFor(() => this.fw2.externalCount() >= this.expected, 60_000, 250);
  }

  close(): void {
    this.flows?.stdin?.write('quit\n');
    for (const fw of [this.fw1, this.fw2]) fw.syslog?.close();
    for (const n of [this.fw1.ns, this.fw2.ns, this.client, this.server, this.sw]) n.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
