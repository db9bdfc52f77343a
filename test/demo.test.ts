/**
 * `npm run demo` (scripts/demo.mjs → src/demo/) in its unprivileged memory mode: two engines
 * on memory kernel tables over UDP on loopback; A's flows fill B's external cache, B's commit
 * puts them in its kernel table, both nodes' `-s` blocks are printed, and nothing is left.
 * As root, the netns mode as well: real ctsyncd daemons in two namespaces on the real kernel.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addonAvailable } from '../src/engine/kernel/addon.js';
import { skipNote, skipReason } from './helpers/netns.js';
import { ROOT } from './helpers/programs.js';

const DEMO = join(ROOT, 'scripts/demo.mjs');
const N = 1500;

function demo(args: string[]) {
  return spawnSync(process.execPath, [DEMO, ...args], { encoding: 'utf8', timeout: 60_000 });
}

/** ctsync-demo-* directories in the temporary directory (each run removes its own). */
function demoDirs(): Set<string> {
  return new Set(readdirSync(tmpdir()).filter((f) => f.startsWith('ctsync-demo-')));
}

/** The `-s` text printed under a node's heading. */
function statsOf(stdout: string, node: 'A' | 'B'): string {
  const start = stdout.indexOf(`--- node ${node}: ctsyncd -s\n`);
  expect(start).toBeGreaterThanOrEqual(0);
  const end = stdout.indexOf('\n--- node', start + 1);
  return stdout.slice(start, end < 0 ? undefined : end);
}

describe('the embedded demo, memory mode', () => {
  it(`syncs ${N} flows A → B, commits them on B and prints both nodes' statistics`, () => {
    const before = demoDirs();
    const r = demo(['--mode', 'memory', '--flows', String(N)]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out).toContain('== mode memory:');
    // the progress line ends on the full count, rewritten in place
    expect(out).toMatch(new RegExp(`\\rB external cache: 1,500 / 1,500 flows  [\\d,]+ flows/s +\\n`));
    expect(out).toContain(`[B] Committed ${N} new entries\n`);
    expect(out).toContain(`B's kernel table now holds ${N} flows\n`);

    const a = statsOf(out, 'A');
    expect(a).toMatch(new RegExp(`cache internal:\\ncurrent active connections:\\s+${N}\\n`));
    expect(a).toMatch(/UDP traffic \(active device=lo\):/);
    const b = statsOf(out, 'B');
    // B's commit events are cached as its own (internal) and its external cache holds A's flows
    expect(b).toMatch(new RegExp(`cache internal:\\ncurrent active connections:\\s+${N}\\n`));
    expect(b).toMatch(new RegExp(`cache external:\\ncurrent active connections:\\s+${N}\\nconnections created:\\s+${N}\\s+failed:\\s+0\\n`));
    expect(b).toMatch(/message tracking:\n\s+0 Malformed msgs/);
    expect(out).toMatch(new RegExp(`summary: 1,500 flows synced A → B in [\\d.]+ s \\([\\d,]+ flows/s\\); commit of 1,500 in [\\d.]+ s`));
    // the temporary directory is gone
    expect([...demoDirs()].filter((f) => !before.has(f))).toEqual([]);
  });

  it('rejects a bad option with the usage and exit status 2', () => {
    const r = demo(['--flows', 'many']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('--flows must be an integer from 1 to 1000000\nusage: npm run demo -- [--flows N] [--mode memory|netns]\n\n');
    expect(r.stdout).toBe('');
  });
});

const reason = skipReason(['conntrack']) || (addonAvailable() ? '' : 'the ctnetlink addon is not built');

describe.skipIf(reason !== '')(`the embedded demo, netns mode${skipNote(reason)}`, () => {
  it('runs two ctsyncd daemons in namespaces, commits on B, and removes namespaces and daemons', () => {
    const before = demoDirs();
    const r = demo(['--mode', 'netns', '--flows', '3000']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = r.stdout;
    const ns = /namespaces (ctdemoa\d+) and (ctdemob\d+)/.exec(out);
    expect(ns).not.toBeNull();
    expect(out).toMatch(/\rB external cache: 3,000 \/ 3,000 flows/);
    expect(out).toContain('[B log] [notice] Committed 3000 new entries\n');
    expect(out).toMatch(new RegExp(`\\$ ip netns exec ${ns![2]} conntrack -C\\n3000\\n`));
    expect(statsOf(out, 'A')).toMatch(/cache internal:\ncurrent active connections:\s+3000\n/);
    expect(statsOf(out, 'B')).toMatch(/cache external:\ncurrent active connections:\s+3000\n/);
    expect(statsOf(out, 'B')).toMatch(/UDP traffic \(active device=sync0\):/);
    const left = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    expect(left).not.toContain(ns![1]);
    expect(left).not.toContain(ns![2]);
    expect([...demoDirs()].filter((f) => !before.has(f))).toEqual([]);
  });
});
