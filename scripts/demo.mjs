#!/usr/bin/env node
// `npm run demo`: the embedded sync demo (src/demo/, compiled to dist/ by `npm run build`).
import { runDemo } from '../dist/demo/run.js';

process.exitCode = await runDemo(process.argv.slice(2));
