/**
 * The config tree's schema (schema/config.schema.json, draft 2020-12): its validator (generated
 * by scripts/gen-config-validator.mjs, VyOS's validators as formats and keywords), and the walk
 * from a CLI path to its schema node.
 *
 * VyOS prints a validator's own text for a bad value (shared/spec/vyos.md §1.2); the schema
 * carries it as `errorText` on the leaf, and schemaError() maps ajv's first error back to it.
 */
import { readFileSync } from 'node:fs';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { CtsyncError } from '../common/errors.js';
import { addressFamily } from './address-family.js';
import validate from './config-validator.js';
import { SCHEMA_FILE } from './package-paths.js';

export type NodeKind = 'node' | 'tagNode' | 'leaf' | 'multi' | 'valueless';

/** The subset of a schema object this module reads. */
export interface SchemaNode {
  node?: NodeKind;
  help?: string;
  valueHelp?: [string, string][];
  errorText?: string;
  default?: string;
  $ref?: string;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: SchemaNode | false;
  propertyNames?: SchemaNode;
  items?: SchemaNode;
}

/** A stored config tree: nodes are objects, leaves strings, multi leaves string arrays, valueless leaves `{}`. */
export interface ConfigTree {
  [name: string]: ConfigTree | string | string[];
}

export const ROOT_SCHEMA: SchemaNode & { $defs: Record<string, SchemaNode> } = JSON.parse(
  readFileSync(SCHEMA_FILE, 'utf8'),
);

/** The generated validator of the whole tree (ajv standalone code: no ajv, no compile at run time). */
const validateTree = validate as unknown as ValidateFunction;

function deref(node: SchemaNode): SchemaNode {
  if (!node.$ref) return node;
  const name = node.$ref.replace('#/$defs/', '');
  return { ...ROOT_SCHEMA.$defs[name], ...node, errorText: node.errorText ?? ROOT_SCHEMA.$defs[name]?.errorText };
}

/** `{value}` and `{family}` placeholders of an errorText. */
export function formatErrorText(text: string, value: string): string {
  return text.replaceAll('{value}', value).replaceAll('{family}', addressFamily(value));
}

/** The schema node of a stored-tree position (object keys; tag values and array indexes skipped). */
function nodeAtInstancePath(segments: string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = ROOT_SCHEMA;
  for (let i = 0; i < segments.length && node; i++) {
    if (node.node === 'tagNode') {
      i++; // segments[i] is the tag value
      node = node.additionalProperties || undefined;
      if (i >= segments.length) break;
    }
    if (!node) break;
    if (node.node === 'multi') return node;
    node = node.properties?.[segments[i]!];
  }
  return node;
}

function valueAt(tree: unknown, segments: string[]): string {
  let v: unknown = tree;
  for (const s of segments) v = (v as Record<string, unknown>)?.[s];
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function messageFor(tree: ConfigTree, error: ErrorObject): string {
  const segments = error.instancePath.split('/').slice(1).map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
  // A bad tag value (interface or group name): ajv reports it inside propertyNames.
  const badTag = error.propertyName ?? (error.keyword === 'propertyNames' ? error.params.propertyName : undefined);
  if (badTag !== undefined) {
    const tag = String(badTag);
    const tagNode = nodeAtInstancePath(segments);
    const names = tagNode?.propertyNames ? deref(tagNode.propertyNames) : undefined;
    return formatErrorText(names?.errorText ?? 'Invalid value "{value}"', tag);
  }
  if (error.keyword === 'additionalProperties') {
    const extra = String(error.params.additionalProperty);
    return `Configuration path: [${[...segments, extra].join(' ')}] is not valid`;
  }
  const leaf = nodeAtInstancePath(segments);
  const text = leaf ? deref(leaf).errorText : undefined;
  return formatErrorText(text ?? 'Invalid value "{value}"', valueAt(tree, segments));
}

/** Validate a whole tree; throws CONFIG_INVALID_VALUE with VyOS's text for the first bad value. */
export function checkTree(tree: ConfigTree): void {
  if (validateTree(tree)) return;
  const first = validateTree.errors?.[0];
  throw new CtsyncError('CONFIG_INVALID_VALUE', first ? messageFor(tree, first) : 'Invalid configuration');
}

/** Schema node reached by a CLI path, with how the words were consumed. */
export interface PathStep {
  /** The words naming nodes and tag values (no leaf value). */
  nodePath: string[];
  node: SchemaNode;
  kind: NodeKind;
  /** The leaf value, if the path ended with one. */
  value?: string;
}

export function invalidPath(words: string[]): CtsyncError {
  return new CtsyncError('CONFIG_INVALID_PATH', `Configuration path: [${words.join(' ')}] is not valid`);
}

/**
 * Interpret CLI words against the schema, as VyOS does for `set`/`delete`/`show`: node names,
 * then a tag value after each tagNode, and at most one value after a leaf.
 */
export function resolvePath(words: string[]): PathStep {
  let node: SchemaNode = ROOT_SCHEMA;
  const nodePath: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const kind = node.node ?? 'node';
    if (kind === 'tagNode') {
      nodePath.push(word);
      node = node.additionalProperties as SchemaNode;
      continue;
    }
    if (kind === 'leaf' || kind === 'multi') {
      if (i !== words.length - 1) throw invalidPath(words);
      return { nodePath, node, kind, value: word };
    }
    const child = kind === 'node' ? node.properties?.[word] : undefined;
    if (!child) throw invalidPath(words.slice(0, i + 1));
    nodePath.push(word);
    node = deref(child);
  }
  return { nodePath, node, kind: node.node ?? 'node' };
}

/** Children of a node for `help` / show ordering: schema order. */
export function childNames(node: SchemaNode): string[] {
  return Object.keys(node.properties ?? {});
}

export function childSchema(node: SchemaNode, name: string): SchemaNode | undefined {
  if (node.node === 'tagNode') return node.additionalProperties || undefined;
  const child = node.properties?.[name];
  return child ? deref(child) : undefined;
}
