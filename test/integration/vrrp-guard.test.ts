/**
 * The fail-over guard on a real kernel: a firewall namespace with a stateful ruleset that
 * rejects INVALID with a TCP reset, nf_conntrack_tcp_loose=0, and a client holding a TCP
 * connection through it. Losing the conntrack entry (what a new master sees before its
 * commit) kills the connection with a RST — unless the guard is up: then the segment is
 * dropped, TCP retransmits, and once the entry is back (the commit) the connection lives on.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, Netns, skipNote, skipReason, veth, waitFor } from '../helpers/netns.js';
import { FailoverGuard, GUARD_TABLE, guardRuleset } from '../../src/vrrp-hooks/guard.js';

const reason = skipReason(['nft', 'conntrack', 'python3']);

const SERVER = [
  'import socket, threading',
  's = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
  "s.bind(('10.211.0.2', 8080)); s.listen(16)",
  'def echo(c):',
  '    while True:',
  '        d = c.recv(4096)',
  '        if not d: return',
  '        c.sendall(d)',
  'while True:',
  '    c, _ = s.accept(); threading.Thread(target=echo, args=(c,), daemon=True).start()',
].join('\n');

// One connection; each stdin line sends a byte and reports the echo (or the error).
const CLIENT = [
  'import socket, sys',
  "c = socket.create_connection(('10.211.0.2', 8080), timeout=10)",
  "print('port', c.getsockname()[1], flush=True)",
  'for line in sys.stdin:',
  '    try:',
  "        c.sendall(b'x'); print('ok' if c.recv(1) == b'x' else 'closed', flush=True)",
  '    except Exception as e:',
  "        print('error', type(e).__name__, flush=True)",
].join('\n');

describe.skipIf(reason !== '')(`fail-over guard on a real kernel${skipNote(reason)}`, () => {
  let cli: Netns;
  let fw: Netns;

  beforeAll(async () => {
    cli = new Netns('gc');
    fw = new Netns('gf');
    veth(cli, 'eth0', fw, 'eth0');
    cli.addr('eth0', '10.211.0.1/24');
    fw.addr('eth0', '10.211.0.2/24');
    fw.run('sysctl', ['-qw', 'net.netfilter.nf_conntrack_tcp_loose=0']);
    fw.run('nft', ['-f', '-'], `table inet fw {
  chain input {
    type filter hook input priority 0; policy accept;
    ct state established,related accept
    tcp dport 8080 ct state new accept
    ct state invalid counter reject with tcp reset
  }
}
`);
    cli.run('nft', ['-f', '-'], 'table inet mon {\n chain input {\n  type filter hook input priority 0;\n  tcp flags & rst == rst counter\n }\n}\n');
    fw.spawn('python3', ['-c', SERVER]);
    await waitFor(() => fw.try('ss', ['-ltn']).stdout.includes('10.211.0.2:8080'), 5000);
  });
  afterAll(cleanup);

  const rstSeen = () => Number(/counter packets (\d+)/.exec(cli.run('nft', ['list', 'table', 'inet', 'mon']))?.[1]);
  const guardDrops = () => [...fw.run('nft', ['list', 'table', 'inet', GUARD_TABLE]).matchAll(/counter packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  const hasGuard = () => fw.run('nft', ['list', 'tables']).includes(GUARD_TABLE);

  interface Client {
    child: ChildProcess;
    port: number;
    /** Send one byte to be echoed. */
    send(): void;
    /** The next outcome ('ok', 'error …'), or undefined if none within `ms`. */
    next(ms: number): Promise<string | undefined>;
  }

  async function connect(): Promise<Client> {
    const child = cli.spawn('python3', ['-c', CLIENT]);
    const out: string[] = [];
    let partial = '';
    child.stdout!.on('data', (c: Buffer) => {
      const lines = (partial + c.toString()).split('\n');
      partial = lines.pop()!;
      out.push(...lines);
    });
    const next = async (ms: number) => ((await waitFor(() => out.length > 0, ms, 20)) ? out.shift() : undefined);
    const port = Number((await next(5000))?.split(' ')[1]);
    return { child, port, send: () => child.stdin!.write('ping\n'), next };
  }

  it('control: without the guard a flushed flow is reset', async () => {
    const c = await connect();
    c.send();
    expect(await c.next(2000)).toBe('ok');
    const before = rstSeen();
    fw.run('conntrack', ['-F']);
    c.send();
    expect(await c.next(3000)).toBe('error ConnectionResetError');
    expect(rstSeen()).toBeGreaterThan(before);
  });

  it('with the guard: dropped, not reset; after the commit and lift the connection carries on', async () => {
    const c = await connect();
    c.send();
    expect(await c.next(2000)).toBe('ok');
    const before = rstSeen();
    fw.run('conntrack', ['-F']);
    const guard = new FailoverGuard({ nftCommand: ['ip', 'netns', 'exec', fw.name, 'nft'], timeoutMs: 10_000 });
    await guard.up();
    c.send();
    expect(await c.next(1200)).toBeUndefined(); // no echo, no reset: retransmitting
    expect(guardDrops()).toBeGreaterThan(0);
    expect(rstSeen()).toBe(before);
    // the commit: the flow's entry is back in the kernel (as conntrackd -c puts it)
    fw.run('conntrack', ['-I', '-p', 'tcp', '-s', '10.211.0.1', '-d', '10.211.0.2', '--sport', String(c.port), '--dport', '8080',
      '--state', 'ESTABLISHED', '-u', 'ASSURED', '-t', '120']);
    await guard.down();
    expect(hasGuard()).toBe(false);
    // the pending byte goes through on a retransmission, and the connection carries on
    expect(await c.next(8000)).toBe('ok');
    c.send();
    expect(await c.next(2000)).toBe('ok');
    expect(rstSeen()).toBe(before);
  });

  it('with nf_conntrack_tcp_loose=1: the mid-stream segment is not picked up as a new flow', async () => {
    fw.run('sysctl', ['-qw', 'net.netfilter.nf_conntrack_tcp_loose=1']);
    try {
      const c = await connect();
      c.send();
      expect(await c.next(2000)).toBe('ok');
      fw.run('conntrack', ['-F']);
      const guard = new FailoverGuard({ nftCommand: ['ip', 'netns', 'exec', fw.name, 'nft'], timeoutMs: 10_000 });
      await guard.up();
      c.send();
      expect(await c.next(1200)).toBeUndefined();
      // dropped before confirmation: no entry with fresh (possibly wrong) state or NAT
      expect(fw.try('conntrack', ['-L', '-p', 'tcp', '--sport', String(c.port)]).stdout).toBe('');
      expect(guardDrops()).toBeGreaterThan(0);
      await guard.down();
      expect(await c.next(8000)).toBe('ok'); // without a commit, loose pick-up on the retransmission
    } finally {
      fw.run('sysctl', ['-qw', 'net.netfilter.nf_conntrack_tcp_loose=0']);
    }
  });

  it('left behind by a dead hook, it stops matching when its kernel timeout runs out', async () => {
    fw.run('nft', ['-f', '-'], guardRuleset(1000)); // what up() installs; nobody will lift it
    const c = await connect();
    c.send();
    expect(await c.next(2000)).toBe('ok');
    await new Promise((r) => setTimeout(r, 1500));
    expect(hasGuard()).toBe(true);
    fw.run('conntrack', ['-F']);
    c.send();
    expect(await c.next(3000)).toBe('error ConnectionResetError'); // the guard is inert
    expect(guardDrops()).toBe(0);
    fw.run('nft', ['delete', 'table', 'inet', GUARD_TABLE]);
  });

  it('lifts itself when nobody lifts it', async () => {
    let timedOut = false;
    const guard = new FailoverGuard({ nftCommand: ['ip', 'netns', 'exec', fw.name, 'nft'], timeoutMs: 600, onTimeout: () => (timedOut = true) });
    await guard.up();
    expect(hasGuard()).toBe(true);
    expect(await waitFor(() => !hasGuard(), 3000)).toBe(true);
    expect(timedOut).toBe(true);
  });
});
