/**
 * What the demo prints: steps, a progress line rewritten in place (carriage return), the
 * timings summary and the nodes' `-s` blocks. Everything goes to one writable stream.
 */
export interface Out {
  write(text: string): unknown;
}

export function step(out: Out, text: string): void {
  out.write(`\n== ${text}\n`);
}

/** The count of B's external cache as it fills, with the rate since `start`. */
export class Progress {
  private readonly start = performance.now();
  private shown = false;

  constructor(
    private readonly out: Out,
    private readonly total: number,
  ) {}

  update(count: number): void {
    const secs = (performance.now() - this.start) / 1000;
    const rate = secs > 0 ? Math.round(count / secs) : 0;
    this.out.write(`\rB external cache: ${grouped(count)} / ${grouped(this.total)} flows  ${grouped(rate)} flows/s   `);
    this.shown = true;
  }

  /** Ends the line; returns the seconds since the progress started. */
  done(): number {
    if (this.shown) this.out.write('\n');
    return (performance.now() - this.start) / 1000;
  }
}

export interface Timings {
  flows: number;
  syncSeconds: number;
  commitSeconds: number;
  committed: number;
}

export function summary(out: Out, t: Timings): void {
  out.write(
    `\nsummary: ${grouped(t.flows)} flows synced A → B in ${t.syncSeconds.toFixed(2)} s (${grouped(Math.round(t.flows / t.syncSeconds))} flows/s); ` +
      `commit of ${grouped(t.committed)} in ${t.commitSeconds.toFixed(2)} s (${grouped(Math.round(t.committed / t.commitSeconds))} flows/s)\n`,
  );
}

/** One node's `ctsyncd -s` text under a heading. */
export function statsBlock(out: Out, node: string, text: string): void {
  out.write(`\n--- node ${node}: ctsyncd -s\n${text.trimEnd()}\n`);
}

export function grouped(n: number): string {
  return n.toLocaleString('en-US');
}

/** How long the demo lets the nodes settle after the commit before printing statistics. */
export const SETTLE_MS = 10_000;
/** Caches unchanged for this long: the nodes are done exchanging (FT-FW's ALIVEs go on). */
const QUIET_MS = 1000;

/** The cache blocks of a `-s` text (the traffic counters below them keep moving). */
function cacheBlocks(stats: string): string {
  const end = stats.indexOf('traffic processed:');
  return end < 0 ? stats : stats.slice(0, end);
}

/**
 * Waits, at most SETTLE_MS, until the cache blocks of `read()` (both nodes' `-s`) stay the
 * same for QUIET_MS; returns the last text read.
 */
export async function settledStats(read: () => Promise<string[]>): Promise<string[]> {
  const deadline = performance.now() + SETTLE_MS;
  let last = await read();
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, QUIET_MS));
    const now = await read();
    const same = now.every((t, i) => cacheBlocks(t) === cacheBlocks(last[i] ?? ''));
    last = now;
    if (same) break;
  }
  return last;
}

/** Polls `check` every `stepMs` until it returns true or `timeoutMs` passes (every wait is bounded). */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (performance.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
