/** The internal and external caches (shared/spec/conntrackd.md §3). */
export { Cache, newCacheStats } from './cache.js';
export { CacheObject } from './object.js';
export type { CacheData, ObjectStatus } from './object.js';
export { InternalCache } from './internal.js';
export type { InternalCacheOptions, Origin, SyncObject } from './internal.js';
export { ExternalCache } from './external.js';
export type { ExternalCacheOptions } from './external.js';
export { compileFilter, expectationAccepted } from './filter.js';
export type { ConntrackFilter } from './filter.js';
export { commitOrder, commitTimeout } from './commit.js';
export { conntrackKey, expectationKey, tupleKey } from './key.js';
export { dropCounters, mergeConntrack, mergeExpectation } from './merge.js';
