import { afterEach, describe, expect, it, vi } from 'vitest';
import { FailoverGuard, guardRuleset } from '../../src/vrrp-hooks/guard.js';

afterEach(() => void vi.useRealTimers());

describe('FailoverGuard', () => {
  it('drops INVALID and NEW-without-SYN TCP before NAT and filter, armed with a kernel timeout', () => {
    const r = guardRuleset(2500);
    expect(r).toContain('type filter hook prerouting priority -190;');
    expect(r).toContain('type filter hook output priority -190;');
    expect(r).toContain('elements = { tcp timeout 3s }');
    expect(r).toContain('meta l4proto @armed ct state invalid counter drop');
    expect(r).toContain('meta l4proto @armed tcp flags & (fin|syn|rst|ack) != syn ct state new counter drop');
    expect(r).not.toMatch(/reject/);
  });

  it('lifts itself after the timeout even if nobody lifts it', async () => {
    vi.useFakeTimers();
    const scripts: string[] = [];
    let timedOut = 0;
    const g = new FailoverGuard({ timeoutMs: 5000, runNft: async (s) => void scripts.push(s), onTimeout: () => timedOut++ });
    await g.up();
    expect(g.raised).toBe(true);
    await vi.advanceTimersByTimeAsync(4999);
    expect(scripts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(timedOut).toBe(1);
    expect(g.raised).toBe(false);
    expect(scripts[1]).toBe('add table inet ctsync_guard\ndelete table inet ctsync_guard\n');
  });

  it('a lift before the timeout cancels it', async () => {
    vi.useFakeTimers();
    const scripts: string[] = [];
    const g = new FailoverGuard({ timeoutMs: 1000, runNft: async (s) => void scripts.push(s) });
    await g.up();
    await g.down();
    await vi.advanceTimersByTimeAsync(5000);
    expect(scripts).toHaveLength(2);
  });
});
