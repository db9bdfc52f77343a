/**
 * Runs channel peers inside test namespaces: compiles src/engine/channel and src/engine/wire
 * (and what they import) to a private directory, then spawns peer.mjs through Netns.spawn.
 * The output goes under node_modules/.cache; remove() deletes it.
 */
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LinkConfig } from '../../../src/engine/config/types.js';
import type { Netns } from '../../helpers/netns.js';
import { waitFor } from '../../helpers/netns.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
const PEER = join(ROOT, 'test/engine/channel/peer.mjs');

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
  /** Compiled src/ root. */
  dist: string;
  start(ns: Netns, links: LinkConfig[]): ChannelPeer;
  remove(): void;
}

export function buildChannels(): BuiltChannels {
  const out = join(ROOT, 'node_modules/.cache', `ctsync-channel-${process.pid}`);
  mkdirSync(out, { recursive: true });
  const tsconfig = join(out, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.json'),
      compilerOptions: { rootDir: join(ROOT, 'src'), outDir: join(out, 'js'), sourceMap: false, noEmit: false },
      include: [],
      files: [join(ROOT, 'src/engine/channel/multichannel.ts'), join(ROOT, 'src/engine/wire/index.ts')],
    }),
  );
  const dist = join(out, 'js');
  // Type errors elsewhere in the tree (other work in progress) do not stop the emit: only a
  // missing output is fatal.
  const tsc = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', tsconfig], { encoding: 'utf8' });
  if (!existsSync(join(dist, 'engine/channel/multichannel.js'))) {
    rmSync(out, { recursive: true, force: true });
    throw new Error(`cannot compile the channels: ${tsc.stdout}${tsc.stderr}`);
  }
  return {
    dist,
    start: (ns, links) => new ChannelPeer(ns.spawn(process.execPath, [PEER, dist, JSON.stringify(links)])),
    remove: () => rmSync(out, { recursive: true, force: true }),
  };
}
