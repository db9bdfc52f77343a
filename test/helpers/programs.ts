/** The package's programs as tests run them: `node bin/…` from the compiled tree (dist/). */
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');

/** argv prefix of the `ctsync` command. */
export const CTSYNC = [process.execPath, join(ROOT, 'bin/ctsync.js')];

/** argv prefix of the `ctsyncd` command. */
export const CTSYNCD = [process.execPath, join(ROOT, 'bin/ctsyncd.js')];

/** The sync engines tests run side by side: the reference conntrackd 1.4.7 and ctsyncd. */
export type Daemon = 'conntrackd' | 'ctsyncd';
export const CONNTRACKD = '/usr/sbin/conntrackd';
/** argv prefix of each engine (before `-C <conf> …`). */
export const DAEMON_ARGV: Readonly<Record<Daemon, string[]>> = { conntrackd: [CONNTRACKD], ctsyncd: CTSYNCD };
export const DAEMONS: readonly Daemon[] = ['conntrackd', 'ctsyncd'];
