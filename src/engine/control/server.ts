/**
 * The control socket (conntrackd's local.c, shared/spec/conntrackd.md §5.1): AF_UNIX stream
 * at General.unixPath, unlinked then bound with mode 0600. Each connection carries one
 * request (a native-endian int); the reply is plain text in any number of chunks, ended by
 * closing the socket. The server knows nothing of caches or links: it decodes the request
 * and asks a ControlHandler, one method per request family.
 */
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { CtsyncError } from '../../common/errors.js';
import type { RuntimeStats } from '../stats.js';
import { REQUEST, REQUEST_SIZE, decodeRequest } from './requests.js';

/** A reply: text, chunks (sync or async), a promise of either, or nothing (empty reply). */
export type Reply = string | void | Iterable<string> | AsyncIterable<string> | Promise<string | void | Iterable<string> | AsyncIterable<string>>;

export type CtOrExp = 'ct' | 'expect';
export type Scope = CtOrExp | 'all';
export type StatsRequest = 'general' | 'expect' | 'network' | 'cache' | 'runtime' | 'link' | 'rsqueue' | 'queue' | 'process';
export type JsonRequest = 'stats' | 'ct-internal' | 'ct-external' | 'expect-internal' | 'expect-external';

/** What the daemon answers with; one method per request family (§3.4, §5.2). */
export interface ControlHandler {
  stats(which: StatsRequest): Reply;
  dump(cache: 'internal' | 'external', what: CtOrExp, format: 'text' | 'xml'): Reply;
  /** The reply (and the socket) stays open until the returned promise settles (§3.3). */
  commit(what: Scope): Reply;
  flushCache(which: 'internal' | 'external' | 'all'): Reply;
  flushMaster(what: Scope): Reply;
  resyncMaster(what: Scope): Reply;
  sendBulk(): Reply;
  requestDump(): Reply;
  resetTimers(): Reply;
  /** ctsync structured requests (codes ≥ 1000): one JSON document (./json.ts). */
  json(which: JsonRequest): Reply;
}

export interface ControlServerOptions {
  path: string;
  handler: ControlHandler;
  /** KILL: conntrackd exits without replying; the daemon's shutdown goes here. */
  onKill: () => void;
  /** Counters the server owns: `local read failed`, `local unknown request`. */
  runtime?: Pick<RuntimeStats, 'localReadFailed' | 'localUnknownRequest'>;
  /** Handler errors (a reply that threw): logged by the daemon, never sent to the client. */
  onError?: (err: unknown) => void;
}

type Dispatch = (h: ControlHandler) => Reply;

const R = REQUEST;
const DISPATCH = new Map<number, Dispatch>([
  [R.STATS, (h) => h.stats('general')],
  [R.EXP_STATS, (h) => h.stats('expect')],
  [R.STATS_NETWORK, (h) => h.stats('network')],
  [R.STATS_CACHE, (h) => h.stats('cache')],
  [R.STATS_RUNTIME, (h) => h.stats('runtime')],
  [R.STATS_LINK, (h) => h.stats('link')],
  [R.STATS_RSQUEUE, (h) => h.stats('rsqueue')],
  [R.STATS_QUEUE, (h) => h.stats('queue')],
  [R.STATS_PROCESS, (h) => h.stats('process')],
  [R.CT_DUMP_INTERNAL, (h) => h.dump('internal', 'ct', 'text')],
  [R.CT_DUMP_EXTERNAL, (h) => h.dump('external', 'ct', 'text')],
  [R.CT_DUMP_INT_XML, (h) => h.dump('internal', 'ct', 'xml')],
  [R.CT_DUMP_EXT_XML, (h) => h.dump('external', 'ct', 'xml')],
  [R.EXP_DUMP_INTERNAL, (h) => h.dump('internal', 'expect', 'text')],
  [R.EXP_DUMP_EXTERNAL, (h) => h.dump('external', 'expect', 'text')],
  [R.EXP_DUMP_INT_XML, (h) => h.dump('internal', 'expect', 'xml')],
  [R.EXP_DUMP_EXT_XML, (h) => h.dump('external', 'expect', 'xml')],
  [R.CT_COMMIT, (h) => h.commit('ct')],
  [R.EXP_COMMIT, (h) => h.commit('expect')],
  [R.ALL_COMMIT, (h) => h.commit('all')],
  [R.CT_FLUSH_INT_CACHE, (h) => h.flushCache('internal')],
  [R.CT_FLUSH_EXT_CACHE, (h) => h.flushCache('external')],
  [R.CT_FLUSH_CACHE, (h) => h.flushCache('all')],
  [R.ALL_FLUSH_CACHE, (h) => h.flushCache('all')],
  [R.CT_FLUSH_MASTER, (h) => h.flushMaster('ct')],
  [R.EXP_FLUSH_MASTER, (h) => h.flushMaster('expect')],
  [R.ALL_FLUSH_MASTER, (h) => h.flushMaster('all')],
  [R.CT_RESYNC_MASTER, (h) => h.resyncMaster('ct')],
  [R.EXP_RESYNC_MASTER, (h) => h.resyncMaster('expect')],
  [R.ALL_RESYNC_MASTER, (h) => h.resyncMaster('all')],
  [R.SEND_BULK, (h) => h.sendBulk()],
  [R.REQUEST_DUMP, (h) => h.requestDump()],
  [R.RESET_TIMERS, (h) => h.resetTimers()],
  [R.JSON_STATS, (h) => h.json('stats')],
  [R.JSON_CT_DUMP_INTERNAL, (h) => h.json('ct-internal')],
  [R.JSON_CT_DUMP_EXTERNAL, (h) => h.json('ct-external')],
  [R.JSON_EXP_DUMP_INTERNAL, (h) => h.json('expect-internal')],
  [R.JSON_EXP_DUMP_EXTERNAL, (h) => h.json('expect-external')],
]);

export class ControlServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly opts: ControlServerOptions) {}

  /** Unlink, bind with umask 0177 (mode 0600, as upstream), listen. */
  async listen(): Promise<void> {
    const { path } = this.opts;
    try {
      unlinkSync(path);
    } catch {
      // Nothing to remove.
    }
    const server = createServer((s) => this.serve(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(new CtsyncError('ENGINE_CHANNEL', `can't open unix socket ${path}: ${e.message}`, { cause: e })));
      // The bind happens inside listen(): the umask covers the socket's creation.
      const old = process.umask(0o177);
      try {
        server.listen({ path, backlog: 100 }, resolve);
      } finally {
        process.umask(old);
      }
    });
    chmodSync(path, 0o600);
  }

  /** Stop listening, drop open clients, remove the socket file. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.opts.path);
    } catch {
      // Already gone.
    }
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < REQUEST_SIZE) return;
      socket.off('data', onData);
      socket.off('end', onEnd);
      void this.answer(socket, decodeRequest(buf));
    };
    const onEnd = (): void => {
      if (this.opts.runtime) this.opts.runtime.localReadFailed++;
      socket.end();
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
  }

  private async answer(socket: Socket, code: number): Promise<void> {
    if (code === REQUEST.KILL) {
      socket.end();
      this.opts.onKill();
      return;
    }
    const dispatch = DISPATCH.get(code);
    if (!dispatch) {
      if (this.opts.runtime) this.opts.runtime.localUnknownRequest++;
      socket.end();
      return;
    }
    try {
      await writeReply(socket, await dispatch(this.opts.handler));
    } catch (e) {
      this.opts.onError?.(e);
    } finally {
      socket.end();
    }
  }
}

async function writeReply(socket: Socket, reply: Awaited<Reply>): Promise<void> {
  if (reply === undefined) return;
  if (typeof reply === 'string') {
    await write(socket, reply);
    return;
  }
  if (Symbol.asyncIterator in reply) {
    for await (const chunk of reply) await write(socket, chunk);
    return;
  }
  for (const chunk of reply) await write(socket, chunk);
}

/** Write with backpressure: a long dump waits for the client instead of buffering it all. */
function write(socket: Socket, text: string): Promise<void> {
  if (text === '' || socket.destroyed) return Promise.resolve();
  if (socket.write(text)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.once('drain', done);
    socket.once('close', done);
  });
}
