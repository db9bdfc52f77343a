#!/usr/bin/env node
// The `ctsync` command: a shim over the compiled dispatcher (`npm run build` → dist/).
import { quietOnClosedPipe } from '../dist/common/stdio.js';
import { main } from '../dist/cli/ctsync.js';

quietOnClosedPipe();
process.exitCode = await main(process.argv.slice(2));
