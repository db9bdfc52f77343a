/**
 * How the benchmark reads processes and daemons (bench/proc.ts, bench/counters.ts,
 * bench/machine.ts): /proc fields, bash `times`, `-s cache` / `-s runtime` blocks of both
 * daemons, the machine line.
 */
import { describe, expect, it } from 'vitest';
import { parseCacheStats, parseLost, parseOverruns } from '../../bench/counters.js';
import { describeMachine, parseCpuModel } from '../../bench/machine.js';
import { cpuSample, cpuSeconds, parseRss, parseSchedstat, parseStat, parseTimes, threadSplit } from '../../bench/proc.js';
import { hotspots } from '../../bench/profile.js';
import { formatCacheStats, formatRuntimeStats } from '../../src/engine/control/format.js';

describe('/proc readings', () => {
  it('reads utime+stime and the children’s ticks after a command name with spaces and parentheses', () => {
    const stat = '4242 (node (a) b) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 12 8 20 0 11 0 1000 0 0';
    expect(parseStat(stat)).toEqual({ ticks: 325, childTicks: 20 });
    expect(parseSchedstat('123456789 2000 17\n')).toBe(123456789);
    expect(parseRss('Name:\tnode\nVmRSS:\t   51200 kB\nThreads:\t11\n')).toBe(51200 * 1024);
    expect(() => parseRss('Name:\tx\n')).toThrow(/VmRSS/);
  });

  it('sums every thread, and falls back to ticks when a thread ended in between', () => {
    const before = { threadsNs: 1e9, tids: [1, 2, 3], ticks: 100, childTicks: 0 };
    expect(cpuSeconds(before, { threadsNs: 1.5e9, tids: [1, 2, 3, 4], ticks: 150, childTicks: 10 })).toBeCloseTo(0.6);
    expect(cpuSeconds(before, { threadsNs: 1.2e9, tids: [1, 3], ticks: 160, childTicks: 0 })).toBeCloseTo(0.6);
    expect(cpuSeconds(before, { threadsNs: 1.5e9, tids: [1, 2, 3], ticks: 150, childTicks: 10 }, false)).toBeCloseTo(0.5);
  });

  it('splits the CPU by thread name, the main thread apart, largest first', () => {
    const threads = (xs: Array<[number, string, number]>) => new Map(xs.map(([tid, comm, ns]) => [tid, { comm, ns }]));
    const before = { threadsNs: 0, tids: [], ticks: 0, childTicks: 0, threads: threads([[10, 'node', 1e9], [11, 'V8 DefaultWorke', 0], [12, 'V8 DefaultWorke', 0]]) };
    const after = { ...before, threads: threads([[10, 'node', 1.5e9], [11, 'V8 DefaultWorke', 2e8], [12, 'V8 DefaultWorke', 4e8], [13, 'node', 1e8]]) };
    const split = threadSplit(10, before, after);
    expect(split.map(([name]) => name)).toEqual(['V8 DefaultWorke', 'main', 'node']);
    expect(split.map(([, s]) => s)).toEqual([expect.closeTo(0.6), expect.closeTo(0.5), expect.closeTo(0.1)]);
  });

  it('samples a live process (this one) with all its threads', () => {
    const a = cpuSample(process.pid);
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
    const b = cpuSample(process.pid);
    expect(x).toBeGreaterThan(0);
    expect(a.tids).toContain(process.pid);
    expect(cpuSeconds(a, b)).toBeGreaterThan(0);
  });

  it("reads the children's CPU from bash's times", () => {
    expect(parseTimes('conntrack v1.4.7: 3 flow entries\n0m0.010s 0m0.020s\n0m1.250s 1m0.500s\n')).toBeCloseTo(61.75);
    expect(() => parseTimes('nothing')).toThrow(/times/);
  });
});

describe('daemon counters', () => {
  const stats = { active: 100000, total: 100000, createdOk: 100000, createdFailed: 0, noMemory: 0, noSpace: 0, updatedOk: 250, updatedFailed: 0, updateNotFound: 0, deletedOk: 7, deletedFailed: 0, deleteNotFound: 0 };

  it('parses -s cache as ctsyncd prints it', () => {
    const text = formatCacheStats('internal', { ...stats, active: 3, updatedOk: 0, deletedOk: 0 }) + formatCacheStats('external', stats);
    expect(parseCacheStats(text)).toEqual({ internal: { active: 3, updated: 0, deleted: 0 }, external: { active: 100000, updated: 250, deleted: 7 } });
  });

  it("parses conntrackd's statistics-mode cache and -s runtime", () => {
    const statsMode = 'cache:stats\tactive objects:\t\t          12\n\tactive/total entries:\t\t          12/          12\n\tcreation OK/failed:\t\t          12/           0\n\t\tno memory available:\t           0\n\t\tno space left in cache:\t           0\n\tupdate OK/failed:\t\t           0/           0\n\t\tentry not found:\t           0\n\tdeletion created/failed:\t           0/           0\n\t\tentry not found:\t           0\n\n';
    expect(parseCacheStats(statsMode)).toEqual({ stats: { active: 12, updated: 0, deleted: 0 } });
    const runtime = formatRuntimeStats({ startedAt: 0, eventsReceived: 5n, eventsFiltered: 0n, eventsUnknownType: 0, catchEventFailed: 0, dumpUnknownType: 0, netlinkOverrun: 2, flushKernelTable: 0, resyncWithKernel: 1, netlinkBufferSize: 2097152, childFailed: 0, childSegfault: 0, childTermsig: 0, selectFailed: 0, waitFailed: 0, localReadFailed: 0, localUnknownRequest: 0 }, 60);
    expect(parseOverruns(runtime)).toBe(2);
    expect(parseOverruns('')).toBe(0);
    expect(parseLost('sequence tracking statistics:\n\trecv:\n\t\tPackets lost:\t\t                 123\n')).toBe(123);
  });
});

describe('CPU profile hot spots', () => {
  it('ranks functions by self time as a share of the busy time, idle left out', () => {
    const frame = (functionName: string, url = '', lineNumber = -1) => ({ functionName, url, lineNumber });
    const profile = {
      startTime: 0,
      endTime: 1_000_000,
      nodes: [
        { id: 1, callFrame: frame('(root)'), hitCount: 0 },
        { id: 2, callFrame: frame('(idle)'), hitCount: 500 },
        { id: 3, callFrame: frame('encode', 'file:///work/x/dist/engine/wire/build.js', 119), hitCount: 300 },
        { id: 4, callFrame: frame('encode', 'file:///work/x/dist/engine/wire/build.js', 119), hitCount: 100 },
        { id: 5, callFrame: frame('(garbage collector)'), hitCount: 100 },
      ],
    };
    expect(hotspots(profile)).toEqual([
      { name: 'encode dist/engine/wire/build.js:120', selfMs: 400, share: 0.8 },
      { name: '(garbage collector)', selfMs: 100, share: 0.2 },
    ]);
    expect(hotspots({ ...profile, nodes: [] })).toEqual([]);
  });
});

describe('machine line', () => {
  it('names the CPU, and says whether the machine was busy', () => {
    expect(parseCpuModel('processor\t: 0\nmodel name\t: AMD EPYC 7B13\n')).toBe('AMD EPYC 7B13');
    expect(parseCpuModel('')).toBe('unknown CPU');
    const m = { cpu: 'X', cores: 2, kernel: '6.1', memGiB: 8, loadStart: 0.1 };
    expect(describeMachine(m)).toBe('X, 2 cores, Linux 6.1, 8 GiB; load average 0.10 (quiet)');
    expect(describeMachine({ ...m, loadEnd: 0.6 })).toBe('X, 2 cores, Linux 6.1, 8 GiB; load average 0.10 → 0.60 (taken under load: other work ran on the machine)');
  });
});
