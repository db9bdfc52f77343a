#!/usr/bin/env node
// The `ctsync` command: a shim over the compiled dispatcher (`npm run build` → dist/).
import { main } from '../dist/cli/ctsync.js';

process.exitCode = await main(process.argv.slice(2));
