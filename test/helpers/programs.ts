/** The package's programs as tests run them: `node bin/…` from the compiled tree (dist/). */
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

/** argv prefix of the `ctsync` command. */
export const CTSYNC = [process.execPath, join(ROOT, 'bin/ctsync.js')];

/** argv prefix of the `ctsyncd` command. */
export const CTSYNCD = [process.execPath, join(ROOT, 'bin/ctsyncd.js')];
