/**
 * Sync-group state from member instance states. keepalived's D-Bus API exposes instances
 * only (shared/spec/anchors.md §4), so a watcher must aggregate them the way keepalived's
 * vrrp_sync.c does: one member in FAULT puts the group in FAULT (num_member_fault > 0);
 * the group is MASTER only once every member is MASTER; one member leaving MASTER drops the
 * group to BACKUP. Members still in INIT, stopping, or not yet seen leave the group without a
 * hookable state: no conntrack transition is due for them (VyOS has no stop hook, §5.1).
 */

/** keepalived's instance state numbers (keepalived/include/vrrp.h; lab REPORT §6). */
export const VRRP_INSTANCE_STATE = {
  INIT: 0,
  BACKUP: 1,
  MASTER: 2,
  FAULT: 3,
  DELETED: 97,
  STOP: 98,
} as const;

export type InstanceState = keyof typeof VRRP_INSTANCE_STATE;

/** The states a conntrack-sync transition exists for (vyos.md §5.2). */
export type HookState = 'MASTER' | 'BACKUP' | 'FAULT';

/** What the group is in: a hookable state, or not (yet) one. */
export type GroupState = HookState | 'INIT' | 'STOP';

const BY_NUMBER = new Map<number, InstanceState>(
  Object.entries(VRRP_INSTANCE_STATE).map(([name, n]) => [n, name as InstanceState]),
);

/** keepalived's number → state name; unknown numbers read as INIT (nothing to act on). */
export function instanceStateFromNumber(n: number): InstanceState {
  return BY_NUMBER.get(n) ?? 'INIT';
}

export function isHookState(s: GroupState): s is HookState {
  return s === 'MASTER' || s === 'BACKUP' || s === 'FAULT';
}

/**
 * Derive the group's state. `members` names every configured member; `states` holds what has
 * been learnt so far (a member missing from it counts as INIT).
 */
export function deriveGroupState(members: readonly string[], states: ReadonlyMap<string, InstanceState>): GroupState {
  if (members.length === 0) return 'INIT';
  let allMaster = true;
  let waiting: GroupState | undefined;
  for (const m of members) {
    const s = states.get(m) ?? 'INIT';
    if (s === 'FAULT') return 'FAULT';
    if (s === 'STOP' || s === 'DELETED') waiting = 'STOP';
    else if (s === 'INIT') waiting ??= 'INIT';
    if (s !== 'MASTER') allMaster = false;
  }
  if (waiting) return waiting;
  return allMaster ? 'MASTER' : 'BACKUP';
}
