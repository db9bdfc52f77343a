#!/usr/bin/env node
// The `ctsyncd` command (conntrackd-compatible): a shim over the compiled CLI (`npm run build` → dist/).
import { quietOnClosedPipe } from '../dist/common/stdio.js';
import { main } from '../dist/engine/cli.js';

quietOnClosedPipe();
process.exitCode = await main([process.argv[1], ...process.argv.slice(2)]);
