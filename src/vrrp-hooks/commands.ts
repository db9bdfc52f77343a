/**
 * The `ctsync` words of this feature: `vrrp-hook` (keepalived's notify lines, vyos.md §5.1)
 * and `vrrp-watch` (the D-Bus follower). Loaded on use: a notify hook is a fresh process per
 * transition and must not pay for the D-Bus library.
 */
import { registerCommand } from '../cli/registry.js';

export function registerVrrpCommands(): void {
  registerCommand({
    words: ['vrrp-hook'],
    summary: 'Run a VRRP sync-group transition: master|backup|fault <sync-group>',
    run: async (args, ctx) => (await import('./hook.js')).vrrpHookMain(args, ctx.env, (l) => ctx.io.out(l)),
  });
  registerCommand({
    words: ['vrrp-watch'],
    summary: 'Follow keepalived on D-Bus and run the sync-group transitions: <sync-group>',
    run: async (args, ctx) => (await import('./watch.js')).vrrpWatchMain(args, ctx.env, (l) => ctx.io.out(l)),
  });
}
