import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isCtsyncError } from '../../src/common/errors.js';
import { runOnce, transitionPaths } from '../../src/vrrp-hooks/transition-lock.js';

const dir = await mkdtemp(join(tmpdir(), 'ctsync-lock-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runOnce', () => {
  it('two reporters of the same transition at once: it runs once', async () => {
    let runs = 0;
    const fn = async () => {
      runs++;
      await sleep(50);
      return runs;
    };
    const [a, b] = await Promise.all([runOnce('G1', 'MASTER', fn, { dir }), runOnce('G1', 'MASTER', fn, { dir })]);
    expect(runs).toBe(1);
    expect([a.ran, b.ran].sort()).toEqual([false, true]);
  });

  it('a different state runs; the same state after the window runs again', async () => {
    let t = 1_000_000;
    const opts = { dir, windowMs: 10_000, now: () => t };
    const ran = async (s: 'MASTER' | 'BACKUP') => (await runOnce('G2', s, async () => 1, opts)).ran;
    expect(await ran('BACKUP')).toBe(true);
    t += 100;
    expect(await ran('BACKUP')).toBe(false);
    expect(await ran('MASTER')).toBe(true);
    expect(await ran('BACKUP')).toBe(true);
    t += 10_001;
    expect(await ran('BACKUP')).toBe(true);
  });

  it('a report older than the last transition handled is stale, whatever its state', async () => {
    const opts = { dir, now: () => 2_000_000 };
    // the watcher handles MASTER; the notify hook keepalived forked for the BACKUP before it comes late
    expect((await runOnce('G6', 'MASTER', async () => 1, { ...opts, reportedAt: 1_000_500 })).ran).toBe(true);
    const late = await runOnce('G6', 'BACKUP', async () => 1, { ...opts, reportedAt: 1_000_000 });
    expect(late).toMatchObject({ ran: false, stale: true, last: { state: 'MASTER', at: 1_000_500 } });
    // the MASTER's own notify, forked a few ms after the D-Bus signal: a duplicate
    expect(await runOnce('G6', 'MASTER', async () => 1, { ...opts, reportedAt: 1_000_510 })).toMatchObject({ ran: false, stale: false });
    // a later BACKUP is a new transition
    expect((await runOnce('G6', 'BACKUP', async () => 1, { ...opts, reportedAt: 1_003_000 })).ran).toBe(true);
  });

  it('resuming: the last state stands however old it is; another state runs', async () => {
    let t = 3_000_000;
    const opts = { dir, now: () => t };
    expect((await runOnce('G7', 'MASTER', async () => 1, opts)).ran).toBe(true);
    t += 3_600_000;
    expect((await runOnce('G7', 'MASTER', async () => 1, { ...opts, resuming: true })).ran).toBe(false);
    expect((await runOnce('G7', 'BACKUP', async () => 1, { ...opts, resuming: true })).ran).toBe(true);
  });

  it('transitions serialise: the second waits for the first to finish', async () => {
    const order: string[] = [];
    const slow = (tag: string) => async () => {
      order.push(`${tag}>`);
      await sleep(40);
      order.push(`<${tag}`);
    };
    await Promise.all([runOnce('G3', 'MASTER', slow('m'), { dir }), sleep(5).then(() => runOnce('G3', 'BACKUP', slow('b'), { dir }))]);
    expect(order).toEqual(['m>', '<m', 'b>', '<b']);
  });

  it('takes over the lock of a dead owner, and gives up on a live one after waitMs', async () => {
    const { lock } = transitionPaths('G4', dir);
    const dead = spawnSync('true').pid; // exited: its pid is free
    await writeFile(lock, `${dead}\n`);
    expect((await runOnce('G4', 'FAULT', async () => 1, { dir })).ran).toBe(true);
    await writeFile(lock, `${process.ppid}\n`); // alive
    const err = await runOnce('G4', 'MASTER', async () => 1, { dir, waitMs: 100 }).catch((e: unknown) => e);
    expect(isCtsyncError(err, 'HOOK_BUSY')).toBe(true);
    expect(await readFile(lock, 'utf8')).toBe(`${process.ppid}\n`);
    await rm(lock);
  });

  it('a transition that throws releases the lock and does not count as done', async () => {
    await expect(runOnce('G5', 'MASTER', async () => Promise.reject(new Error('x')), { dir })).rejects.toThrow('x');
    expect((await runOnce('G5', 'MASTER', async () => 1, { dir, waitMs: 50 })).ran).toBe(true);
    await expect(runOnce('G5', 'BACKUP', async () => Promise.reject(new Error('y')), { dir })).rejects.toThrow('y');
    expect((await runOnce('G5', 'MASTER', async () => 1, { dir })).ran).toBe(false); // MASTER is still the last one done
  });
});
