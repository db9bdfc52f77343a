/**
 * The demo without privileges: both nodes in this process, each a SyncEngine with its own
 * `memory` kernel table, their Multichannels talking real UDP over loopback (127.0.0.1 ↔
 * 127.0.0.2, interface `lo`). No control socket: the demo calls the engines directly and
 * renders `-s` through the daemon's own control handler.
 */
import { Multichannel } from '../engine/channel/multichannel.js';
import { parseConfig } from '../engine/config/parser.js';
import { EngineControlHandler } from '../engine/daemon/control-handler.js';
import { SyncEngine } from '../engine/daemon/engine.js';
import type { EngineLog } from '../engine/daemon/log.js';
import { MemoryKernel, openKernelTable } from '../engine/kernel/index.js';
import { CtsyncError } from '../common/errors.js';
import { demoFlow } from './flows.js';
import { nodeConfig, type DemoNode } from './node-config.js';
import { Progress, SETTLE_MS, settledStats, statsBlock, step, summary, until, type Out } from './report.js';
import type { DemoOptions, DemoRun } from './run.js';

/** Flows created per batch; the event loop runs between batches, as traffic would let it. */
const CHUNK = 1000;

interface MemoryNode {
  name: string;
  kernel: MemoryKernel;
  links: Multichannel;
  engine: SyncEngine;
}

/** The engine's notices, one line each, tagged with the node. */
function nodeLog(out: Out, name: string): EngineLog {
  const line = (level: string) => (m: string) => void out.write(`[${name}] ${level}${m}\n`);
  return { notice: line(''), info: line(''), warning: line('warning: '), error: line('ERROR: ') };
}

function memoryNode(n: DemoNode, out: Out): MemoryNode {
  const config = parseConfig(nodeConfig(n));
  const kernel = new MemoryKernel();
  const log = nodeLog(out, n.name);
  for (const w of config.warnings) log.warning(w);
  const links = new Multichannel(config.sync!.links, { log });
  const engine = new SyncEngine(config, {
    openKernel: () => openKernelTable({ kind: 'memory', kernel }),
    transport: links,
    log,
    links: () => links.stats(),
  });
  links.onReceive = engine.receive;
  engine.onActiveLink = (link) => links.setActive(link);
  return { name: n.name, kernel, links, engine };
}

async function start(node: MemoryNode): Promise<void> {
  await node.links.open();
  await node.engine.start();
}

export function memoryDemo(opts: DemoOptions, dir: string, out: Out): DemoRun {
  const nodes: MemoryNode[] = [];
  const run = async (): Promise<void> => {
    step(out, 'mode memory: two ctsyncd engines in this process on memory kernel tables, FT-FW over UDP on lo');
    out.write('A 127.0.0.1 ↔ B 127.0.0.2\n');
    const a = memoryNode({ name: 'A', address: '127.0.0.1', peer: '127.0.0.2', interface: 'lo', dir }, out);
    nodes.push(a);
    const b = memoryNode({ name: 'B', address: '127.0.0.2', peer: '127.0.0.1', interface: 'lo', dir }, out);
    nodes.push(b);
    await start(a);
    await start(b);
    const external = b.engine.external!;

    step(out, `creating ${opts.flows} flows in A's kernel table`);
    const tool = openKernelTable({ kind: 'memory', kernel: a.kernel });
    const progress = new Progress(out, opts.flows);
    const ticker = setInterval(() => progress.update(external.ct.size), 200);
    let synced: boolean;
    try {
      for (let i = 0; i < opts.flows; i += CHUNK) {
        const batch = Array.from({ length: Math.min(CHUNK, opts.flows - i) }, (_, k) => demoFlow(i + k));
        await tool.createBatch(batch);
        await new Promise((r) => setImmediate(r));
      }
      synced = await until(() => external.ct.size >= opts.flows, opts.timeoutMs, 20);
    } finally {
      clearInterval(ticker);
      tool.close();
    }
    progress.update(external.ct.size);
    const syncSeconds = progress.done();
    if (!synced) throw new CtsyncError('DEMO_STEP_FAILED', `B's external cache has ${external.ct.size} of ${opts.flows} flows after ${opts.timeoutMs / 1000} s`);

    step(out, 'failover: B commits its external cache to its kernel table (ctsyncd -c)');
    const r = await b.engine.commit();
    const view = openKernelTable({ kind: 'memory', kernel: b.kernel });
    const inKernel = await view.count();
    view.close();
    out.write(`B's kernel table now holds ${inKernel} flows\n`);
    if (r.failed > 0 || inKernel < opts.flows) throw new CtsyncError('DEMO_STEP_FAILED', `the commit left ${inKernel} of ${opts.flows} flows in B's kernel table`);

    // B's kernel events of the commit fill its internal cache; let both nodes settle first
    await until(() => b.engine.snapshot().internal!.ct.active >= opts.flows, SETTLE_MS, 50);
    const handlers = nodes.map((node) => new EngineControlHandler(node.engine));
    const stats = await settledStats(async () => handlers.map((h) => String(h.stats('general') ?? '')));
    nodes.forEach((node, i) => statsBlock(out, node.name, stats[i]!));
    summary(out, { flows: opts.flows, syncSeconds, commitSeconds: r.seconds, committed: r.committed });
  };
  const cleanup = async (): Promise<void> => {
    for (const node of nodes.splice(0)) {
      await node.engine.stop();
      node.links.close();
    }
  };
  return { run, cleanup };
}
