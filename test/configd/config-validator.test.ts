/**
 * The committed config validator (src/configd/config-validator.ts, ajv standalone code) is
 * what scripts/gen-config-validator.mjs makes of the current schema, and needs nothing at run
 * time but the formats of src/configd/formats.ts.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_FORMATS } from '../../src/configd/formats.js';
import { ROOT } from '../helpers/programs.js';

const committed = readFileSync(path.join(ROOT, 'src', 'configd', 'config-validator.ts'), 'utf8');

describe('src/configd/config-validator.ts', () => {
  it('is up to date with schema/config.schema.json (else: npm run gen:validator)', () => {
    const fresh = execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'gen-config-validator.mjs'), '--stdout'], { encoding: 'utf8' });
    // Compared as a boolean: a stale file would print two 60 KB texts.
    expect(committed === fresh, 'stale: run npm run gen:validator').toBe(true);
  });

  it('imports only the formats module, and calls only formats it defines', () => {
    expect([...committed.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1])).toEqual(['./formats.js']);
    expect(committed).not.toMatch(/\brequire\(/);
    const code = committed.replace(/^import .*$/gm, '');
    const called = new Set([...code.matchAll(/\bformats(?:\.([\w]+)|\["([^"]+)"\])/g)].map((m) => m[1] ?? m[2]));
    expect([...called].sort()).toEqual(Object.keys(CONFIG_FORMATS).sort());
  });
});
