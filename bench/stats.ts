/**
 * Statistics of repeated runs: the median with its range, counting runs that did not finish
 * (null) apart, so an unfinished run never passes for a fast one.
 */

/** One value per run; null when the run did not finish (timed out, short of its count). */
export type Runs = ReadonlyArray<number | null>;

export interface Summary {
  median: number;
  min: number;
  max: number;
  /** runs that finished */
  n: number;
  /** runs that did not finish */
  failed: number;
}

/** Median of a non-empty list (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError('median of no values');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Median, min and max of the finished runs; undefined when none finished. */
export function summarize(runs: Runs): Summary | undefined {
  const done = runs.filter((x): x is number => x !== null && Number.isFinite(x));
  if (done.length === 0) return undefined;
  return { median: median(done), min: Math.min(...done), max: Math.max(...done), n: done.length, failed: runs.length - done.length };
}
