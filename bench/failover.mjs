#!/usr/bin/env node
// Fail-over benchmark (issue 6): ctsyncd against conntrackd 1.4.7 in the same fail-over lab
// (test/helpers/failover-lab.ts), same run. Not a test: it prints the timing table and writes
// bench/results/failover-<time>.json. Needs root, keepalived, dbus-daemon, conntrackd.
//
//   npm run bench:failover [-- --flows N] [--connections M] [--repeats R]
//                          [--fault graceful|linkdown|both] [--engines ctsyncd,conntrackd]
//
// Each engine gets a fresh lab; then, R times per fault kind: fault fw1, time fw2's take-over
// (D-Bus MASTER, commit done, kernel full), check the connections, fail back, empty fw2's table.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
// The lab is TypeScript shared with the tests: vitest runs it (bench/failover.config.ts).
const root = fileURLToPath(new URL('..', import.meta.url));
const r = spawnSync(process.execPath, [`${root}/node_modules/vitest/vitest.mjs`, 'run', '--config', 'bench/failover.config.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CTSYNC_BENCH_FAILOVER: JSON.stringify(options) },
});
process.exit(r.status ?? 1);
