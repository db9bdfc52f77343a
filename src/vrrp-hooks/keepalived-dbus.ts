/**
 * Follows keepalived on the system bus (shared/spec/anchors.md §4, lab REPORT §6) and
 * derives a sync-group's state from its member instances, in-process: no fork per event.
 *
 * Bus facts this relies on (keepalived 2.2.7): one object per instance under
 * /org/keepalived/Vrrp1 (…/Instance/<if>/<vrid>/<IPv4|IPv6>, with net_namespace/instance
 * segments when configured), interface org.keepalived.Vrrp1.Instance, signal
 * VrrpStatusChange(u); properties `State` (us) and `Name`, declared `s` but sent as a struct
 * `(s)`. No PropertiesChanged is ever sent, and at start-up the instances signal *before*
 * keepalived owns its bus name: so the match rule is not tied to the name, a new path's
 * `Name` is asked of the signal's sender, and `State` is read when the watcher connects and
 * whenever the name gets an owner. Never on a timer: a Properties.Get that reaches keepalived
 * 2.2.7 while it shuts down aborts it (GLib's "invoke_get_property_in_idle_cb: assertion
 * failed", seen in the fail-over lab), and the next keepalived then finds it still running.
 */
import { EventEmitter } from 'node:events';
import { Message, MessageType, sessionBus, type MessageBus } from 'dbus-next';
import { deriveGroupState, instanceStateFromNumber, type GroupState, type InstanceState } from './group-state.js';

export const KEEPALIVED_SERVICE = 'org.keepalived.Vrrp1';
const ROOT = '/org/keepalived/Vrrp1';
const INSTANCE_IFACE = 'org.keepalived.Vrrp1.Instance';
const DBUS = 'org.freedesktop.DBus';

export interface WatcherOptions {
  /** Sync-group member instance names. */
  members: string[];
  /** Default env DBUS_SYSTEM_BUS_ADDRESS, else the standard system bus socket. */
  busAddress?: string;
  serviceName?: string;
  /** One bus call's limit; a silent bus counts as lost (default 2 s). */
  callTimeoutMs?: number;
  /** Reconnect back-off bounds (default 250 ms .. 5 s). */
  backoffMs?: [number, number];
  log?: (line: string) => void;
}

export interface KeepalivedWatcherEvents {
  /** The derived group state changed. */
  group: [state: GroupState];
  connected: [];
  disconnected: [reason: string];
}

function structString(v: unknown): string | undefined {
  // `Name` arrives as (s): an array of one string; accept a plain string as well.
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

export class KeepalivedWatcher extends EventEmitter<KeepalivedWatcherEvents> {
  readonly members: readonly string[];
  /** Instance name → last known state. */
  readonly instances = new Map<string, InstanceState>();
  private readonly paths = new Map<string, string>();
  private readonly opts: Required<Omit<WatcherOptions, 'log' | 'members'>>;
  private readonly log: (line: string) => void;
  private bus: MessageBus | undefined;
  private groupState: GroupState = 'INIT';
  private queue: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | undefined;
  private backoff: number;
  private stopped = false;

  constructor(o: WatcherOptions) {
    super();
    this.members = [...o.members];
    this.opts = {
      busAddress: o.busAddress ?? (process.env.DBUS_SYSTEM_BUS_ADDRESS || 'unix:path=/var/run/dbus/system_bus_socket'),
      serviceName: o.serviceName ?? KEEPALIVED_SERVICE,
      callTimeoutMs: o.callTimeoutMs ?? 2000,
      backoffMs: o.backoffMs ?? [250, 5000],
    };
    this.backoff = this.opts.backoffMs[0];
    this.log = o.log ?? (() => undefined);
  }

  get group(): GroupState {
    return this.groupState;
  }

  get connected(): boolean {
    return this.bus !== undefined;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.drop('stopped');
  }

  private connect(): void {
    if (this.stopped) return;
    let bus: MessageBus;
    try {
      bus = sessionBus({ busAddress: this.opts.busAddress });
    } catch (e) {
      this.lost(`cannot open ${this.opts.busAddress}: ${(e as Error).message}`);
      return;
    }
    this.bus = bus;
    const onLoss = (why: string) => () => {
      if (this.bus === bus) this.lost(why);
    };
    bus.on('error', (e: Error) => onLoss(`bus error: ${e.message}`)());
    // dbus-next does not forward the stream's end; without it a dead bus goes unnoticed
    // until the next call times out.
    (bus as unknown as { _connection: EventEmitter })._connection.on('end', onLoss('bus closed'));
    bus.on('message', (m: Message) => this.enqueue(() => this.onMessage(bus, m)));
    // A socket that accepts but never completes the handshake counts as lost too.
    const handshake = setTimeout(onLoss('no handshake'), this.opts.callTimeoutMs);
    bus.on('connect', () => {
      clearTimeout(handshake);
      if (this.bus !== bus) return;
      this.enqueue(async () => {
        await this.call(bus, DBUS, '/org/freedesktop/DBus', DBUS, 'AddMatch', 's', [
          `type='signal',interface='${INSTANCE_IFACE}',member='VrrpStatusChange'`,
        ]);
        await this.call(bus, DBUS, '/org/freedesktop/DBus', DBUS, 'AddMatch', 's', [
          `type='signal',sender='${DBUS}',interface='${DBUS}',member='NameOwnerChanged',arg0='${this.opts.serviceName}'`,
        ]);
        this.backoff = this.opts.backoffMs[0];
        this.emit('connected');
        this.log(`following keepalived on ${this.opts.busAddress}`);
        await this.poll(bus);
      });
    });
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue.then(task).catch((e: Error) => this.log(`ERROR: keepalived watcher: ${e.message}`));
  }

  private drop(reason: string): void {
    const bus = this.bus;
    this.bus = undefined;
    this.paths.clear();
    if (bus) {
      bus.removeAllListeners();
      bus.on('error', () => undefined);
      try {
        bus.disconnect();
      } catch {
        /* already closed */
      }
      this.emit('disconnected', reason);
    }
  }

  private lost(reason: string): void {
    if (this.stopped) return;
    this.log(`WARNING: keepalived watcher lost the bus (${reason}); retrying in ${this.backoff} ms`);
    this.drop(reason);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, this.opts.backoffMs[1]);
  }

  /** A method call bounded in time. */
  private async call(bus: MessageBus, destination: string, path: string, iface: string, member: string, signature = '', body: unknown[] = []): Promise<Message> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${member} timed out`)), this.opts.callTimeoutMs);
    });
    try {
      const reply = await Promise.race([bus.call(new Message({ destination, path, interface: iface, member, signature, body })), timeout]);
      if (!reply) throw new Error(`${member}: no reply`);
      return reply;
    } catch (e) {
      // Only the bus daemon's silence means the bus is gone; keepalived may just be busy
      // (it stops answering for about a second while it shuts down).
      if (destination === DBUS && (e as Error).message.endsWith('timed out') && this.bus === bus) this.lost((e as Error).message);
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  private async property(bus: MessageBus, dest: string, path: string, name: string): Promise<unknown> {
    const r = await this.call(bus, dest, path, 'org.freedesktop.DBus.Properties', 'Get', 'ss', [INSTANCE_IFACE, name]);
    return (r.body[0] as { value: unknown }).value;
  }

  /** Every instance object under the root, by walking Introspect's child nodes. */
  private async instancePaths(bus: MessageBus, dest: string, path = ROOT, depth = 0): Promise<string[]> {
    const xml = String((await this.call(bus, dest, path, 'org.freedesktop.DBus.Introspectable', 'Introspect')).body[0]);
    const found = xml.includes(`interface name="${INSTANCE_IFACE}"`) ? [path] : [];
    if (depth >= 8) return found;
    for (const m of xml.matchAll(/<node name="([^"/]+)"\s*\/?>/g)) {
      found.push(...(await this.instancePaths(bus, dest, `${path === '/' ? '' : path}/${m[1]}`, depth + 1)));
    }
    return found;
  }

  /**
   * Ask the bus who owns keepalived's name (this call also proves the bus alive), then read
   * every instance. No owner: keepalived is gone, whatever it said last is no longer true.
   */
  private async poll(bus: MessageBus): Promise<void> {
    if (this.bus !== bus) return;
    let owner: string;
    try {
      owner = String((await this.call(bus, DBUS, '/org/freedesktop/DBus', DBUS, 'GetNameOwner', 's', [this.opts.serviceName])).body[0]);
    } catch {
      if (this.bus === bus) this.keepalivedGone();
      return;
    }
    let paths: string[];
    try {
      paths = await this.instancePaths(bus, owner);
    } catch {
      return; // busy or going away; the next poll or its NameOwnerChanged tells
    }
    for (const path of paths) {
      const read = async (): Promise<void> => {
        const name = structString(await this.property(bus, owner, path, 'Name'));
        const state = await this.property(bus, owner, path, 'State');
        if (!name || !Array.isArray(state)) return;
        this.paths.set(path, name);
        this.instances.set(name, instanceStateFromNumber(Number(state[0])));
      };
      await read().catch(() => undefined);
    }
    this.derive();
  }

  private keepalivedGone(): void {
    this.paths.clear();
    for (const k of this.instances.keys()) this.instances.set(k, 'STOP');
    this.derive();
  }

  private async onMessage(bus: MessageBus, m: Message): Promise<void> {
    if (this.bus !== bus || m.type !== MessageType.SIGNAL) return;
    if (m.interface === INSTANCE_IFACE && m.member === 'VrrpStatusChange') {
      let name = this.paths.get(m.path);
      if (!name) {
        // Ask the sender itself: at start-up it signals before owning the well-known name.
        name = structString(await this.property(bus, m.sender, m.path, 'Name').catch(() => undefined));
        if (!name) return;
        this.paths.set(m.path, name);
      }
      this.instances.set(name, instanceStateFromNumber(Number(m.body[0])));
      this.derive();
    } else if (m.interface === DBUS && m.member === 'NameOwnerChanged' && m.body[0] === this.opts.serviceName) {
      const owner = String(m.body[2]);
      if (owner) {
        this.paths.clear();
        this.log(`keepalived (${owner}) on the bus`);
        await this.poll(bus);
      } else {
        // Also covers a keepalived killed without its STOP signals.
        this.log('keepalived left the bus');
        this.keepalivedGone();
      }
    }
  }

  private derive(): void {
    const s = deriveGroupState(this.members, this.instances);
    if (s === this.groupState) return;
    this.groupState = s;
    this.emit('group', s);
  }
}
