/**
 * The config-mode verbs of `ctsync` (VyOS session verbs on a persistent config): set, delete,
 * show [--commands], compare, commit [--dry-run], discard, save, load, help.
 */
import { engineFor, renderPaths, watcherFor } from './apply.js';
import { registerCommand, type CliContext } from '../cli/registry.js';
import { CtsyncError } from '../common/errors.js';
import { helpText } from './help.js';
import { ConfigSession, NO_CHANGES } from './session.js';

function session(ctx: CliContext): ConfigSession {
  return new ConfigSession({
    stateDir: ctx.stateDir,
    paths: renderPaths(ctx.env),
    engine: engineFor(ctx.env),
    watcher: watcherFor(ctx.env),
    log: (line) => ctx.io.err(line),
  });
}

function needPath(verb: string, args: string[]): void {
  if (args.length === 0) throw new CtsyncError('CONFIG_INVALID_PATH', `${verb}: a configuration path is required`);
}

export function registerConfigCommands(): void {
  registerCommand({
    words: ['set'],
    summary: 'Set a configuration value (candidate)',
    run: (args, ctx) => {
      needPath('set', args);
      session(ctx).set(args);
      return 0;
    },
  });
  registerCommand({
    words: ['delete'],
    summary: 'Delete a configuration node or value (candidate)',
    run: (args, ctx) => {
      needPath('delete', args);
      session(ctx).delete(args);
      return 0;
    },
  });
  registerCommand({
    words: ['show'],
    summary: 'Show the candidate configuration [--commands] [path…]',
    run: (args, ctx) => {
      const commands = args[0] === '--commands';
      const text = session(ctx).show(commands ? args.slice(1) : args, commands);
      if (text !== '') ctx.io.out(text);
      return 0;
    },
  });
  registerCommand({
    words: ['compare'],
    summary: 'Compare the candidate with the running configuration',
    run: (_args, ctx) => {
      ctx.io.out(session(ctx).compare());
      return 0;
    },
  });
  registerCommand({
    words: ['commit'],
    summary: 'Verify, render and apply the candidate [--dry-run]',
    run: async (args, ctx) => {
      const dryRun = args.includes('--dry-run');
      const result = await session(ctx).commit(dryRun);
      if (dryRun) {
        if (result.files.conntrackd !== undefined) ctx.io.out(result.files.conntrackd);
      } else if (!result.changed) ctx.io.out(NO_CHANGES);
      return 0;
    },
  });
  registerCommand({
    words: ['discard'],
    summary: 'Discard uncommitted changes',
    run: (_args, ctx) => {
      session(ctx).discard();
      return 0;
    },
  });
  registerCommand({
    words: ['save'],
    summary: 'Save the running configuration [file]',
    run: (args, ctx) => {
      const target = session(ctx).save(args[0]);
      ctx.io.out(`Saving configuration to '${target}'...\nDone`);
      return 0;
    },
  });
  registerCommand({
    words: ['load'],
    summary: 'Load a configuration file into the candidate',
    run: (args, ctx) => {
      if (args[0] === undefined) throw new CtsyncError('CONFIG_LOAD_FAILED', 'load: a file name is required');
      session(ctx).load(args[0]);
      ctx.io.out(`Loading configuration from '${args[0]}'\nLoad complete. Use 'commit' to make changes effective.`);
      return 0;
    },
  });
  registerCommand({
    words: ['help'],
    summary: 'Show the children and help text of a configuration path',
    run: (args, ctx) => {
      ctx.io.out(helpText(args));
      return 0;
    },
  });
}
