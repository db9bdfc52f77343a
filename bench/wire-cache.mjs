#!/usr/bin/env node
// Protocol-core micro-benchmark (wire codec, caches, sync modes): ns per message with N flows.
// Not a test: it prints figures. Pure CPU, no sockets, no kernel.
//
//   npm run build && node bench/wire-cache.mjs [N]        (N defaults to 100000)
//
// encode       MessageBuilder.conntrack of a kernel entry (with reply tuple) + batcher append
// decode       ReceivePipeline over full datagrams (header checks + TLV parse into a record slot)
// cache new    InternalCache NEW event (key, counters stripped, insert)
// cache update InternalCache UPDATE event (key lookup + merge)
// ext update   ExternalCache UPD of a decoded object (lookup + merge)
// sender       kernel UPDATE event → internal cache → FtfwSync → encode → batch (per event)
// receiver     datagram → FtfwSync recv (seq, window) → decode → external cache (per message)
// conntrackd 1.4.7 spends ~11 µs per synced event on the sender and ~7 µs on the receiver in
// total (shared/lab/REPORT.md); the engine's budget is half of that including sockets/netlink.
import { existsSync } from 'node:fs';

const N = Number(process.argv[2] ?? 100_000);
// CTSYNC_DIST: another build output directory (default: the repo's dist/)
const base = process.env.CTSYNC_DIST ? new URL(`file://${process.env.CTSYNC_DIST}/`) : new URL('../dist/', import.meta.url);
const dist = (p) => new URL(`engine/${p}`, base);
if (!existsSync(dist('wire/build.js'))) {
  console.error('bench: dist/ is missing — run npm run build first');
  process.exit(1);
}
const { MessageBuilder } = await import(dist('wire/build.js').href);
const { DatagramBatcher } = await import(dist('wire/batcher.js').href);
const { ReceivePipeline } = await import(dist('wire/receive.js').href);
const { InternalCache } = await import(dist('cache/internal.js').href);
const { ExternalCache } = await import(dist('cache/external.js').href);
const { FtfwSync } = await import(dist('sync/ftfw.js').href);
const { records } = await import(dist('kernel/record.js').href);

const flow = (i, state = 3, mark = 0) => ({
  orig: { l3: 'ipv4', src: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, dst: '10.0.2.10', proto: 6, sport: 1024 + (i % 60000), dport: 80 },
  reply: { l3: 'ipv4', src: '10.0.2.10', dst: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, proto: 6, sport: 80, dport: 1024 + (i % 60000) },
  status: 0x18e,
  timeout: 432000,
  mark,
  tcp: { state },
  counters: { origPackets: 10, origBytes: 1000, replyPackets: 10, replyBytes: 2000 },
});
// the entries as kernel events deliver them: record slots, slot i at i * SLOT
const R = records();
const SLOT = R.slot;
const slots = (make) => {
  const buf = R.alloc(N);
  for (let i = 0; i < N; i++) R.packCt(make(i), buf, i * SLOT);
  return buf;
};
const flows = slots((i) => flow(i));
const updates = slots((i) => flow(i, 4, 7));

function time(label, n, fn) {
  const runs = [];
  for (let r = 0; r < 4; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    runs.push(Number(process.hrtime.bigint() - t0) / n);
  }
  runs.shift(); // warm-up
  runs.sort((a, b) => a - b);
  console.log(`${label.padEnd(14)} ${runs[1].toFixed(0).padStart(7)} ns/msg   (N=${n}, median of 3 after warm-up)`);
  return runs[1];
}

const opts = { sendTimeout: true, tcpWindowTracking: false };
const datagrams = [];
const collect = { payloadLimit: 1472, stream: false, send: (b) => datagrams.push(b) };
const sink = { payloadLimit: 1472, stream: false, send: () => undefined };

// encode
{
  const b = new MessageBuilder(opts);
  const batcher = new DatagramBatcher(sink);
  time('encode', N, () => {
    for (let i = 0; i < N; i++) batcher.append(b.buf, b.conntrack(0, 0, i, flows, i * SLOT));
    batcher.flush();
  });
  const out = new DatagramBatcher(collect);
  for (let i = 0; i < N; i++) out.append(b.buf, b.conntrack(1, 0, i, flows, i * SLOT));
  out.flush();
}

// decode
{
  const mode = { recv: () => 0 };
  const handler = { conntrack: () => undefined, expectation: () => undefined };
  const p = new ReceivePipeline(mode, handler, false);
  time('decode', N, () => {
    for (const d of datagrams) p.receive(d);
  });
}

// caches
{
  let c;
  const now = () => 1000;
  time('cache new', N, () => {
    c = new InternalCache({ hashLimit: 2 * N, nowSeconds: now });
    for (let i = 0; i < N; i++) c.ctEvent('new', 0, flows, i * SLOT);
  });
  time('cache update', N, () => {
    for (let i = 0; i < N; i++) c.ctEvent('update', 0, updates, i * SLOT);
  });
  const e = new ExternalCache({ hashLimit: 2 * N, nowSeconds: now });
  const decoded = R.alloc(N);
  let k = 0;
  const keep = (_t, rec, o) => rec.copy(decoded, k++ * SLOT, o, o + SLOT);
  const p = new ReceivePipeline({ recv: () => 0 }, { conntrack: keep, expectation: () => undefined }, false);
  for (const d of datagrams) p.receive(d);
  time('ext update', N, () => {
    for (let i = 0; i < N; i++) e.conntrack('update', decoded, i * SLOT);
  });
}

// end to end (sender and receiver), no sockets
{
  const soonQ = [];
  const scheduler = { now: () => 1_795_302_379_000, setTimer: () => ({}), clearTimer: () => undefined, soon: (fn) => soonQ.push(fn) };
  const wire = [];
  const internal = new InternalCache({ hashLimit: 2 * N, nowSeconds: () => 1000 });
  const ctx = (transport, external) => ({ transport, scheduler, store: internal.store, build: opts, external, resendAll: () => undefined });
  const tx = new FtfwSync(ctx({ payloadLimit: 1472, stream: false, send: (b) => wire.push(b) }, { conntrack() {}, expectation() {} }), {
    resendQueueSize: 2 * N,
    ackWindowSize: 300,
  });
  // filled before the sync mode is attached: nothing is sent for it (as the start-up dump)
  for (let i = 0; i < N; i++) internal.ctEvent('update', 0, flows, i * SLOT);
  internal.replicateTo(tx);
  let round = 0;
  time('sender', N, () => {
    wire.length = 0;
    round++;
    // events arrive in batches of 100 per main-loop turn, as from one netlink read
    for (let i = 0; i < N; i += 100) {
      for (let k = i; k < i + 100 && k < N; k++) internal.ctEvent('update', 0, round % 2 ? updates : flows, k * SLOT);
      while (soonQ.length) soonQ.shift()();
    }
  });
  const external = new ExternalCache({ hashLimit: 2 * N, nowSeconds: () => 1000 });
  const rxDatagrams = wire.slice();
  time('receiver', N, () => {
    // a fresh receiver each run (seq tracking starts over); same datagrams
    const rx = new FtfwSync(ctx({ payloadLimit: 1472, stream: false, send: () => undefined }, external), {
      resendQueueSize: 2 * N,
      ackWindowSize: 300,
    });
    for (const d of rxDatagrams) {
      rx.receive(d, 0);
      while (soonQ.length) soonQ.shift()();
    }
  });
}
console.log(`heap used ${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} MiB`);
