/**
 * Real traffic for the op-mode namespace tests: a client and a server namespace routed through
 * a firewall namespace that forwards IPv4 and IPv6 through an nft stateful ruleset, whose
 * `ct helper` rule gives FTP control connections the kernel's ftp helper. Python endpoints
 * make TCP connections (held open), UDP exchanges, pings (ICMP, ICMPv6) and an FTP control
 * session whose PORT command makes the helper create one real expectation.
 */
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Netns, veth } from '../helpers/netns.js';

/** Endpoints: TCP/UDP/FTP servers, clients, and ping (python3 for the raw ICMP socket ping needs). */
const TRAFFIC_PY = `
import socket, struct, sys, threading, time
mode, args = sys.argv[1], sys.argv[2:]
fam = socket.AF_INET6 if ':' in (args[0] if args else '') else socket.AF_INET

def dual_stack(kind, port):
    s = socket.socket(socket.AF_INET6, kind)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('::', port))
    return s

def answer_lines(c, answer):
    while True:
        d = c.recv(512)
        if not d: return
        for _ in range(d.count(b'\\n')): c.sendall(answer)

def serve_tcp(s, greeting, answer):
    held = []
    while True:
        c, _ = s.accept(); held.append(c); c.sendall(greeting)
        if answer: threading.Thread(target=answer_lines, args=(c, answer), daemon=True).start()

def serve_udp(u):
    while True:
        d, a = u.recvfrom(512); u.sendto(d, a)

if mode == 'servers':
    port = int(args[0])
    tcp = dual_stack(socket.SOCK_STREAM, port); tcp.listen(16)
    ftp = dual_stack(socket.SOCK_STREAM, 21); ftp.listen(16)
    udp = dual_stack(socket.SOCK_DGRAM, port)
    threading.Thread(target=serve_tcp, args=(tcp, b'hello', None), daemon=True).start()
    threading.Thread(target=serve_tcp, args=(ftp, b'220 ready\\r\\n', b'200 ok\\r\\n'), daemon=True).start()
    threading.Thread(target=serve_udp, args=(udp,), daemon=True).start()
    print('ready', flush=True)
    threading.Event().wait()
elif mode == 'tcp-client':
    c = socket.create_connection((args[0], int(args[1]))); c.recv(5); print('connected', flush=True); time.sleep(3600)
elif mode == 'udp-client':
    u = socket.socket(fam, socket.SOCK_DGRAM); u.settimeout(2); u.sendto(b'ping', (args[0], int(args[1]))); u.recvfrom(100); print('answered', flush=True)
elif mode == 'ftp-client':
    # The ftp helper never parses the first line of a direction (it learns from it where lines
    # start): USER first, then PORT, each answered before the next is sent.
    c = socket.create_connection((args[0], 21)); c.recv(512)
    c.sendall(b'USER anonymous\\r\\n'); c.recv(512)
    port = int(args[1]); me = c.getsockname()[0].replace('.', ',')
    c.sendall(('PORT %s,%d,%d\\r\\n' % (me, port >> 8, port & 255)).encode()); c.recv(512)
    print('announced', flush=True); time.sleep(3600)
elif mode == 'ping':
    proto, typ = (socket.IPPROTO_ICMPV6, 128) if fam == socket.AF_INET6 else (socket.IPPROTO_ICMP, 8)
    r = socket.socket(fam, socket.SOCK_RAW, proto); r.settimeout(2)
    body = struct.pack('!BBHHH', typ, 0, 0, 0x4242, 1) + b'ctsync'
    if fam == socket.AF_INET:
        s = sum(struct.unpack('!%dH' % (len(body) // 2), body)); s = (s >> 16) + (s & 0xffff); s += s >> 16
        body = body[:2] + struct.pack('!H', ~s & 0xffff) + body[4:]
    r.sendto(body, (args[0], 0)); r.recvfrom(200); print('pong', flush=True)
`;

/** Stateful forwarding; FTP control connections (tcp dport 21) get the kernel's ftp helper. */
const RULESET = `
table inet ctsync_fw {
  ct helper ftp-standard {
    type "ftp" protocol tcp
    l3proto inet
  }
  chain prerouting {
    type filter hook prerouting priority filter;
    tcp dport 21 ct helper set "ftp-standard"
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state invalid drop
    ct state established,related accept
    ct state new accept
  }
}
`;

export const CLIENT = { v4: '10.9.1.2', v6: '2001:db8:1::2' } as const;
export const SERVER = { v4: '10.9.2.2', v6: '2001:db8:2::2' } as const;
/** The port of the TCP and UDP servers. */
export const SERVICE_PORT = 8080;
/** The data port the FTP client announces: the expectation's destination port. */
export const FTP_DATA_PORT = 50000;

/** client (eth0) — (lan0) fw (wan0) — (eth0) server, each side its own /24 and /64. */
export class RoutedFirewall {
  readonly client = new Netns('opc');
  readonly fw: Netns;
  readonly server = new Netns('ops');
  private readonly script: string;

  /** `fw`: the firewall namespace (a sync node); one is made when absent. */
  constructor(dir: string, fw = new Netns('opf')) {
    this.fw = fw;
    this.script = path.join(dir, 'traffic.py');
    writeFileSync(this.script, TRAFFIC_PY);
    veth(this.client, 'eth0', fw, 'lan0');
    veth(fw, 'wan0', this.server, 'eth0');
    this.client.addr('eth0', `${CLIENT.v4}/24`);
    this.client.addr('eth0', `${CLIENT.v6}/64`);
    fw.addr('lan0', '10.9.1.1/24');
    fw.addr('lan0', '2001:db8:1::1/64');
    fw.addr('wan0', '10.9.2.1/24');
    fw.addr('wan0', '2001:db8:2::1/64');
    this.server.addr('eth0', `${SERVER.v4}/24`);
    this.server.addr('eth0', `${SERVER.v6}/64`);
    this.client.sh('ip route add default via 10.9.1.1 && ip -6 route add default via 2001:db8:1::1');
    this.server.sh('ip route add default via 10.9.2.1 && ip -6 route add default via 2001:db8:2::1');
    fw.sh('sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1');
    fw.run('nft', ['-f', '-'], RULESET);
  }

  /** Runs an endpoint of the traffic script; resolves once it printed `line` (bounded: 10 s). */
  endpoint(where: Netns, args: string[], line: string): Promise<ChildProcess> {
    const child = where.spawn('python3', ['-u', this.script, ...args]);
    return new Promise((resolve, reject) => {
      let out = '';
      const t = setTimeout(() => reject(new Error(`${args.join(' ')}: no "${line}" within 10 s`)), 10_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes(line)) {
          clearTimeout(t);
          resolve(child);
        }
      });
    });
  }

  /** A UDP exchange client → server (a new flow each time: a new source port). */
  udp(): Promise<ChildProcess> {
    return this.endpoint(this.client, ['udp-client', SERVER.v4, String(SERVICE_PORT)], 'answered');
  }

  /**
   * The traffic every test starts from: a TCP connection per family (held open), a UDP
   * exchange, a ping per family and an FTP control session that announced FTP_DATA_PORT.
   */
  async start(): Promise<void> {
    await this.endpoint(this.server, ['servers', String(SERVICE_PORT)], 'ready');
    await this.endpoint(this.client, ['tcp-client', SERVER.v4, String(SERVICE_PORT)], 'connected');
    await this.endpoint(this.client, ['tcp-client', SERVER.v6, String(SERVICE_PORT)], 'connected');
    await this.udp();
    await this.endpoint(this.client, ['ping', SERVER.v4], 'pong');
    await this.endpoint(this.client, ['ping', SERVER.v6], 'pong');
    await this.endpoint(this.client, ['ftp-client', SERVER.v4, String(FTP_DATA_PORT)], 'announced');
  }
}
