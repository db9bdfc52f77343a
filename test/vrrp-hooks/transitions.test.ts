import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isCtsyncError } from '../../src/common/errors.js';
import { REQUEST, type RequestCode } from '../../src/engine/control/requests.js';
import { FailoverGuard } from '../../src/vrrp-hooks/guard.js';
import { runTransition, type EngineControl, type TransitionDeps } from '../../src/vrrp-hooks/transitions.js';

const dir = await mkdtemp(join(tmpdir(), 'ctsync-tr-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A fake engine that records requests (and guard moves) in one timeline. */
function fake(opts: { down?: boolean; failing?: RequestCode[]; nftMs?: number } = {}) {
  const timeline: string[] = [];
  const lines: string[] = [];
  let down = opts.down ?? false;
  const engine: EngineControl = {
    request: async (code) => {
      if (down) throw new Error('ECONNREFUSED');
      timeline.push(String(code));
      if (opts.failing?.includes(code)) throw new Error('boom');
      return '';
    },
  };
  const guard = new FailoverGuard({
    runNft: async (s) => {
      const move = s.includes('chain prerouting') ? 'guard-up' : 'guard-down';
      timeline.push(move);
      await new Promise((r) => setTimeout(r, opts.nftMs ?? 0));
      timeline.push(`${move} done`);
    },
  });
  const deps: TransitionDeps = {
    engine,
    guard,
    log: (l) => lines.push(l),
    stateFile: join(dir, `state-${Math.random()}`),
    host: 'fw2',
    startEngine: async () => {
      down = false;
      timeline.push('start');
      return true;
    },
  };
  return { timeline, lines, deps, setDown: (d: boolean) => (down = d) };
}

const S = String(REQUEST.STATS);

describe('runTransition', () => {
  it('MASTER: guard, commit, lift, flush, resync, bulk — in that order', async () => {
    const f = fake();
    const r = await runTransition('MASTER', 'G1', f.deps);
    expect(f.timeline).toEqual([S, 'guard-up', '46', 'guard-up done', 'guard-down', 'guard-down done', '45', '44', '22']);
    expect(r.steps.map((s) => s.step)).toEqual(['guard-up', '-c', 'guard-down', '-f', '-R', '-B']);
    expect(r.steps.every((s) => s.ok)).toBe(true);
    expect(f.lines[1]).toBe('fw2 transitioning to MASTER state for VRRP sync-group [G1]');
    expect(await readFile(f.deps.stateFile, 'utf8')).toMatch(/^MASTER at \w{3} \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [AP]M \S+\n$/);
    expect(r.stateLine).toBe((await readFile(f.deps.stateFile, 'utf8')).trim());
  });

  it('MASTER: the commit does not wait for the guard (an nft process); the lift waits for both', async () => {
    const f = fake({ nftMs: 60 });
    const r = await runTransition('MASTER', 'G1', f.deps);
    expect(f.timeline).toEqual([S, 'guard-up', '46', 'guard-up done', 'guard-down', 'guard-down done', '45', '44', '22']);
    expect(r.steps.find((s) => s.step === '-c')!.ms).toBeLessThan(40);
  });

  it('BACKUP: purge timers then request a resync; FAULT: purge only', async () => {
    const b = fake();
    await runTransition('BACKUP', 'G1', b.deps);
    expect(b.timeline).toEqual([S, '26', '23']);
    const f = fake();
    await runTransition('FAULT', 'G1', f.deps);
    expect(f.timeline).toEqual([S, '26']);
  });

  it('a failed step is logged the VyOS way and the sequence carries on (guard still lifted)', async () => {
    const f = fake({ failing: [REQUEST.ALL_COMMIT, REQUEST.SEND_BULK] });
    const r = await runTransition('MASTER', 'G1', f.deps);
    expect(f.timeline.filter((e) => !e.endsWith(' done'))).toEqual([S, 'guard-up', '46', 'guard-down', '45', '44', '22']);
    expect(f.lines).toContain('ERROR: failed to invoke conntrackd -c');
    expect(f.lines).toContain('ERROR: failed to invoke conntrackd -B');
    expect(r.steps.filter((s) => !s.ok).map((s) => s.step)).toEqual(['-c', '-B']);
    // the last line times every step
    expect(f.lines.at(-1)).toMatch(
      /^MASTER transition for VRRP sync-group \[G1\] done in \d+ ms \(guard-up \d+, -c \d+ failed, guard-down \d+, -f \d+, -R \d+, -B \d+ failed ms\)$/,
    );
  });

  it('MASTER and FAULT refuse when the engine is down, without touching the state file', async () => {
    for (const state of ['MASTER', 'FAULT'] as const) {
      const f = fake({ down: true });
      const err = await runTransition(state, 'G1', f.deps).catch((e: unknown) => e);
      expect(isCtsyncError(err, 'HOOK_ENGINE_DOWN')).toBe(true);
      expect((err as Error).message).toBe('conntrackd service not running');
      expect(f.timeline).toEqual([]);
      await expect(readFile(f.deps.stateFile)).rejects.toThrow(/ENOENT/);
    }
  });

  it('BACKUP starts a dead engine, then runs its steps', async () => {
    const f = fake({ down: true });
    await runTransition('BACKUP', 'G1', f.deps);
    expect(f.timeline).toEqual(['start', '26', '23']);
  });

  it('BACKUP refuses when the engine cannot be started', async () => {
    const f = fake({ down: true });
    f.deps.startEngine = async () => false;
    const err = await runTransition('BACKUP', 'G1', f.deps).catch((e: unknown) => e);
    expect(isCtsyncError(err, 'HOOK_ENGINE_DOWN')).toBe(true);
    expect(f.lines).toContain('ERROR: cannot launch conntrackd');
  });

  it('without a guard the MASTER sequence is the four requests', async () => {
    const f = fake();
    delete f.deps.guard;
    const r = await runTransition('MASTER', 'G1', f.deps);
    expect(r.steps.map((s) => s.step)).toEqual(['-c', '-f', '-R', '-B']);
  });
});
