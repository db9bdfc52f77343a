/** The internal and external caches (shared/spec/conntrackd.md §3). */
export { Cache, newCacheStats } from './cache.js';
export type { CacheData, EntryView } from './cache.js';
export { NONE, RecordStore } from './store.js';
export type { EntryStatus } from './store.js';
export { InternalCache } from './internal.js';
export type { InternalCacheOptions, Origin } from './internal.js';
export { ExternalCache } from './external.js';
export type { ExternalCacheOptions } from './external.js';
export { compileFilter, expectationAccepted } from './filter.js';
export type { ConntrackFilter } from './filter.js';
export { commitOrder, commitTimeout } from './commit.js';
export { conntrackKey, expectationKey, tupleKey } from './key.js';
export { dropCounters, mergeConntrack, mergeExpectation } from './merge.js';
