import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateReadiness, ReadinessTracker, type ReadinessFacts } from '../../../src/engine/daemon/track-file.js';

const dir = await mkdtemp(join(tmpdir(), 'ctsync-track-'));
afterAll(() => rm(dir, { recursive: true, force: true }));
const policy = { demotion: 60, maxWaitMs: 30_000 };
const base: ReadinessFacts = { startedAt: 0, inSync: false, stale: false, master: false };

describe('evaluateReadiness', () => {
  it.each<[Partial<ReadinessFacts>, number, boolean, string]>([
    [{}, 1000, false, 'awaiting-resync'], // fresh node with an empty cache: demoted
    [{ inSync: true }, 1000, true, 'in-sync'],
    [{ inSync: true, stale: true }, 1000, false, 'cache-stale'],
    [{}, 30_000, true, 'gave-up-waiting'], // lone node: must be able to win
    [{ master: true }, 1000, true, 'master'],
  ])('%o at %i ms → ready=%s (%s)', (f, now, ready, reason) => {
    const r = evaluateReadiness({ ...base, ...f }, now, policy);
    expect([r.ready, r.reason, r.value]).toEqual([ready, reason, ready ? 0 : -60]);
  });
});

describe('ReadinessTracker', () => {
  it('writes the demotion at start, 0 once the resync completes, and demotes again when stale', async () => {
    let now = 0;
    const path = join(dir, 'ready');
    const t = new ReadinessTracker(path, policy, () => now);
    expect((await t.start()).value).toBe(-60);
    expect(await readFile(path, 'utf8')).toBe('-60\n');
    now = 500;
    await t.resyncComplete();
    expect(await readFile(path, 'utf8')).toBe('0\n');
    await t.cacheStale();
    expect(await readFile(path, 'utf8')).toBe('-60\n');
    await t.roleChanged(true);
    expect(await readFile(path, 'utf8')).toBe('0\n');
    t.stop();
  });
});
