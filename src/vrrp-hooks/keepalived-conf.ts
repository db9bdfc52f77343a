/**
 * The members of a `vrrp_sync_group` in keepalived.conf: the D-Bus watcher needs them to
 * derive the group's state, since keepalived's bus shows instances only (anchors.md §4).
 * Only the block structure is read: `vrrp_sync_group NAME { group { A B ... } ... }`.
 */
import { CtsyncError } from '../common/errors.js';

export const DEFAULT_KEEPALIVED_CONF = '/run/keepalived/keepalived.conf';

function tokens(text: string): string[] {
  return text
    .replace(/[#!][^\n]*/g, '')
    .replace(/([{}])/g, ' $1 ')
    .split(/\s+/)
    .filter(Boolean);
}

export function syncGroupMembers(confText: string, group: string): string[] {
  const t = tokens(confText);
  for (let i = 0; i < t.length; i++) {
    if (t[i] !== 'vrrp_sync_group' || t[i + 1] !== group || t[i + 2] !== '{') continue;
    let depth = 1;
    for (let j = i + 3; j < t.length && depth > 0; j++) {
      if (t[j] === '{') depth++;
      else if (t[j] === '}') depth--;
      else if (depth === 1 && t[j] === 'group' && t[j + 1] === '{') {
        const members: string[] = [];
        for (let k = j + 2; k < t.length && t[k] !== '}'; k++) members.push(t[k]);
        return members;
      }
    }
  }
  throw new CtsyncError('HOOK_USAGE', `keepalived.conf has no vrrp_sync_group ${group} with a group { } block`);
}
