#!/usr/bin/env node
// `npm ci` install step: checks the Debian -dev packages the ctnetlink addon needs, printing
// one line that names the package to install, then builds it with node-gyp (binding.gyp).
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const NEEDS = [
  ['/usr/include/libmnl/libmnl.h', 'libmnl headers', 'libmnl-dev'],
  ['/usr/include/linux/netfilter/nfnetlink_conntrack.h', 'Linux netfilter headers', 'linux-libc-dev'],
];
for (const [file, what, pkg] of NEEDS) {
  if (!existsSync(file)) {
    console.error(`native: missing ${what} (${file}) — install the Debian package ${pkg} (apt-get install ${pkg})`);
    process.exit(1);
  }
}
for (const [tool, pkg] of [['g++', 'g++'], ['make', 'make'], ['python3', 'python3']]) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`native: ${tool} not found — install the Debian package ${pkg} (apt-get install ${pkg})`);
    process.exit(1);
  }
}

// node-gyp ships with npm: npm tells lifecycle scripts where (npm_config_node_gyp).
function nodeGyp() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  const npmCli = process.env.npm_execpath ?? join(dirname(process.execPath), '../lib/node_modules/npm/bin/npm-cli.js');
  return createRequire(npmCli).resolve('node-gyp/bin/node-gyp.js');
}

const args = [nodeGyp(), 'rebuild', '--loglevel=warn'];
// Build against the headers of the running Node (npm's nodedir setting, else the install
// prefix when it ships include/node) rather than downloading them.
const prefix = join(dirname(process.execPath), '..');
const nodedir = process.env.npm_config_nodedir ?? (existsSync(join(prefix, 'include/node/node_api.h')) ? prefix : undefined);
if (nodedir) args.push(`--nodedir=${nodedir}`);
const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
if (r.status !== 0) {
  console.error('native: building the ctnetlink addon failed (see the compiler output above)');
  process.exit(1);
}
