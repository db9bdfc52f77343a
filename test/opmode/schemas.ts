/** The op-mode JSON Schemas (schema/opmode/), compiled once with ajv, for the --json tests. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';

export const SCHEMA_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schema', 'opmode');

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
for (const file of readdirSync(SCHEMA_DIR)) ajv.addSchema(JSON.parse(readFileSync(path.join(SCHEMA_DIR, file), 'utf8')));

export type SchemaName =
  | 'conntrack-table' | 'conntrack-statistics' | 'monitor-event' | 'reset-conntrack'
  | 'sync-status' | 'sync-statistics' | 'sync-cache' | 'sync-expect-cache' | 'sync-action';

/** The ajv errors of `data` against schema/opmode/<name>.schema.json ([] when valid). */
export function schemaErrors(name: SchemaName, data: unknown): string[] {
  const validate = ajv.getSchema(`https://ctsync.invalid/schema/opmode/${name}.schema.json`);
  if (!validate) throw new Error(`no schema ${name}`);
  return validate(data) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
}
