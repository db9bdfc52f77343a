/**
 * vitest globalSetup: compile src/ into dist/ once, before any test file runs. Integration
 * tests run the real programs (bin/ctsync.js, bin/ctsyncd.js) as child processes, so they need
 * the compiled tree; building it here keeps test files from compiling it concurrently.
 */
import { execFileSync } from 'node:child_process';
import { ROOT } from './programs.js';

export default function setup(): void {
  execFileSync(process.execPath, [`${ROOT}/node_modules/typescript/bin/tsc`, '-p', `${ROOT}/tsconfig.json`], { stdio: 'inherit' });
}
