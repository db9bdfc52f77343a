/**
 * The sync mode for a `Sync {}` configuration (one file per mode behind SyncMode, §2).
 */
import type { SyncConfig } from '../config/types.js';
import { AlarmSync } from './alarm.js';
import type { RandomSource } from './alarm.js';
import { FtfwSync } from './ftfw.js';
import type { SyncContext, SyncMode } from './mode.js';
import { NotrackSync } from './notrack.js';

export function createSyncMode(sync: SyncConfig, ctx: SyncContext, random?: RandomSource): SyncMode {
  switch (sync.mode) {
    case 'FTFW':
      return new FtfwSync(ctx, sync.ftfw);
    case 'NOTRACK':
      return new NotrackSync(ctx);
    case 'ALARM':
      return new AlarmSync(ctx, sync.alarm, random);
  }
}

export { AlarmSync, FtfwSync, NotrackSync };
export { ControlNode, networkType } from './mode.js';
export type { SyncContext, SyncMode };
export { refreshDelayMs } from './alarm.js';
export type { RandomSource } from './alarm.js';
export { seconds, systemScheduler } from './scheduler.js';
export type { Scheduler, TimerHandle } from './scheduler.js';
