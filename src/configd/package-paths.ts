/**
 * Where the package's data lives. Both src/configd (tests) and dist/configd (the CLI) sit two
 * levels below the package root, so one relative path serves both.
 */
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCHEMA_FILE = path.join(PACKAGE_ROOT, 'schema', 'config.schema.json');
export const TEMPLATES_DIR = path.join(PACKAGE_ROOT, 'templates');
/** The CLI that keepalived's notify lines call (`<bin> vrrp-hook <state> <group>`). */
export const CTSYNC_BIN = path.join(PACKAGE_ROOT, 'bin', 'ctsync.js');
