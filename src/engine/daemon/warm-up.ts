/**
 * V8 compiles a function to fast code only once it has run hot, and compiles on other threads
 * meanwhile: a daemon fresh from start-up would run its first burst of events (a bulk resync,
 * the first flows after a fail-over) in the interpreter, paying the compiles on top. conntrackd,
 * compiled ahead of time, has no such cost. So before it starts, the daemon runs its per-event
 * paths on scratch state: flows through an internal cache and a sync mode into datagrams, those
 * datagrams through a second sync mode into an external cache, the external cache through a
 * commit (into a table that takes everything), then updates and deletes. The scratch state is
 * garbage afterwards; nothing reaches a socket or the kernel.
 */
import type { Transport } from '../channel/transport.js';
import type { FilterConfig, SyncConfig } from '../config/types.js';
import { ExternalCache } from '../cache/external.js';
import { InternalCache } from '../cache/internal.js';
import { RecordStore } from '../cache/store.js';
import { records } from '../kernel/record.js';
import type { KernelTable, RecordBatch } from '../kernel/kernel-table.js';
import type { Conntrack } from '../model/conntrack.js';
import { createSyncMode } from '../sync/index.js';
import type { SyncMode } from '../sync/mode.js';
import type { Scheduler } from '../sync/scheduler.js';
import { buildOptionsFrom } from '../wire/build.js';
import { Committer, releaseCreated } from './commit.js';
import type { EngineLog } from './log.js';

/** Flows per round: enough runs of every per-event function for V8 to optimize it. */
export const WARM_UP_FLOWS = 8192;
/** Events per batch, as a netlink read delivers them. */
const BATCH = 256;

/** What the scratch run did: the flows that reached the external cache, were committed, and were left after the deletes. */
export interface WarmUpRun {
  synced: number;
  committed: number;
  left: number;
}

/**
 * `filter`: the daemon's own, so the events go through the code the live ones will; `links`:
 * the daemon's own, for the datagram size and framing (nothing is sent on them).
 */
export async function warmUp(sync: SyncConfig, filter: FilterConfig | undefined, links: Pick<Transport, 'payloadLimit' | 'stream'>): Promise<WarmUpRun> {
  const R = records();
  // timers never fire here; `soon` work runs when the batch it belongs to is done
  const soon: Array<() => void> = [];
  const scheduler: Scheduler = { now: () => 0, setTimer: () => ({}), clearTimer: () => undefined, soon: (fn) => void soon.push(fn) };
  const drain = (): void => {
    for (let fn = soon.shift(); fn !== undefined; fn = soon.shift()) fn();
  };
  const nowSeconds = (): number => 0;
  const internal = new InternalCache({ hashLimit: 2 * WARM_UP_FLOWS, nowSeconds, filter });
  const external = new ExternalCache({ hashLimit: 2 * WARM_UP_FLOWS, nowSeconds });
  const pair = (store: RecordStore, deliver: () => SyncMode): SyncMode =>
    createSyncMode(sync, {
      transport: { payloadLimit: links.payloadLimit, stream: links.stream, send: (payload) => deliver().receive(payload, 0) },
      scheduler,
      store,
      build: buildOptionsFrom(sync),
      external,
      resendAll: () => undefined,
    });
  const tx: SyncMode = pair(internal.store, () => rx);
  // the receiving side queues nothing of its own: an empty store
  const rx: SyncMode = pair(new RecordStore(), () => tx);
  internal.replicateTo(tx);

  const batch = R.alloc(BATCH);
  const events = (type: 'new' | 'update' | 'destroy', mark: number): void => {
    for (let i = 0; i < WARM_UP_FLOWS; i += BATCH) {
      for (let k = 0; k < BATCH; k++) R.packCt(flow(i + k, mark), batch, k * R.slot);
      for (let k = 0; k < BATCH; k++) internal.ctEvent(type, 0, batch, k * R.slot);
      drain();
    }
  };
  events('new', 0);
  const synced = external.ct.size;
  const table = { createRecords: async (b: RecordBatch) => new Int32Array(b.count) } as Pick<KernelTable, 'createRecords'> as KernelTable;
  const committer = new Committer({ table, log: SILENT, nowSeconds, commitTimeout: undefined, liberal: true });
  const { committed, created } = await committer.commit(external, 'ct');
  releaseCreated(external.ct, created);
  events('update', 1);
  events('destroy', 1);
  tx.stop();
  rx.stop();
  return { synced, committed, left: external.ct.size };
}

const SILENT: EngineLog = { notice: () => undefined, info: () => undefined, warning: () => undefined, error: () => undefined };

function flow(i: number, mark: number): Conntrack {
  const src = `198.18.${(i >> 8) & 255}.${i & 255}`;
  return {
    orig: { l3: 'ipv4', src, dst: '198.19.0.1', proto: 6, sport: 1024 + i, dport: 443 },
    reply: { l3: 'ipv4', src: '198.19.0.1', dst: src, proto: 6, sport: 443, dport: 1024 + i },
    status: 0x18e,
    timeout: 432000,
    mark,
    tcp: { state: 3 },
  };
}
