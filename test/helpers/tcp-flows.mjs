#!/usr/bin/env node
// Long-lived TCP connections for the fail-over lab (test/helpers/failover-lab.ts), run inside
// its namespaces. No dependencies: it must start with nothing but node.
//
//   tcp-flows.mjs server <addr> <port>
//       echo server; prints {"event":"listening"}, then one {"event":"peer-error"} per socket
//       error it sees (a reset reaching the server)
//   tcp-flows.mjs client <addr> <port> <connections> <senders> <interval-ms>
//       opens the connections (one at a time), prints {"event":"connected"}; the first
//       <senders> send one 16-byte message every <interval-ms> for as long as they live. Every
//       message is echoed; a connection counts the time each one waited for its echo.
//       stdin commands, one JSON line each in reply:
//         round <timeout-ms>  one message on every connection; {"event":"round",ok,fail,maxMs}
//         stats               {"event":"stats",open,errors,closed,sent,echoed,maxWaitMs,
//                             maxWaitMsSenders} (maxWait*: since the last `reset`)
//         reset               zero the maxWait counters
//         quit
import net from 'node:net';
import { createInterface } from 'node:readline';

const MSG = 16;
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const [mode, host, portText, ...rest] = process.argv.slice(2);
const port = Number(portText);

if (mode === 'server') {
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on('error', (e) => say({ event: 'peer-error', code: e.code }));
    s.pipe(s);
  });
  server.listen(port, host, () => say({ event: 'listening' }));
} else if (mode === 'client') {
  const [count, senders, intervalMs] = rest.map(Number);
  const conns = [];
  const errors = [];
  let closed = 0;

  function open(i) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      const c = { s, sent: 0, echoed: 0, pending: [], waiters: [], maxWait: 0, buffered: 0, open: true };
      s.setNoDelay(true);
      s.once('connect', () => resolve(c));
      s.on('error', (e) => {
        errors.push({ conn: i, code: e.code });
        reject(e); // no-op once connected
      });
      s.on('data', (d) => {
        c.buffered += d.length;
        const now = performance.now();
        for (; c.buffered >= MSG; c.buffered -= MSG) {
          c.maxWait = Math.max(c.maxWait, now - c.pending.shift());
          c.echoed++;
        }
        while (c.waiters.length && c.waiters[0].n <= c.echoed) c.waiters.shift().done(true);
      });
      s.once('close', () => {
        c.open = false;
        closed++;
        for (const w of c.waiters.splice(0)) w.done(false);
      });
    });
  }

  /** Send one message; resolves true once it is echoed, false on close or timeout. */
  function send(c, timeoutMs) {
    if (!c.open) return Promise.resolve(false);
    c.pending.push(performance.now());
    c.sent++;
    c.s.write(Buffer.alloc(MSG, c.sent & 0xff));
    if (timeoutMs === undefined) return undefined;
    const n = c.sent;
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      c.waiters.push({ n, done: (ok) => (clearTimeout(t), resolve(ok)) });
    });
  }

  for (let i = 0; i < count; i++) conns.push(await open(i));
  const ticker = setInterval(() => {
    for (const c of conns.slice(0, senders)) send(c);
  }, intervalMs);
  say({ event: 'connected', count });

  const rl = createInterface({ input: process.stdin });
  rl.on('line', async (line) => {
    const [cmd, arg] = line.trim().split(/\s+/);
    if (cmd === 'round') {
      const t0 = performance.now();
      const times = await Promise.all(conns.map((c) => send(c, Number(arg)).then((ok) => (ok ? performance.now() - t0 : -1))));
      const ok = times.filter((t) => t >= 0);
      say({ event: 'round', ok: ok.length, fail: times.length - ok.length, maxMs: Math.round(Math.max(0, ...ok)) });
    } else if (cmd === 'stats') {
      const sum = (f) => conns.reduce((n, c) => n + f(c), 0);
      const now = performance.now();
      // a message still unanswered counts with its wait so far
      const wait = (c) => Math.max(c.maxWait, c.pending.length ? now - c.pending[0] : 0);
      const maxWait = (cs) => Math.round(Math.max(0, ...cs.map(wait)));
      say({
        event: 'stats',
        open: conns.filter((c) => c.open).length,
        errors,
        closed,
        sent: sum((c) => c.sent),
        echoed: sum((c) => c.echoed),
        maxWaitMs: maxWait(conns),
        maxWaitMsSenders: maxWait(conns.slice(0, senders)),
      });
    } else if (cmd === 'reset') {
      for (const c of conns) c.maxWait = 0;
      say({ event: 'reset' });
    } else if (cmd === 'quit') {
      clearInterval(ticker);
      for (const c of conns) c.s.destroy();
      rl.close();
    }
  });
} else {
  process.stderr.write('usage: tcp-flows.mjs server <addr> <port> | client <addr> <port> <connections> <senders> <interval-ms>\n');
  process.exit(2);
}
