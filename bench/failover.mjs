#!/usr/bin/env node
// `npm run bench:failover [-- options]` (root): the fail-over benchmark (bench/failover.ts),
// ctsyncd against conntrackd 1.4.7 in the same fail-over lab, same run. Not a test: it prints
// the timing table and writes bench/results/failover-<time>.json. Needs keepalived,
// dbus-daemon, conntrackd, tcpdump. Run from its TypeScript sources through ts-hooks.mjs; the
// daemons and hooks it starts are the built ones (bin/ → dist/).
//
//   npm run bench:failover [-- --flows N] [--connections M] [--repeats R]
//                          [--fault graceful|linkdown|both] [--engines ctsyncd,conntrackd]
import { register } from 'node:module';
import { parseArgs } from 'node:util';

const USAGE = 'usage: npm run bench:failover -- [--flows N] [--connections M] [--repeats R] [--fault graceful|linkdown|both] [--engines ctsyncd,conntrackd]';
let values;
try {
  ({ values } = parseArgs({
    options: {
      flows: { type: 'string', default: '100000' },
      connections: { type: 'string', default: '100' },
      repeats: { type: 'string', default: '3' },
      fault: { type: 'string', default: 'both' },
      engines: { type: 'string', default: 'ctsyncd,conntrackd' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (e) {
  console.error(`${e.message}\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const count = (name, min, max) => {
  const n = Number(values[name]);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be an integer from ${min} to ${max}\n${USAGE}`);
    process.exit(2);
  }
  return n;
};
const faults = values.fault === 'both' ? ['graceful', 'linkdown'] : [values.fault];
const engines = values.engines.split(',').filter(Boolean);
if (!faults.every((f) => f === 'graceful' || f === 'linkdown') || engines.length === 0 || !engines.every((e) => e === 'ctsyncd' || e === 'conntrackd')) {
  console.error(USAGE);
  process.exit(2);
}
const options = {
  flows: count('flows', 0, 1_000_000),
  connections: count('connections', 2, 1000),
  repeats: count('repeats', 1, 20),
  faults,
  engines,
};
if (process.getuid?.() !== 0) {
  console.error('bench:failover needs root (network namespaces)');
  process.exit(1);
}
register('./ts-hooks.mjs', import.meta.url);
process.setSourceMapsEnabled(true);
const { main } = await import('./failover.ts');
process.exit(await main(options));
