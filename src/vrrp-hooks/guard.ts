/**
 * The fail-over guard (keepalived #2254, shared/spec/anchors.md §3): between "becoming
 * master" and the end of the commit, the kernel lacks the entries of the flows the old
 * master carried. A mid-stream TCP segment of such a flow is INVALID (nf_conntrack_tcp_loose=0)
 * or NEW without SYN (loose=1, where it would also get fresh NAT); a firewall that rejects
 * it, or a local stack without the socket, answers RST and the connection dies. The guard
 * drops exactly those packets, silently, so TCP retransmits and finds the committed entry.
 *
 * It is an nftables table hooked at priority -190: after conntrack (-200) has classified the
 * packet, before NAT (-100) and the filter (0). The drop rules only match protocols in the
 * `armed` set, whose element carries a kernel timeout: even if this process dies the guard
 * stops matching on its own; the in-process timer removes the table itself.
 */
import { spawn } from 'node:child_process';

export const GUARD_TABLE = 'ctsync_guard';

export interface GuardOptions {
  /** Upper bound of the guard's life, even when the commit hangs (default 10 s). */
  timeoutMs?: number;
  /** argv prefix that runs nft (e.g. ['ip', 'netns', 'exec', ns, 'nft']); default ['nft']. */
  nftCommand?: string[];
  /** Runs one nft script; injectable for tests. */
  runNft?: (script: string) => Promise<void>;
  /** Told when the guard lifted itself because the timeout passed. */
  onTimeout?: () => void;
}

export function guardRuleset(timeoutMs: number): string {
  const secs = Math.max(1, Math.ceil(timeoutMs / 1000));
  const rules = [
    'meta l4proto @armed ct state invalid counter drop',
    'meta l4proto @armed tcp flags & (fin|syn|rst|ack) != syn ct state new counter drop',
  ];
  const chain = (name: string, hook: string): string =>
    `  chain ${name} {\n    type filter hook ${hook} priority -190; policy accept;\n${rules.map((r) => `    ${r}\n`).join('')}  }\n`;
  return (
    // add+delete first: replaces a leftover table in the same transaction.
    `add table inet ${GUARD_TABLE}\ndelete table inet ${GUARD_TABLE}\n` +
    `table inet ${GUARD_TABLE} {\n` +
    `  set armed {\n    type inet_proto\n    flags timeout\n    elements = { tcp timeout ${secs}s }\n  }\n` +
    chain('prerouting', 'prerouting') +
    chain('output', 'output') +
    '}\n'
  );
}

const LIFT = `add table inet ${GUARD_TABLE}\ndelete table inet ${GUARD_TABLE}\n`;

function nftRunner(argv: string[]): (script: string) => Promise<void> {
  return (script) =>
    new Promise((resolve, reject) => {
      const child = spawn(argv[0], [...argv.slice(1), '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`nft exited ${code}: ${err.trim()}`))));
      child.stdin.end(script);
    });
}

export class FailoverGuard {
  readonly timeoutMs: number;
  private readonly runNft: (script: string) => Promise<void>;
  private readonly onTimeout: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: GuardOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.runNft = opts.runNft ?? nftRunner(opts.nftCommand ?? ['nft']);
    this.onTimeout = opts.onTimeout;
  }

  get raised(): boolean {
    return this.timer !== undefined;
  }

  async up(): Promise<void> {
    await this.runNft(guardRuleset(this.timeoutMs));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.onTimeout?.();
      this.down().catch(() => undefined);
    }, this.timeoutMs);
  }

  async down(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.runNft(LIFT);
  }
}
