// A channel peer for namespace tests: runs one Multichannel from the compiled engine inside
// the namespace it was spawned in (Node cannot setns). argv[2]: the compiled src/ directory;
// argv[3]: JSON LinkConfig[]. Commands on stdin, one per line; JSON events on stdout.
//   send <hex> | ct <json Conntrack> | stats | quit
//   → {"ev":"ready",info} {"ev":"recv",link,hex} {"ev":"log",level,msg} {"ev":"stats",...}
import { createInterface } from 'node:readline';

const [dist, linksJson] = process.argv.slice(2);
const { Multichannel } = await import(`${dist}/engine/channel/multichannel.js`);
const { MessageBuilder, NET_T } = await import(`${dist}/engine/wire/index.js`);
const { records } = await import(`${dist}/engine/kernel/record.js`);

const out = (o) => process.stdout.write(`${JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))}\n`);
const log = (level) => (msg) => out({ ev: 'log', level, msg });
const mc = new Multichannel(JSON.parse(linksJson), { log: { notice: log('notice'), warning: log('warning'), error: log('error') } });
mc.onReceive = (payload, link) => out({ ev: 'recv', link, hex: payload.toString('hex') });
await mc.open();
out({ ev: 'ready', current: mc.current, payloadLimit: mc.payloadLimit, info: mc.info() });

const builder = new MessageBuilder({ sendTimeout: true, tcpWindowTracking: false });
let seq = 1;
for await (const line of createInterface({ input: process.stdin })) {
  const sp = line.indexOf(' ');
  const cmd = sp < 0 ? line : line.slice(0, sp);
  const arg = sp < 0 ? '' : line.slice(sp + 1);
  if (cmd === 'send') mc.send(Buffer.from(arg, 'hex'));
  else if (cmd === 'ct') {
    // the builder encodes record slots, as the caches hold them
    const slot = records().alloc(1);
    records().packCt(JSON.parse(arg), slot, 0);
    const len = builder.conntrack(NET_T.CT_NEW, 0, seq++, slot, 0);
    mc.send(Buffer.from(builder.buf.subarray(0, len)));
  } else if (cmd === 'stats') out({ ev: 'stats', current: mc.current, links: mc.stats(), queues: mc.queues() });
  else if (cmd === 'quit') break;
}
mc.close();
process.stdin.destroy();
