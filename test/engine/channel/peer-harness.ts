/**
 * Runs channel peers inside test namespaces: peer.mjs, on the compiled tree (dist/, built once
 * by the tests' global setup), through Netns.spawn.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { LinkConfig } from '../../../src/engine/config/types.js';
import type { Netns } from '../../helpers/netns.js';
import { waitFor } from '../../helpers/netns.js';
import { ROOT } from '../../helpers/programs.js';

const PEER = join(ROOT, 'test/engine/channel/peer.mjs');
const DIST = join(ROOT, 'dist');

export interface PeerEvent {
  ev: 'ready' | 'recv' | 'log' | 'stats';
  [k: string]: unknown;
}

export class ChannelPeer {
  readonly events: PeerEvent[] = [];
  readonly stderr: string[] = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => this.events.push(JSON.parse(l) as PeerEvent));
    child.stderr!.on('data', (d) => this.stderr.push(String(d)));
  }

  command(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  received(): Array<{ link: number; data: Buffer }> {
    return this.events.filter((e) => e.ev === 'recv').map((e) => ({ link: e.link as number, data: Buffer.from(e.hex as string, 'hex') }));
  }

  logs(): string[] {
    return this.events.filter((e) => e.ev === 'log').map((e) => `${e.level as string} ${e.msg as string}`);
  }

  async ready(timeoutMs = 10000): Promise<PeerEvent> {
    const ev = await waitFor(() => this.events.find((e) => e.ev === 'ready') ?? (this.child.exitCode !== null ? 'exit' : undefined), timeoutMs);
    if (ev === undefined || ev === 'exit') throw new Error(`peer not ready: ${this.stderr.join('')}`);
    return ev;
  }

  /** Asks for the stats and waits for the answer. */
  async stats(): Promise<{ current: number; links: Array<Record<string, unknown>>; queues: Array<Record<string, unknown>> }> {
    const before = this.events.length;
    this.command('stats');
    const ev = await waitFor(() => this.events.slice(before).find((e) => e.ev === 'stats'), 5000);
    if (!ev) throw new Error('no stats');
    return ev as never;
  }

  async quit(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.command('quit');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  }
}

export interface BuiltChannels {
  start(ns: Netns, links: LinkConfig[]): ChannelPeer;
}

export function buildChannels(): BuiltChannels {
  return { start: (ns, links) => new ChannelPeer(ns.spawn(process.execPath, [PEER, DIST, JSON.stringify(links)])) };
}
