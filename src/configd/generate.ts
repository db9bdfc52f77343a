/**
 * generate (shared/spec/vyos.md §2.3, §3): typed config → the text of every rendered file.
 * Pure: the kernel's interfaces and conntrack sizes come in as inputs, nothing is written.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { addressFamily } from './address-family.js';
import type { CommitConfig, ConntrackSyncConfig, VrrpConfig } from './get-config.js';
import type { KernelInterfaces } from './kernel-interfaces.js';
import { CTSYNC_BIN, TEMPLATES_DIR } from './package-paths.js';
import { trackFilePath } from '../engine/daemon/track-file.js';

/** Inputs of a render that do not come from the config tree. */
export interface RenderInputs {
  kernel: KernelInterfaces;
  /** /sys/module/nf_conntrack/parameters/hashsize */
  hashSize: number;
  /** /proc/sys/net/netfilter/nf_conntrack_max (HashLimit is twice this, §3.1). */
  conntrackMax: number;
  /** Command keepalived runs on sync-group transitions, before `<state> <group>`. */
  hookCommand: string;
  /** The engine's readiness file that keepalived tracks (null: none). */
  trackFile: string | null;
}

/** Rendered file contents; absent = the file must not exist. */
export interface RenderedFiles {
  conntrackd?: string;
  keepalived?: string;
}

const MB = 1024 * 1024;

function compile(name: string): Handlebars.TemplateDelegate {
  const source = readFileSync(path.join(TEMPLATES_DIR, name), 'utf8');
  return Handlebars.compile(source, { noEscape: true, strict: true });
}

const conntrackdTemplate = compile('conntrackd.conf.hbs');
const keepalivedTemplate = compile('keepalived.conf.hbs');

/** Jinja drops the template's final newline (§3: "no trailing newline"); so do we. */
function render(template: Handlebars.TemplateDelegate, view: object): string {
  return template(view).replace(/\n$/, '');
}

function conntrackdView(cs: ConntrackSyncConfig, inputs: RenderInputs): object {
  const onOff = (b: boolean): string => (b ? 'on' : 'off');
  const socketBuffer = cs.syncQueueSize * MB;
  const addressLine = (address: string): { key: string; address: string } => ({ key: `${addressFamily(address)}_address`, address });
  const listen = cs.listenAddress.map(addressLine);
  const links = cs.interfaces.map((iface) => {
    const address = iface.peer ?? cs.mcastGroup;
    const ipv4 = inputs.kernel.ipv4(iface.name)[0];
    return {
      udp: iface.peer !== undefined,
      name: iface.name,
      listen,
      addressKey: addressFamily(address),
      address,
      port: iface.port ?? 3780,
      // VyOS: the first IPv4 address of the link, prefix stripped; IPv6 groups have none.
      ipv4Interface: addressFamily(address) === 'IPv4' && ipv4 ? ipv4.split('/')[0] : null,
      socketBuffer,
    };
  });
  // VyOS lists the IPv4 ignore-addresses first, then the IPv6 ones (§3.1).
  const ignore = [
    ...cs.ignoreAddress.filter((a) => addressFamily(a) === 'IPv4'),
    ...cs.ignoreAddress.filter((a) => addressFamily(a) === 'IPv6'),
  ].map(addressLine);
  const accept = cs.acceptProtocol.map((p) => (p === 'icmp6' ? 'IPv6-ICMP' : p.toUpperCase()));
  const hasFilter = ignore.length > 0 || accept.length > 0;
  return {
    disableExternalCache: onOff(cs.disableExternalCache),
    startupResync: onOff(cs.startupResync),
    purgeTimeout: cs.purgeTimeout,
    links,
    expectSync:
      cs.expectSync.length > 0 ? { all: cs.expectSync.includes('all'), protocols: cs.expectSync } : null,
    hashSize: inputs.hashSize,
    hashLimit: inputs.conntrackMax * 2,
    syslog: onOff(!cs.disableSyslog),
    netlinkBufferSizeMaxGrowth: cs.eventListenQueueSize * MB,
    filter: hasFilter ? { ignore: ignore.length > 0 ? ignore : null, accept: accept.length > 0 ? accept : null } : null,
  };
}

/** How keepalived reaches conntrack-sync: the notify hook and the engine's readiness file. */
export interface KeepalivedHooks {
  hookCommand: string;
  trackFile: string | null;
}

function keepalivedView(vrrp: VrrpConfig, conntrackSyncGroup: string | undefined, hooks: KeepalivedHooks): object {
  const syncGroup = vrrp.syncGroups.find((sg) => sg.name === conntrackSyncGroup);
  const trackFile = syncGroup ? hooks.trackFile : null;
  return {
    conntrackSync: syncGroup !== undefined,
    trackFile,
    groups: vrrp.groups.map((g) => ({
      name: g.name,
      interface: g.interface,
      vrid: g.vrid,
      priority: g.priority,
      peerAddress: g.peerAddress ?? null,
      helloSourceAddress: g.helloSourceAddress ?? null,
      // keepalived: unicast VRRP takes its source from unicast_src_ip, multicast from mcast_src_ip.
      helloSourceKey: g.peerAddress !== undefined ? 'unicast_src_ip' : 'mcast_src_ip',
      address: g.address,
      tracked: trackFile !== null && syncGroup!.member.includes(g.name),
    })),
    syncGroups: vrrp.syncGroups.map((sg) => ({
      name: sg.name,
      member: sg.member,
      notify: sg === syncGroup ? hooks.hookCommand : null,
    })),
  };
}

export function renderConntrackd(cs: ConntrackSyncConfig, inputs: RenderInputs): string {
  return render(conntrackdTemplate, conntrackdView(cs, inputs));
}

export function renderKeepalived(vrrp: VrrpConfig, conntrackSyncGroup: string | undefined, hooks: KeepalivedHooks): string {
  return render(keepalivedTemplate, keepalivedView(vrrp, conntrackSyncGroup, hooks));
}

export function generate(config: CommitConfig, inputs: RenderInputs): RenderedFiles {
  return {
    ...(config.conntrackSync ? { conntrackd: renderConntrackd(config.conntrackSync, inputs) } : {}),
    ...(config.vrrp
      ? { keepalived: renderKeepalived(config.vrrp, config.conntrackSync?.failoverSyncGroup, inputs) }
      : {}),
  };
}

function readNumber(envName: string, file: string): number {
  const fromEnv = process.env[envName];
  return Number((fromEnv ?? readFileSync(file, 'utf8')).trim());
}

/**
 * The live inputs: kernel sizes (env CTSYNC_HASHSIZE / CTSYNC_CONNTRACK_MAX override), the hook,
 * and the track file the engine a commit starts will write (env CTSYNC_TRACK_FILE).
 */
export function liveRenderInputs(kernel: KernelInterfaces): RenderInputs {
  return {
    kernel,
    hashSize: readNumber('CTSYNC_HASHSIZE', '/sys/module/nf_conntrack/parameters/hashsize'),
    conntrackMax: readNumber('CTSYNC_CONNTRACK_MAX', '/proc/sys/net/netfilter/nf_conntrack_max'),
    hookCommand: `${process.env.CTSYNC_HOOK_BIN ?? CTSYNC_BIN} vrrp-hook`,
    trackFile: trackFilePath() ?? null,
  };
}
