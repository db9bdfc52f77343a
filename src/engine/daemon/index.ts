/** The sync daemon core: kernel, caches, sync mode and transport tied together (spec §2, §3, §7). */
export { SyncEngine } from './engine.js';
export type { EngineStats, SyncEngineDeps } from './engine.js';
export type { CacheSide, ObjectKind, Target } from './targets.js';
export type { EngineLog } from './log.js';
export type { CommitResult } from './commit.js';
export type { CacheEntry } from './cache-dump.js';
export { DEFAULT_READINESS_TIMING, trackReadiness } from './readiness.js';
export type { ReadinessSink, ReadinessTiming, SyncState } from './readiness.js';
