import { describe, expect, it } from 'vitest';
import { deriveGroupState, instanceStateFromNumber, type InstanceState } from '../../src/vrrp-hooks/group-state.js';

const members = ['VI_LAN', 'VI_WAN'];
const states = (lan?: InstanceState, wan?: InstanceState): Map<string, InstanceState> => {
  const m = new Map<string, InstanceState>();
  if (lan) m.set('VI_LAN', lan);
  if (wan) m.set('VI_WAN', wan);
  return m;
};

describe('deriveGroupState (keepalived vrrp_sync.c semantics)', () => {
  it.each<[InstanceState | undefined, InstanceState | undefined, string]>([
    ['MASTER', 'MASTER', 'MASTER'],
    ['MASTER', 'BACKUP', 'BACKUP'], // half-way through a take-over, or one member left MASTER
    ['BACKUP', 'BACKUP', 'BACKUP'],
    ['FAULT', 'MASTER', 'FAULT'], // one faulty member faults the group
    ['BACKUP', 'FAULT', 'FAULT'],
    ['FAULT', 'STOP', 'FAULT'],
    ['MASTER', 'STOP', 'STOP'], // keepalived shutting down: no conntrack hook
    ['STOP', 'STOP', 'STOP'],
    ['DELETED', 'BACKUP', 'STOP'],
    ['INIT', 'BACKUP', 'INIT'],
    [undefined, 'MASTER', 'INIT'], // a member not seen yet
    [undefined, undefined, 'INIT'],
  ])('%s + %s → %s', (a, b, want) => {
    expect(deriveGroupState(members, states(a, b))).toBe(want);
  });

  it('ignores instances outside the group', () => {
    const m = states('MASTER', 'MASTER');
    m.set('VI_OTHER', 'FAULT');
    expect(deriveGroupState(members, m)).toBe('MASTER');
  });

  it('an empty group has no state', () => {
    expect(deriveGroupState([], new Map())).toBe('INIT');
  });

  it('maps keepalived numbers, unknown ones as INIT', () => {
    expect([0, 1, 2, 3, 97, 98, 42].map(instanceStateFromNumber)).toEqual(['INIT', 'BACKUP', 'MASTER', 'FAULT', 'DELETED', 'STOP', 'INIT']);
  });
});
