/** `npm run bench` options (bench/cli.ts): defaults, --quick, overrides, bad input. */
import { describe, expect, it } from 'vitest';
import { parseOptions, SCENARIOS, setupText } from '../../bench/cli.js';

describe('bench command line', () => {
  it('runs every scenario at 10k/50k/100k flows, FT-FW over UDP, 3 repeats by default, and redraws the README', () => {
    const o = parseOptions([]);
    expect(o).toMatchObject({ flows: [10_000, 50_000, 100_000], mode: 'FTFW', transport: 'UDP', repeats: 3, ceilingRepeats: 3, quick: false, readme: true });
    expect(o.scenarios).toEqual([...SCENARIOS]);
    expect(setupText(o)).toBe('FT-FW over UDP, 3 repeats, 10k/50k/100k flows');
  });

  it('--quick: 10k flows, short ceiling steps searched once; explicit options still win', () => {
    const q = parseOptions(['--quick']);
    expect(q).toMatchObject({ flows: [10_000], quick: true, ceilingRepeats: 1, stepSeconds: 0.5 });
    expect(setupText(q)).toBe('FT-FW over UDP, 3 repeats, ceiling searched 1×, 10k flows, --quick');
    expect(parseOptions(['-q', '-n', '20k,5000,20000']).flows).toEqual([5000, 20_000]);
  });

  it('takes mode, transport, repeats, rates and a scenario selection; a partial run leaves the README alone', () => {
    const o = parseOptions(['-m', 'NOTRACK', '-t', 'TCP', '-r', '5', '--rates', '30000,10000', '-s', 'sync,dump']);
    expect(o).toMatchObject({ mode: 'NOTRACK', transport: 'TCP', repeats: 5, rates: [10_000, 30_000], scenarios: ['sync', 'dump'], readme: false });
    expect(parseOptions(['-s', 'sync', '--readme']).readme).toBe(true);
    expect(parseOptions(['--no-readme']).readme).toBe(false);
    // a profiled ctsyncd pays for its profiler: its figures stay out of the README
    expect(parseOptions(['--profile'])).toMatchObject({ profile: true, readme: false });
    expect(setupText(parseOptions(['--profile', '-n', '10k']))).toBe('FT-FW over UDP, 3 repeats, 10k flows, ctsyncd profiled');
    expect(setupText(parseOptions(['-r', '1', '-n', '1500']))).toBe('FT-FW over UDP, 1 repeat, 1,500 flows');
  });

  it('rejects unknown scenarios, modes and non-numbers', () => {
    const err = (argv: string[]) => {
      try {
        parseOptions(argv);
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    };
    // commander prints the sentence to stderr and throws (exitOverride): silence the print
    const write = process.stderr.write;
    process.stderr.write = (() => true) as typeof process.stderr.write;
    try {
      expect(err(['-s', 'sync,warp'])).toMatch(/unknown scenario warp; known: sync, rss/);
      expect(err(['-m', 'FAST'])).toMatch(/FAST/);
      expect(err(['-n', '10,x'])).toMatch(/positive integers/);
      expect(err(['-r', '0'])).toMatch(/positive integers/);
    } finally {
      process.stderr.write = write;
    }
  });
});
