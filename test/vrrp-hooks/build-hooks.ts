/**
 * Compiles src/vrrp-hooks (and what it imports) to plain JS for integration tests that must
 * run the hook the way keepalived does: as a program inside a node's namespace. The output
 * goes under node_modules/.cache so that `dbus-next` resolves; the caller removes it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

export interface BuiltHooks {
  /** argv prefix: [node, entry] taking `hook …` or `watch …`. */
  argv: string[];
  remove(): void;
}

export function buildHooks(): BuiltHooks {
  const out = join(ROOT, 'node_modules/.cache', `ctsync-vrrp-${process.pid}`);
  mkdirSync(out, { recursive: true });
  const tsconfig = join(out, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(ROOT, 'tsconfig.json'),
      compilerOptions: { rootDir: join(ROOT, 'src'), outDir: join(out, 'js'), sourceMap: false, noEmit: false },
      include: [],
      files: [join(ROOT, 'src/vrrp-hooks/hook.ts'), join(ROOT, 'src/vrrp-hooks/watch.ts')],
    }),
  );
  execFileSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', tsconfig], { stdio: 'pipe' });
  const entry = join(out, 'entry.mjs');
  writeFileSync(
    entry,
    [
      "const [cmd, ...args] = process.argv.slice(2);",
      "const { vrrpHookMain } = await import('./js/vrrp-hooks/hook.js');",
      "const { vrrpWatchMain } = await import('./js/vrrp-hooks/watch.js');",
      "process.exitCode = await (cmd === 'watch' ? vrrpWatchMain(args) : vrrpHookMain(args));",
      '',
    ].join('\n'),
  );
  return { argv: [process.execPath, entry], remove: () => rmSync(out, { recursive: true, force: true }) };
}
