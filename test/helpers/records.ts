/**
 * Model objects and the engine's record slots (src/engine/kernel/record.ts) in tests: the
 * engine takes entries as slots (`rec, o`) and kernel events as slot batches; tests write and
 * read them as model objects.
 */
import type { Conntrack, CtEvent, ExpEvent, Expectation } from '../../src/engine/model/conntrack.js';
import type { RecordBatch } from '../../src/engine/kernel/kernel-table.js';
import { records } from '../../src/engine/kernel/record.js';
import type { Cache } from '../../src/engine/cache/cache.js';
import { parseConntrack, parseExpectation } from '../../src/engine/wire/parse.js';

/** The entry packed into a slot of its own, as `rec, o` arguments: `cache.find(...slot(ct))`. */
export function slot(x: Conntrack | Expectation): [Buffer, number] {
  const R = records();
  const buf = R.alloc(1);
  if ('orig' in x) R.packCt(x, buf, 0);
  else R.packExp(x, buf, 0);
  return [buf, 0];
}

/** A subscriber's `onRecords` that hands each batch on as model events (non-empty lists only). */
export function onEvents(onCt: (events: CtEvent[]) => void, onExp?: (events: ExpEvent[]) => void): (batch: RecordBatch) => void {
  return ({ buf, count }) => {
    const { cts, exps } = records().events(buf, count);
    if (cts.length) onCt(cts);
    if (exps.length) onExp?.(exps);
  };
}

/** `parseConntrack` as a model object (undefined where it refuses the message). */
export function parseCt(buf: Buffer, start: number, end: number): Conntrack | undefined {
  const s = records().alloc(1);
  return parseConntrack(buf, start, end, s, 0) ? records().unpackCt(s, 0) : undefined;
}

/** `parseExpectation` as a model object (undefined where it refuses the message). */
export function parseExp(buf: Buffer, start: number, end: number): Expectation | undefined {
  const s = records().alloc(1);
  return parseExpectation(buf, start, end, s, 0) ? records().unpackExp(s, 0) : undefined;
}


/** The conntrack entries of a batch of slots (what a table was asked to create). */
export function entriesOf({ buf, count }: RecordBatch): Conntrack[] {
  const R = records();
  return Array.from({ length: count }, (_, i) => R.decodeCt(buf, i * R.slot));
}

/** What a cache holds, decoded, DEAD entries left out (as `-i`/`-e` show it). */
export function cached<T extends Conntrack | Expectation>(cache: Cache<T>): T[] {
  return [...cache.values()].filter((e) => !cache.isDead(e)).map((e) => cache.decode(e));
}
