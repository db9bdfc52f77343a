/**
 * A syslog socket of our own, so tests see a program's log lines as a syslog daemon gets them
 * (`<PRI>… conntrack-tools: …`), each with the time it arrived. Node has no AF_UNIX datagram
 * sockets: a python3 child binds it and prints one line per datagram, prefixed with its arrival
 * time (skipReason(['python3']) when it is missing).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './netns.js';

export interface SyslogLine {
  /** Arrival, ms since the epoch. */
  at: number;
  text: string;
}

const RECEIVER = [
  'import socket, sys, time',
  's = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)',
  's.bind(sys.argv[1])',
  'print("ready", flush=True)',
  'while True:',
  '    d = s.recv(65536)',
  '    print("%.6f %s" % (time.time(), d.decode(errors="replace").replace("\\n", " ")), flush=True)',
].join('\n');

export class SyslogSink {
  /** Every line so far; tests may empty it. */
  readonly lines: SyslogLine[] = [];

  private constructor(
    readonly path: string,
    private readonly child: ChildProcess,
  ) {}

  /** Bind `path` and resolve once datagrams are being received. */
  static async open(path: string): Promise<SyslogSink> {
    const child = spawn('python3', ['-u', '-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const sink = new SyslogSink(path, child);
    let ready = false;
    let partial = '';
    child.stdout!.on('data', (c: Buffer) => {
      const lines = (partial + c.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') ready = true;
        else if (line) sink.lines.push({ at: Number(line.slice(0, line.indexOf(' '))) * 1000, text: line.slice(line.indexOf(' ') + 1) });
      }
    });
    if (!(await waitFor(() => ready, 5000))) throw new Error(`syslog sink on ${path} did not start`);
    return sink;
  }

  texts(): string[] {
    return this.lines.map((l) => l.text);
  }

  close(): void {
    this.child.kill();
  }
}
