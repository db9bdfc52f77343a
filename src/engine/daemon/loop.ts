/**
 * Long operator actions (commit, selective flush, resync) work in slices and give the event
 * loop back between them, as conntrackd's commit re-arms itself every `commit_steps` buckets
 * (shared/spec/conntrackd.md §3.3), so events and the network keep being served.
 */

/** Items per kernel batch call and per slice between two yields. */
export const SLICE = 8192;

/** Resolves after pending I/O callbacks have run (a real macrotask, whatever the Scheduler). */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
