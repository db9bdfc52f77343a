// FTP control sessions for the expectation cells (run inside the sender's namespace by
// interop/ftp.ts): a stub server on SERVER:21 answers every line with "200", and COUNT
// clients from CLIENT each send `USER` then `PORT CLIENT,port` (port BASE + i). The kernel's
// ftp helper, assigned by an nft `ct helper` rule, parses the PORT command (never the first
// line of a direction: it only learns where lines start from it) and creates one real
// expectation per session. Prints `ready COUNT`, then holds the sessions open until stdin ends.
import net from 'node:net';

const [server, client, countArg, baseArg] = process.argv.slice(2);
const count = Number(countArg);
const base = Number(baseArg);

const stub = net.createServer((s) => {
  let pending = '';
  s.on('data', (d) => {
    pending += d;
    for (let i = pending.indexOf('\n'); i >= 0; i = pending.indexOf('\n')) {
      pending = pending.slice(i + 1);
      s.write('200 ok\r\n');
    }
  });
  s.on('error', () => undefined);
});
await new Promise((resolve) => stub.listen(21, server, resolve));

/** Send one command and wait for its reply, so each command is a segment of its own. */
const command = (s, text) =>
  new Promise((resolve) => {
    s.once('data', resolve);
    s.write(text);
  });

const sessions = [];
for (let i = 0; i < count; i++) {
  const s = net.connect({ host: server, port: 21, localAddress: client });
  s.setNoDelay(true);
  await new Promise((resolve) => s.once('connect', resolve));
  await command(s, 'USER anonymous\r\n');
  const port = base + i;
  await command(s, `PORT ${client.replaceAll('.', ',')},${port >> 8},${port & 255}\r\n`);
  sessions.push(s);
}
process.stdout.write(`ready ${sessions.length}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
