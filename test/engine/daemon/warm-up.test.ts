/**
 * The start-up warm-up: the per-event paths run on scratch state, in every mode and framing,
 * with the flows really going through (synced, committed, deleted) and nothing left behind.
 */
import { describe, expect, it } from 'vitest';
import { WARM_UP_FLOWS, warmUp } from '../../../src/engine/daemon/warm-up.js';
import { syncConfig } from '../sync/harness.js';

describe('warm-up', () => {
  for (const mode of ['FTFW', 'NOTRACK', 'ALARM'] as const) {
    for (const stream of [false, true]) {
      it(`${mode} over ${stream ? 'a stream' : 'datagrams'}: every flow synced, committed, then deleted`, async () => {
        const run = await warmUp(syncConfig(mode), undefined, { payloadLimit: stream ? 1460 : 1472, stream });
        expect(run).toEqual({ synced: WARM_UP_FLOWS, committed: WARM_UP_FLOWS, left: 0 });
      });
    }
  }

  it('a small resend queue and a wide ACK window still carry every flow', async () => {
    const sync = syncConfig('FTFW', { ftfw: { resendQueueSize: 64, ackWindowSize: 5000 } });
    expect(await warmUp(sync, undefined, { payloadLimit: 1472, stream: false })).toEqual({ synced: WARM_UP_FLOWS, committed: WARM_UP_FLOWS, left: 0 });
  });
});
