/**
 * get_config (shared/spec/vyos.md §2.1): the stored tree → typed configs with the schema's
 * defaults filled in. `undefined` for the service means "not configured" (the delete path).
 */
import { childSchema, ROOT_SCHEMA, type ConfigTree, type SchemaNode } from './schema.js';

export type AcceptProtocol = 'tcp' | 'udp' | 'icmp' | 'icmp6' | 'sctp' | 'dccp';
export type ExpectProtocol = 'all' | 'ftp' | 'sip' | 'h323' | 'nfs' | 'sqlnet';

export interface SyncInterface {
  name: string;
  /** Set: unicast UDP link to this peer; unset: multicast. */
  peer?: string;
  port?: number;
}

/** `service conntrack-sync`, hyphenated names in camelCase. */
export interface ConntrackSyncConfig {
  acceptProtocol: AcceptProtocol[];
  disableExternalCache: boolean;
  disableSyslog: boolean;
  eventListenQueueSize: number;
  expectSync: ExpectProtocol[];
  failoverSyncGroup?: string;
  ignoreAddress: string[];
  interfaces: SyncInterface[];
  listenAddress: string[];
  mcastGroup: string;
  purgeTimeout: number;
  startupResync: boolean;
  syncQueueSize: number;
}

export interface VrrpGroup {
  name: string;
  interface?: string;
  vrid?: number;
  address: string[];
  priority: number;
  peerAddress?: string;
  helloSourceAddress?: string;
}

export interface VrrpSyncGroup {
  name: string;
  member: string[];
}

/** `high-availability vrrp`. */
export interface VrrpConfig {
  groups: VrrpGroup[];
  syncGroups: VrrpSyncGroup[];
}

/** Everything one commit acts on. */
export interface CommitConfig {
  conntrackSync?: ConntrackSyncConfig;
  vrrp?: VrrpConfig;
}

function sub(tree: ConfigTree | undefined, name: string): ConfigTree | undefined {
  const v = tree?.[name];
  return v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
}

function schemaAt(...path: string[]): SchemaNode {
  return path.reduce<SchemaNode>((node, name) => childSchema(node, name)!, ROOT_SCHEMA);
}

/** A single leaf, or the schema default when absent. */
function leaf(tree: ConfigTree, name: string, node: SchemaNode): string | undefined {
  const v = tree[name];
  return typeof v === 'string' ? v : childSchema(node, name)?.default;
}

function multi<T extends string = string>(tree: ConfigTree, name: string): T[] {
  const v = tree[name];
  return Array.isArray(v) ? (v as T[]) : [];
}

function optionalNumber(v: string | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

function conntrackSyncConfig(cs: ConfigTree): ConntrackSyncConfig {
  const node = schemaAt('service', 'conntrack-sync');
  const num = (name: string): number => Number(leaf(cs, name, node));
  const interfaceTree = sub(cs, 'interface') ?? {};
  const failover = sub(sub(cs, 'failover-mechanism'), 'vrrp');
  const syncGroup = failover?.['sync-group'];
  return {
    acceptProtocol: multi<AcceptProtocol>(cs, 'accept-protocol'),
    disableExternalCache: cs['disable-external-cache'] !== undefined,
    disableSyslog: cs['disable-syslog'] !== undefined,
    eventListenQueueSize: num('event-listen-queue-size'),
    expectSync: multi<ExpectProtocol>(cs, 'expect-sync'),
    ...(typeof syncGroup === 'string' ? { failoverSyncGroup: syncGroup } : {}),
    ignoreAddress: multi(cs, 'ignore-address'),
    interfaces: Object.entries(interfaceTree).map(([name, v]) => {
      const entry = v as ConfigTree;
      const port = optionalNumber(entry.port as string | undefined);
      return {
        name,
        ...(typeof entry.peer === 'string' ? { peer: entry.peer } : {}),
        ...(port !== undefined ? { port } : {}),
      };
    }),
    listenAddress: multi(cs, 'listen-address'),
    mcastGroup: leaf(cs, 'mcast-group', node)!,
    purgeTimeout: num('purge-timeout'),
    startupResync: cs['startup-resync'] !== undefined,
    syncQueueSize: num('sync-queue-size'),
  };
}

function vrrpConfig(vrrp: ConfigTree): VrrpConfig {
  const groupNode = childSchema(schemaAt('high-availability', 'vrrp', 'group'), '*')!;
  const groups = Object.entries(sub(vrrp, 'group') ?? {}).map(([name, v]): VrrpGroup => {
    const g = v as ConfigTree;
    const vrid = optionalNumber(g.vrid as string | undefined);
    return {
      name,
      address: multi(g, 'address'),
      priority: Number(leaf(g, 'priority', groupNode)),
      ...(typeof g.interface === 'string' ? { interface: g.interface } : {}),
      ...(vrid !== undefined ? { vrid } : {}),
      ...(typeof g['peer-address'] === 'string' ? { peerAddress: g['peer-address'] } : {}),
      ...(typeof g['hello-source-address'] === 'string' ? { helloSourceAddress: g['hello-source-address'] } : {}),
    };
  });
  const syncGroups = Object.entries(sub(vrrp, 'sync-group') ?? {}).map(([name, v]) => ({
    name,
    member: multi(v as ConfigTree, 'member'),
  }));
  return { groups, syncGroups };
}

export function getConfig(tree: ConfigTree): CommitConfig {
  const cs = sub(sub(tree, 'service'), 'conntrack-sync');
  const vrrp = sub(sub(tree, 'high-availability'), 'vrrp');
  return {
    ...(cs ? { conntrackSync: conntrackSyncConfig(cs) } : {}),
    ...(vrrp ? { vrrp: vrrpConfig(vrrp) } : {}),
  };
}
