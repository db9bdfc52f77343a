/**
 * vitest globalSetup: compile src/ into dist/ once, before any test file runs. Integration
 * tests run the real programs (bin/ctsync.js, bin/ctsyncd.js) as child processes, so they need
 * the compiled tree; building it here keeps test files from compiling it concurrently.
 *
 * tsc rewrites every output in place, so a build running beside daemons and clients that are
 * loading dist/ (another test run in the same tree) could hand them a half-written module.
 * The tree is compiled into a fresh sibling of dist/ instead, and each output that changed
 * is moved into dist/ with one rename: a process sees the old file or the new one, whole,
 * and an unchanged tree is not touched at all.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { ROOT } from './programs.js';

function* files(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else yield p;
  }
}

function sameContent(a: string, b: string): boolean {
  try {
    return readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
}

export default function setup(): void {
  // a direct child of the repository, like dist/, so source maps point at the same sources
  const out = mkdtempSync(join(ROOT, '.dist-build-'));
  try {
    execFileSync(process.execPath, [`${ROOT}/node_modules/typescript/bin/tsc`, '-p', `${ROOT}/tsconfig.json`, '--outDir', out], { stdio: 'inherit' });
    for (const built of files(out)) {
      const target = join(ROOT, 'dist', relative(out, built));
      if (sameContent(built, target)) continue;
      mkdirSync(dirname(target), { recursive: true });
      renameSync(built, target);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
