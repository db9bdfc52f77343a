import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCHEMA_DIR, schemaErrors, type SchemaName } from './schemas.js';

describe('schema/opmode', () => {
  it('every schema compiles under ajv strict mode (draft 2020-12)', () => {
    const names = readdirSync(SCHEMA_DIR).map((f) => f.replace('.schema.json', '')).filter((n) => n !== 'common');
    for (const name of names) expect(() => schemaErrors(name as SchemaName, null)).not.toThrow();
    expect(names.sort()).toEqual([
      'conntrack-statistics', 'conntrack-table', 'monitor-event', 'reset-conntrack',
      'sync-action', 'sync-cache', 'sync-expect-cache', 'sync-statistics', 'sync-status',
    ]);
  });
});
