/** Fixtures of the op-mode tests: a configured state dir, a conntrackd.conf, a test context. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigSession } from '../../src/configd/session.js';
import { processContext, type OpmodeContext } from '../../src/opmode/context.js';
import { fakeKernel, inputs } from '../configd/helpers.js';

export const CS = 'service conntrack-sync';

/** The smallest valid conntrack-sync config (VyOS verify needs the VRRP sync-group), as set lines. */
export const SYNC_CONFIG: readonly string[] = [
  `${CS} interface eth0`,
  `${CS} failover-mechanism vrrp sync-group SG1`,
  'high-availability vrrp group internal interface eth1',
  'high-availability vrrp group internal vrid 10',
  'high-availability vrrp group internal address 198.51.100.100/24',
  'high-availability vrrp sync-group SG1 member internal',
];

const made: string[] = [];
process.once('exit', () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory, removed when the test process exits. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `ctsync-opmode-${prefix}-`));
  made.push(dir);
  return dir;
}

/**
 * A state dir whose running config holds `setLines` (committed through configd's session,
 * against a fake kernel with eth0/eth1, rendering into the dir itself, starting no engine).
 */
export async function configuredStateDir(setLines: readonly string[]): Promise<string> {
  const dir = tempDir('state');
  const session = new ConfigSession({
    stateDir: dir,
    paths: { conntrackdConf: path.join(dir, 'rendered.conntrackd.conf'), keepalivedConf: path.join(dir, 'rendered.keepalived.conf') },
    renderInputs: () => inputs(fakeKernel({ eth0: ['10.200.0.1/24'], eth1: ['198.51.100.1/24'], sync0: ['10.200.0.1/24'] })),
    // The op-mode tests bring their own engine (a ControlServer, a conntrackd or ctsyncd pair).
    engine: () => ({ alive: async () => true, start: async () => true, stop: async () => undefined }),
  });
  for (const line of setLines) session.set(line.split(/\s+/));
  await session.commit();
  return dir;
}

export interface EngineConfOptions {
  dir: string;
  node: string;
  local: string;
  peer: string;
  device: string;
  expectationSync?: boolean;
  /** The UDP port of the sync link (default 3780). */
  port?: number;
}

/** A conntrackd.conf for one node of a FT-FW UDP pair (the lab's, with per-test paths). */
export function conntrackdConf(o: EngineConfOptions): string {
  const file = path.join(o.dir, `${o.node}.conf`);
  writeFileSync(
    file,
    `Sync {
\tMode FTFW {
\t\tDisableExternalCache Off
\t}
\tUDP {
\t\tIPv4_address ${o.local}
\t\tIPv4_Destination_Address ${o.peer}
\t\tPort ${o.port ?? 3780}
\t\tInterface ${o.device}
\t\tChecksum on
\t}
\tOptions {
\t\tTCPWindowTracking Off
${o.expectationSync ? '\t\tExpectationSync On\n' : ''}\t}
}
General {
\tSystemd off
\tHashSize 8192
\tHashLimit 65536
\tLogFile ${path.join(o.dir, `${o.node}.log`)}
\tSyslog off
\tLockFile ${path.join(o.dir, `${o.node}.lock`)}
\tUNIX {
\t\tPath ${path.join(o.dir, `${o.node}.ctl`)}
\t}
\tNetlinkBufferSize 2097152
\tNetlinkBufferSizeMaxGrowth 8388608
\tFilter From Kernelspace {
\t\tAddress Ignore {
\t\t\tIPv4_address 127.0.0.1
\t\t\tIPv4_address ${o.local}
\t\t\tIPv4_address ${o.peer}
\t\t}
\t}
}
`,
  );
  return file;
}

/** A context like the CLI's, with output captured in `lines`. */
export function testContext(stateDir: string, env: NodeJS.ProcessEnv, overrides: Partial<OpmodeContext> = {}): OpmodeContext & { lines: string[] } {
  const lines: string[] = [];
  const push = (t: string): void => void lines.push(t);
  return { ...processContext(stateDir, env, push, push), ...overrides, lines };
}

/**
 * The cells of a tabulate `simple` table (header, dashes, rows) as printed by op-mode: column
 * i starts where the i-th run of dashes starts, so blank cells stay in place. [] for no rows.
 */
export function tableCells(text: string): { header: string[]; rows: string[][] } {
  const [head = '', dashes = '', ...lines] = text.replace(/^\n+/, '').trimEnd().split('\n');
  const starts = [...dashes.matchAll(/-+/g)].map((m) => m.index!);
  const cut = (line: string): string[] => starts.map((s, i) => line.slice(s, starts[i + 1]).trim());
  return { header: cut(head), rows: lines.map(cut) };
}

/**
 * The timeout of a test that runs the `ctsync` program many times: each run costs ~0.2 s of
 * CPU (mostly Node's own start), a second or more on a loaded machine.
 */
export const SLOW_MS = 60_000;
