#!/usr/bin/env node
// `npm run bench [-- options]` (root): bench/cli.ts run from its TypeScript sources on Node 20
// through ts-hooks.mjs; the daemons it starts are the built ones (bin/ → dist/).
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
process.setSourceMapsEnabled(true);
const { main } = await import('./cli.ts');
process.exit(await main(process.argv.slice(2)));
